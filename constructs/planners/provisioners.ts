/**
 * How a node's rendered file reaches the node and how Patroni is started or reloaded there:
 * Terraform provisioners and connection blocks, as plain data.
 */
import { FileProvisioner, LocalExecProvisioner, RemoteExecProvisioner, SSHProvisionerConnection } from 'cdktf';
import { expandPlaceholders, ResolvedCluster, ResolvedNode } from '../resolve';

export type Provisioner = FileProvisioner | LocalExecProvisioner | RemoteExecProvisioner;

/**
 * Attribute that holds the resource's own values: `input` for terraform_data, `triggers` for
 * null_resource. Provisioners read them through `self`, the only reference they may use.
 */
export type SelfAttr = 'input' | 'triggers';

export interface NodeCommands {
  readonly configPath: string;
  readonly start: string;
  readonly reload: string;
  readonly status: string;
  readonly stop: string;
}

export function nodeCommands(cluster: ResolvedCluster, node: ResolvedNode): NodeCommands {
  const d = cluster.deploy;
  return {
    configPath: expandPlaceholders(d.configPath, cluster, node),
    start: expandPlaceholders(d.startCommand, cluster, node),
    reload: expandPlaceholders(d.reloadCommand, cluster, node),
    status: expandPlaceholders(d.statusCommand, cluster, node),
    stop: expandPlaceholders(d.stopCommand, cluster, node),
  };
}

/**
 * Start when Patroni is not running, reload (re-read the file; PostgreSQL keeps running) when it is.
 */
export function startOrReload(c: NodeCommands): string {
  return `if ${c.status}; then echo "patroni runs: reloading"; ${c.reload}; else echo "patroni stopped: starting"; ${c.start}; fi`;
}

export function sshConnection(cluster: ResolvedCluster, host: string): SSHProvisionerConnection {
  const d = cluster.deploy;
  return {
    type: 'ssh',
    host,
    user: d.sshUser,
    ...(d.sshPrivateKeyPath ? { privateKey: `\${file(${JSON.stringify(d.sshPrivateKeyPath)})}`, agent: 'false' } : { agent: 'true' }),
    ...(d.sshBastionHost ? { bastionHost: d.sshBastionHost, bastionUser: d.sshBastionUser ?? d.sshUser } : {}),
  };
}

/**
 * Delivers `${self.<attr>.patroni_yml}` to `${self.<attr>.config_path}`, atomically, then runs
 * `finalStep` (by default: start or reload).
 */
export function deliverProvisioners(cluster: ResolvedCluster, commands: NodeCommands, attr: SelfAttr, finalStep = startOrReload(commands)): Provisioner[] {
  const yml = `\${self.${attr}.patroni_yml}`;
  const path = `\${self.${attr}.config_path}`;
  if (cluster.deploy.transport === 'local') {
    return [{
      type: 'local-exec',
      interpreter: ['/bin/sh', '-c'],
      environment: { PATRONI_CONFIG_PATH: path, PATRONI_CONFIG_YAML: yml },
      command: [
        'set -eu',
        'printf "%s" "$PATRONI_CONFIG_YAML" > "$PATRONI_CONFIG_PATH.tf-new"',
        'chmod 0644 "$PATRONI_CONFIG_PATH.tf-new"',
        'mv -f "$PATRONI_CONFIG_PATH.tf-new" "$PATRONI_CONFIG_PATH"',
        finalStep,
      ].join('\n'),
    }];
  }
  return [
    { type: 'file', content: yml, destination: `${path}.tf-new` },
    {
      type: 'remote-exec',
      inline: ['set -eu', `chmod 0644 '${commands.configPath}.tf-new'`, `mv -f '${commands.configPath}.tf-new' '${commands.configPath}'`, finalStep],
    },
  ];
}

/** Destroy-time stop, only when the topology asks for it. */
export function stopProvisioners(cluster: ResolvedCluster, attr: SelfAttr): Provisioner[] {
  const stop = `\${self.${attr}.stop_command}`;
  if (cluster.deploy.transport === 'local') {
    return [{ type: 'local-exec', when: 'destroy', interpreter: ['/bin/sh', '-c'], command: stop }];
  }
  return []; // ssh: see rawDestroyRemoteExec
}

/**
 * cdktf's RemoteExecProvisioner has no `when`; the ssh stop step is written as raw provisioner
 * JSON instead, so it runs at destroy only.
 */
export function rawDestroyRemoteExec(attr: SelfAttr): unknown[] {
  return [{ 'remote-exec': { inline: [`\${self.${attr}.stop_command}`], when: 'destroy' } }];
}
