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

/** What startOrReload prints: the service, what it says when the recorded hash is unchanged, and of its reload. */
export interface StartOrReloadWords {
  readonly what: string;
  readonly unchanged: string;
  readonly reloading: string;
}

const PATRONI_WORDS: StartOrReloadWords = {
  what: 'patroni',
  unchanged: 'only bootstrap-time settings changed: file refreshed, no reload',
  reloading: 'reloading',
};

/**
 * Start when Patroni is not running; when it runs, reload it (re-read the file; PostgreSQL keeps
 * running) only if the part Patroni reads at run time changed. `runtimeSha` is the sha256 of the
 * file without its bootstrap section (read only when a new cluster is initialised), recorded on
 * the node next to the file after each start or reload. A change of bootstrap-time settings
 * (bootstrap.dcs, another member's pg_hba line) refreshes the file without a reload.
 */
export function startOrReload(
  c: NodeCommands,
  runtimeSha: string,
  configPath: string,
  words: StartOrReloadWords = PATRONI_WORDS,
): string {
  const mark = `${configPath}.runtime-sha256`;
  return [
    `if ${c.status}; then`,
    `if [ "$(cat "${mark}" 2>/dev/null)" = "${runtimeSha}" ]; then echo "${words.what} runs; ${words.unchanged}"; else echo "${words.what} runs: ${words.reloading}"; ${c.reload}; fi;`,
    `else echo "${words.what} stopped: starting"; ${c.start}; fi;`,
    `printf '%s' "${runtimeSha}" > "${mark}"`,
  ].join(' ');
}

/**
 * The SSH connection to a node: port, and the host key pinned when the topology gives one (the
 * node's own key, or the CA that signs host certificates), so a deploy never talks to an impostor.
 */
export function sshConnection(cluster: ResolvedCluster, host: string, node: ResolvedNode): SSHProvisionerConnection {
  const d = cluster.deploy;
  const hostKey = node.sshHostKey ?? d.sshCertificateAuthority;
  return {
    type: 'ssh',
    host,
    user: d.sshUser,
    ...(d.sshPort !== undefined ? { port: d.sshPort } : {}),
    ...(hostKey ? { hostKey } : {}),
    ...(d.sshPrivateKeyPath
      ? { privateKey: `\${file(${JSON.stringify(d.sshPrivateKeyPath)})}`, agent: 'false' }
      : { agent: 'true' }),
    ...(d.sshBastionHost
      ? {
          bastionHost: d.sshBastionHost,
          bastionUser: d.sshBastionUser ?? d.sshUser,
          ...(d.sshBastionPort !== undefined ? { bastionPort: d.sshBastionPort } : {}),
          ...(d.sshBastionHostKey ? { bastionHostKey: d.sshBastionHostKey } : {}),
        }
      : {}),
  };
}

/**
 * Delivers `${self.<attr>.patroni_yml}` to `${self.<attr>.config_path}`, atomically, then starts
 * Patroni or reloads it.
 */
export function deliverProvisioners(cluster: ResolvedCluster, commands: NodeCommands, attr: SelfAttr): Provisioner[] {
  return deliverFileProvisioners(cluster, attr, 'patroni_yml', commands.configPath, (path, runtime) =>
    startOrReload(commands, runtime, path),
  );
}

/**
 * Delivers the text in `${self.<attr>.<contentKey>}` to `${self.<attr>.config_path}` (mode 0644,
 * replaced atomically), then runs `then(path, runtimeSha)`, given the file's path and
 * `${self.<attr>.runtime_sha256}` as the shell sees them. `configPath` is the literal path, for
 * the ssh transport's commands.
 */
export function deliverFileProvisioners(
  cluster: ResolvedCluster,
  attr: SelfAttr,
  contentKey: string,
  configPath: string,
  then: (path: string, runtimeSha: string) => string,
): Provisioner[] {
  const content = `\${self.${attr}.${contentKey}}`;
  const path = `\${self.${attr}.config_path}`;
  const runtime = `\${self.${attr}.runtime_sha256}`;
  if (cluster.deploy.transport === 'local') {
    return [
      {
        type: 'local-exec',
        interpreter: ['/bin/sh', '-c'],
        environment: { FILE_PATH: path, FILE_CONTENT: content, RUNTIME_SHA256: runtime },
        command: [
          'set -eu',
          'mkdir -p "$(dirname "$FILE_PATH")"',
          'printf "%s" "$FILE_CONTENT" > "$FILE_PATH.tf-new"',
          'chmod 0644 "$FILE_PATH.tf-new"',
          'mv -f "$FILE_PATH.tf-new" "$FILE_PATH"',
          then('$FILE_PATH', '$RUNTIME_SHA256'),
        ].join('\n'),
      },
    ];
  }
  return [
    // the file provisioner does not create the directory (Debian's pgBackRest has no /etc/pgbackrest)
    { type: 'remote-exec', inline: [`mkdir -p "$(dirname '${configPath}')"`] },
    { type: 'file', content, destination: `${path}.tf-new` },
    {
      type: 'remote-exec',
      inline: [
        'set -eu',
        `chmod 0644 '${configPath}.tf-new'`,
        `mv -f '${configPath}.tf-new' '${configPath}'`,
        then(configPath, runtime),
      ],
    },
  ];
}

/** The env file lines Patroni needs, as `NAME` -> Terraform reference of its value. */
export type SecretValues = Readonly<Record<string, string>>;

/**
 * Writes the node's env file (mode 600, replaced atomically) from ephemeral values. `local`: the
 * values reach the shell through the provisioner's environment. `ssh`: the file travels in a
 * `file` provisioner into a mode-700 folder next to it, then is moved into place. Values are
 * written single-quoted; the variables' validation refuses quotes and newlines.
 */
export function secretsProvisioners(
  cluster: ResolvedCluster,
  envFile: string,
  values: SecretValues,
  attr: SelfAttr,
): Provisioner[] {
  const names = Object.keys(values);
  if (cluster.deploy.transport === 'local') {
    return [
      {
        type: 'local-exec',
        interpreter: ['/bin/sh', '-c'],
        environment: {
          PATRONI_ENV_FILE: `\${self.${attr}.env_file}`,
          ...Object.fromEntries(names.map((n) => [`SECRET_${n}`, values[n]])),
        },
        command: [
          'set -eu',
          'umask 077',
          'mkdir -p "$(dirname "$PATRONI_ENV_FILE")"',
          `{ ${names.map((n) => `printf "${n}='%s'\\n" "$SECRET_${n}"`).join('; ')}; } > "$PATRONI_ENV_FILE.tf-new"`,
          'chmod 0600 "$PATRONI_ENV_FILE.tf-new"',
          'mv -f "$PATRONI_ENV_FILE.tf-new" "$PATRONI_ENV_FILE"',
          `echo "env file written: $PATRONI_ENV_FILE (${names.join(', ')})"`,
        ].join('\n'),
      },
    ];
  }
  const dir = `${envFile.replace(/\/[^/]*$/, '') || '/'}/.patroni-secrets-tf`;
  const staged = `${dir}/${envFile.replace(/^.*\//, '')}`;
  return [
    { type: 'remote-exec', inline: ['set -eu', `install -d -m 0700 '${dir}'`] },
    { type: 'file', content: names.map((n) => `${n}='${values[n]}'\n`).join(''), destination: staged },
    {
      type: 'remote-exec',
      inline: [
        'set -eu',
        `chmod 0600 '${staged}'`,
        `mv -f '${staged}' '${envFile}'`,
        `rmdir '${dir}'`,
        `echo "env file written: ${envFile} (${names.join(', ')})"`,
      ],
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
