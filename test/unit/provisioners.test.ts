/**
 * How a member's files reach its host: the SSH connection (ports, bastion, keys) and the env file
 * written from ephemeral values, locally by `sh` for real (its content and mode), and over SSH as
 * staged files.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { secretsProvisioners, sshConnection } from '../../constructs/planners/provisioners';
import { resolveCluster } from '../../constructs/resolve';
import { ClusterSpec } from '../../constructs/types';

const cluster = (deploy: Record<string, unknown>) =>
  resolveCluster({
    scope: 'pg',
    dcs: { type: 'etcd3', hosts: ['10.0.0.9:2379'] },
    nodes: [{ name: 'a1', host: '10.0.0.1' }],
    deploy,
  } as ClusterSpec);

describe('the SSH connection', () => {
  test('the defaults: the agent, port 22 left to Terraform, no bastion', () => {
    const c = cluster({ transport: 'ssh', sshUser: 'deploy' });
    expect(sshConnection(c, '10.0.0.1', c.nodes[0])).toEqual({
      type: 'ssh',
      host: '10.0.0.1',
      user: 'deploy',
      agent: 'true',
    });
  });

  test('a port, a key file, a bastion with its own port, user and host key', () => {
    const c = cluster({
      transport: 'ssh',
      sshUser: 'deploy',
      sshPort: 2222,
      sshPrivateKeyPath: '/keys/id',
      sshBastionHost: 'jump',
      sshBastionPort: 2200,
      sshBastionHostKey: 'ssh-ed25519 AAAA',
    });
    expect(sshConnection(c, '10.0.0.1', c.nodes[0])).toEqual({
      type: 'ssh',
      host: '10.0.0.1',
      user: 'deploy',
      port: 2222,
      privateKey: '${file("/keys/id")}',
      agent: 'false',
      bastionHost: 'jump',
      bastionUser: 'deploy',
      bastionPort: 2200,
      bastionHostKey: 'ssh-ed25519 AAAA',
    });
  });
});

describe('the env file', () => {
  const values = { PATRONI_SUPERUSER_PASSWORD: '${var.su}', PATRONI_REPLICATION_PASSWORD: '${var.repl}' };

  test('local: written by sh from the provisioner environment, mode 600, in a folder it creates', () => {
    const [p] = secretsProvisioners(cluster({ transport: 'local' }), '/unused', values, 'input') as {
      type: string;
      interpreter: string[];
      environment: Record<string, string>;
      command: string;
    }[];
    expect(p.type).toBe('local-exec');
    expect(p.interpreter).toEqual(['/bin/sh', '-c']);
    expect(p.environment).toEqual({
      PATRONI_ENV_FILE: '${self.input.env_file}',
      SECRET_PATRONI_SUPERUSER_PASSWORD: '${var.su}',
      SECRET_PATRONI_REPLICATION_PASSWORD: '${var.repl}',
    });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'env-file-'));
    try {
      const file = path.join(dir, 'sub', 'patroni.env');
      const run = spawnSync('/bin/sh', ['-c', p.command], {
        encoding: 'utf8',
        env: {
          PATH: process.env.PATH,
          PATRONI_ENV_FILE: file,
          SECRET_PATRONI_SUPERUSER_PASSWORD: 'su pass$1',
          SECRET_PATRONI_REPLICATION_PASSWORD: 'r%s',
        },
      });
      expect({ status: run.status, stdout: run.stdout }).toEqual({
        status: 0,
        stdout: `env file written: ${file} (PATRONI_SUPERUSER_PASSWORD, PATRONI_REPLICATION_PASSWORD)\n`,
      });
      expect(fs.readFileSync(file, 'utf8')).toBe(
        "PATRONI_SUPERUSER_PASSWORD='su pass$1'\nPATRONI_REPLICATION_PASSWORD='r%s'\n",
      );
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      expect(fs.readdirSync(path.dirname(file))).toEqual(['patroni.env']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('ssh: a mode-700 staging folder beside the file, the file, then a move into place', () => {
    const steps = secretsProvisioners(
      cluster({ transport: 'ssh', sshUser: 'deploy' }),
      '/etc/patroni/patroni.env',
      values,
      'triggers',
    );
    expect(steps).toEqual([
      { type: 'remote-exec', inline: ['set -eu', "install -d -m 0700 '/etc/patroni/.patroni-secrets-tf'"] },
      {
        type: 'file',
        content: "PATRONI_SUPERUSER_PASSWORD='${var.su}'\nPATRONI_REPLICATION_PASSWORD='${var.repl}'\n",
        destination: '/etc/patroni/.patroni-secrets-tf/patroni.env',
      },
      {
        type: 'remote-exec',
        inline: [
          'set -eu',
          "chmod 0600 '/etc/patroni/.patroni-secrets-tf/patroni.env'",
          "mv -f '/etc/patroni/.patroni-secrets-tf/patroni.env' '/etc/patroni/patroni.env'",
          "rmdir '/etc/patroni/.patroni-secrets-tf'",
          'echo "env file written: /etc/patroni/patroni.env (PATRONI_SUPERUSER_PASSWORD, PATRONI_REPLICATION_PASSWORD)"',
        ],
      },
    ]);
  });
});
