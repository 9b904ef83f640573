/**
 * The cluster model shared by the topology file and the TypeScript constructs.
 *
 * Every optional field documents its default. The topology file uses exactly these
 * field names (camelCase); PostgreSQL parameter names inside `parameters` are passed
 * through unchanged.
 */

/**
 * Distributed configuration store of one cluster. Each cluster has its own. etcd and Consul take
 * TLS files (absolute paths on the nodes, readable by the Patroni user); their password or token
 * is never here, only the name of the pipeline's variable that holds it.
 */
export type DcsSpec =
  | {
      /** etcd v3 API (the article's choice). */
      readonly type: 'etcd3';
      /** `host:port` of every etcd member. */
      readonly hosts: readonly string[];
      /** @default 'http' */
      readonly protocol?: 'http' | 'https';
      /**
       * CA that signed etcd's certificates (Patroni `cacert`), an absolute path on the nodes. Needs
       * `protocol: https`. Without it Patroni does not verify etcd's certificate.
       * @default - none
       */
      readonly cacert?: string;
      /**
       * The node's client certificate (Patroni `cert`), with `key`. For etcd with client-cert-auth
       * and authentication on, it must carry no Common Name (the gRPC gateway refuses one).
       * @default - no client certificate
       */
      readonly cert?: string;
      /** The client certificate's private key (Patroni `key`), with `cert`. @default - none */
      readonly key?: string;
      /** The etcd user of the members (Patroni `username`), with `passwordEnv`. @default - no authentication */
      readonly username?: string;
      /**
       * The deploying pipeline's environment variable that holds the etcd user's password; never
       * the password. With deploy.secrets the deploy writes it (from the ephemeral
       * TF_VAR_<passwordEnv in lower case>) into each node's env file as PATRONI_ETCD3_PASSWORD
       * (PATRONI_ETCD_PASSWORD for the v2 API). Needs `protocol: https` and `username`.
       * @default - none
       */
      readonly passwordEnv?: string;
    }
  | {
      /** etcd v2 API. */
      readonly type: 'etcd';
      readonly hosts: readonly string[];
      /** @default 'http' */
      readonly protocol?: 'http' | 'https';
      /**
       * CA that signed etcd's certificates (Patroni `cacert`), an absolute path on the nodes. Needs
       * `protocol: https`. Without it Patroni does not verify etcd's certificate.
       * @default - none
       */
      readonly cacert?: string;
      /**
       * The node's client certificate (Patroni `cert`), with `key`. For etcd with client-cert-auth
       * and authentication on, it must carry no Common Name (the gRPC gateway refuses one).
       * @default - no client certificate
       */
      readonly cert?: string;
      /** The client certificate's private key (Patroni `key`), with `cert`. @default - none */
      readonly key?: string;
      /** The etcd user of the members (Patroni `username`), with `passwordEnv`. @default - no authentication */
      readonly username?: string;
      /**
       * The deploying pipeline's environment variable that holds the etcd user's password; never
       * the password. With deploy.secrets the deploy writes it (from the ephemeral
       * TF_VAR_<passwordEnv in lower case>) into each node's env file as PATRONI_ETCD3_PASSWORD
       * (PATRONI_ETCD_PASSWORD for the v2 API). Needs `protocol: https` and `username`.
       * @default - none
       */
      readonly passwordEnv?: string;
    }
  | {
      readonly type: 'consul';
      /** `host:port` of the local Consul agent. */
      readonly host: string;
      /** @default 'http' */
      readonly scheme?: 'http' | 'https';
      /**
       * CA that signed Consul's certificate (Patroni `cacert`). Needs `scheme: https`.
       * @default - the system's CAs
       */
      readonly cacert?: string;
      /** The node's client certificate (Patroni `cert`), with `key`. @default - no client certificate */
      readonly cert?: string;
      /** The client certificate's private key (Patroni `key`), with `cert`. @default - none */
      readonly key?: string;
      /**
       * The pipeline's environment variable that holds the cluster's Consul ACL token; never the
       * token. With deploy.secrets the deploy writes it (from the ephemeral TF_VAR_<tokenEnv in
       * lower case>) into each node's env file as PATRONI_CONSUL_TOKEN.
       * @default - no token
       */
      readonly tokenEnv?: string;
    }
  | {
      readonly type: 'zookeeper';
      readonly hosts: readonly string[];
    }
  | {
      readonly type: 'kubernetes';
      /** Kubernetes namespace of the cluster objects. @default 'default' */
      readonly namespace?: string;
      /** Labels that select the cluster's objects. @default {application: 'patroni'} */
      readonly labels?: Readonly<Record<string, string>>;
    };

/** One Patroni member. */
export interface NodeSpec {
  /** Member name (Patroni `name`). Unique across the primary and the standby cluster. */
  readonly name: string;
  /**
   * Address of the node: PostgreSQL and the REST API listen and are reached here.
   * May be a Terraform token (for example another resource's IP); it is then checked at apply time.
   */
  readonly host: string;
  /**
   * Address or CIDR used for this node in generated pg_hba lines.
   * @default `${host}/32` for IPv4, `${host}/128` for IPv6, the host itself for a host name
   */
  readonly hbaAddress?: string;
  /** Patroni tags (nofailover, noloadbalance, clonefrom, nosync, ...). @default the article's tags */
  readonly tags?: Readonly<Record<string, string | number | boolean>>;
  /**
   * Patroni YAML fragment deep-merged into this node's rendered configuration, last.
   * For paths and settings that differ per node (socket directory, pgpass file).
   * Passwords are refused here: they come from the hosts' environment.
   * @default {}
   */
  readonly overrides?: Readonly<Record<string, unknown>>;
  /**
   * The node's SSH host key (`ssh-ed25519 AAAA...`, as `ssh-keyscan` prints it without the host
   * name): the deploy then refuses a host that presents another key.
   * @default - deploy.sshCertificateAuthority when set, else the key is not checked (Terraform's default)
   */
  readonly sshHostKey?: string;
}

export interface PostgresSpec {
  /** PostgreSQL major version, the same on both clusters. @default 16 */
  readonly version?: number;
  /** @default `/usr/pgsql-${version}/bin` (the article's RHEL layout) */
  readonly binDir?: string;
  /** @default `/var/lib/pgsql/${version}/${scope}` */
  readonly dataDir?: string;
  /**
   * Where Patroni writes postgresql.conf. Outside dataDir (the Debian layout) it breaks
   * basebackup-based standby bootstrap.
   * @default - the data directory
   */
  readonly configDir?: string;
  /** @default 5432 */
  readonly port?: number;
  /** PostgreSQL parameters of the cluster's dynamic configuration (bootstrap.dcs and the DCS patch). @default {} */
  readonly parameters?: Readonly<Record<string, string | number | boolean>>;
  /**
   * pg_hba lines placed before the generated ones (local lines, application access).
   * @default the article's three `local` lines
   */
  readonly pgHba?: readonly string[];
  /**
   * Generate, for every node of the cluster, a replication line for the replication user and a
   * `postgres` database line for the rewind user, then the reject line.
   * @default true for a managed cluster; false for an existing one, whose pgHba is then its whole current list
   */
  readonly generatePgHba?: boolean;
  /** Authentication method of generated host lines. `trust` only when asked. @default 'scram-sha-256' */
  readonly authMethod?: 'scram-sha-256' | 'md5' | 'cert' | 'trust';
  /** The line that ends the generated pg_hba. @default 'host all postgres all reject' */
  readonly rejectLine?: string;
  /** @default ['rewindmap postgres rewinder', 'replicamap postgres replicator'] with the configured user names */
  readonly pgIdent?: readonly string[];
  /** initdb options. @default ['encoding: UTF8', 'data-checksums', 'auth-host: scram-sha-256'] as Patroni's list */
  readonly initdb?: readonly (string | Readonly<Record<string, string>>)[];
  /** Patroni `postgresql.pgpass`. @default `/etc/patroni/${scope}.pgpass` */
  readonly pgpass?: string;
  /** Patroni `postgresql.use_unix_socket` and `use_unix_socket_repl`. @default true */
  readonly useUnixSocket?: boolean;
}

export interface PatroniSpec {
  /** REST API port of every node. @default 8008 */
  readonly restApiPort?: number;
  /**
   * User name of the REST API's basic authentication. The password comes from
   * PATRONI_RESTAPI_PASSWORD on the hosts and in the deploying pipeline's environment.
   * @default - no authentication
   */
  readonly restApiUsername?: string;
  /**
   * Environment variable of the deploying pipeline that holds this cluster's REST API password
   * (two data centers rarely share one). On the hosts Patroni reads PATRONI_RESTAPI_PASSWORD.
   * @default 'PATRONI_RESTAPI_PASSWORD'
   */
  readonly restApiPasswordEnv?: string;
  /**
   * HTTPS for the REST API (Patroni's `restapi` certfile, keyfile, cafile, verify_client). The
   * paths are on the nodes. Patroni uses the same files when it calls other members. The
   * deploying pipeline verifies the nodes against PATRONI_REST_CACERT (a CA bundle of every
   * cluster) and presents PATRONI_REST_CERTFILE / PATRONI_REST_KEYFILE when clients must.
   * @default - plain HTTP
   */
  readonly restApiTls?: RestApiTlsSpec;
  /** @default 30 */
  readonly ttl?: number;
  /** @default 10 */
  readonly loopWait?: number;
  /** @default 10 */
  readonly retryTimeout?: number;
  /** @default 1048576 */
  readonly maximumLagOnFailover?: number;
  /** @default true */
  readonly useSlots?: boolean;
  /** @default true */
  readonly usePgRewind?: boolean;
  /** Permanent slots of this cluster's dynamic configuration (the link adds its own). @default {} */
  readonly permanentSlots?: Readonly<
    Record<
      string,
      { readonly type: 'physical' } | { readonly type: 'logical'; readonly database: string; readonly plugin: string }
    >
  >;
  /**
   * Also write the pg_hba list as the legacy `bootstrap.pg_hba`: Patroni 3.0's `--validate-config`
   * insists on it. At run time the dynamic configuration's list is what Patroni writes.
   * @default true
   */
  readonly bootstrapPgHba?: boolean;
  /** Patroni `watchdog.mode`. @default - no watchdog section (Patroni's default) */
  readonly watchdog?: 'off' | 'automatic' | 'required';
  /**
   * Dynamic configuration keys that this model does not name (`synchronous_mode`, `failsafe_mode`,
   * `check_timeline`, ...), passed through into bootstrap.dcs and the DCS patch. A key removed
   * here is removed from the running cluster. Keys the model names (ttl, loop_wait, postgresql,
   * slots, standby_cluster, ...) are refused: set them through their own fields.
   * @default {}
   */
  readonly dynamic?: Readonly<Record<string, unknown>>;
}

export interface RestApiTlsSpec {
  /** The node's certificate (PEM), readable by the Patroni user. */
  readonly certFile: string;
  /** Its private key. @default - in certFile */
  readonly keyFile?: string;
  /** CA that signs the clients' (and the other members') certificates. @default - none */
  readonly caFile?: string;
  /** Whether clients need a certificate signed by caFile. @default 'none' */
  readonly verifyClient?: 'none' | 'optional' | 'required';
}

export interface UsersSpec {
  /** @default 'postgres' */
  readonly superuser?: string;
  /** The same in both clusters. @default 'replicator' */
  readonly replication?: string;
  /** The same in both clusters. @default 'rewinder' */
  readonly rewind?: string;
}

/** How the rendered configuration reaches each node and how Patroni is started there. */
export interface DeploySpec {
  /** `ssh`: file + remote-exec provisioners; `local`: local-exec on the deploying machine. @default 'ssh' */
  readonly transport?: 'ssh' | 'local';
  /** SSH user. @default 'root' */
  readonly sshUser?: string;
  /** Path of the private key on the deploying machine; without it the SSH agent is used. @default - the agent */
  readonly sshPrivateKeyPath?: string;
  /** Bastion host for SSH. @default - none */
  readonly sshBastionHost?: string;
  /** @default the SSH user */
  readonly sshBastionUser?: string;
  /** @default 22 */
  readonly sshPort?: number;
  /** @default 22 */
  readonly sshBastionPort?: number;
  /** The bastion's SSH host key, pinned like nodes[].sshHostKey. @default - not checked */
  readonly sshBastionHostKey?: string;
  /**
   * Public key of the CA that signs the nodes' host certificates; used for nodes without sshHostKey.
   * @default - none
   */
  readonly sshCertificateAuthority?: string;
  /** Name of the configuration, used in the default path and commands. @default `${version}-${scope}` */
  readonly configName?: string;
  /**
   * Placeholders `{name}`, `{host}`, `{scope}`, `{configName}` are replaced per node. @default
   * `/etc/patroni/{configName}.yml`
   */
  readonly configPath?: string;
  /** Starts Patroni; must be a no-op when it runs. @default `systemctl start patroni@{configName}.service` */
  readonly startCommand?: string;
  /**
   * Makes a running Patroni re-read its file (never restarts PostgreSQL). @default `systemctl reload
   * patroni@{configName}.service`
   */
  readonly reloadCommand?: string;
  /** Exit 0 when Patroni runs on the node. @default `systemctl is-active --quiet patroni@{configName}.service` */
  readonly statusCommand?: string;
  /** Stop Patroni (and so PostgreSQL) on `terraform destroy`. @default false: destroy leaves databases running */
  readonly stopOnDestroy?: boolean;
  /** @default `systemctl stop patroni@{configName}.service` */
  readonly stopCommand?: string;
  /**
   * `terraform_data` needs no provider (air-gapped pipelines); `null_resource` needs hashicorp/null.
   * @default 'terraform_data'
   */
  readonly resourceKind?: 'terraform_data' | 'null_resource';
  /** How long a DCS patch waits for the REST API, in seconds. @default 300 */
  readonly patchTimeoutSeconds?: number;
  /**
   * Write each node's env file with the Patroni passwords during the deploy, from Terraform
   * ephemeral variables (Terraform 1.10+): the values reach the provisioner and are kept out of
   * the state and of saved plans. The pipeline sets TF_VAR_patroni_superuser_password,
   * TF_VAR_patroni_replication_password, TF_VAR_patroni_rewind_password and, with REST
   * authentication, TF_VAR_<patroni.restApiPasswordEnv in lower case>.
   * @default - the env file is put on the hosts by something else
   */
  readonly secrets?: SecretsDeliverySpec;
}

export interface SecretsDeliverySpec {
  /** The env file on each node (mode 600); placeholders as in configPath. */
  readonly envFile: string;
  /** Raise to write the files again (a rotated password): values are never compared. @default 1 */
  readonly version?: number;
}

/**
 * pgBackRest for one cluster: the WAL archive and the backups in its data center's repository.
 * The repository lives on a host of its own that runs pgBackRest's TLS server (`pgbackrest
 * server`); so does every node, for the repository host's commands (the stanza, backups). While
 * this cluster is the source it archives into its own repository and into the other cluster's
 * (when that one has `backup` too); a standby cluster reads the archive from its own repository
 * when its stream breaks (`standby_cluster.restore_command`). No secret is written here: the TLS
 * keys are files on the hosts, and options that hold a secret are refused.
 */
export interface BackupSpec {
  /** The stanza: one per database system, the same in both clusters of a link. */
  readonly stanza: string;
  /** This data center's repository host. */
  readonly repository: BackupRepositorySpec;
  /** The certificates of the pgBackRest TLS servers and clients (files on every node and on the repository host). */
  readonly tls: BackupTlsSpec;
  /**
   * Where pgbackrest.conf is written on the nodes and on the repository host. Placeholders as in
   * deploy.configPath (the repository host's `{name}` is repository.name). With a placeholder the
   * archive and restore commands name no file: each node's Patroni must then run with
   * PGBACKREST_CONFIG set to its file.
   * @default '/etc/pgbackrest/pgbackrest.conf' (pgBackRest's own default)
   */
  readonly configPath?: string;
  /** Port of every pgBackRest TLS server (nodes and repository host). @default 8432 */
  readonly serverPort?: number;
  /**
   * Starts the pgBackRest TLS server, and at every boot after (a no-op when it runs);
   * placeholders as in configPath.
   * @default 'systemctl enable --now pgbackrest.service' (the unit Debian's package ships, not enabled by it)
   */
  readonly serverStartCommand?: string;
  /**
   * Restarts a running server once its file changed (pgBackRest's server reads its file, the
   * clients it admits included, only when it starts). @default 'systemctl restart pgbackrest.service'
   */
  readonly serverRestartCommand?: string;
  /** Exit 0 when the server runs. @default 'systemctl is-active --quiet pgbackrest.service' */
  readonly serverStatusCommand?: string;
  /**
   * More pgBackRest options for the `[global]` section of every file (`archive-async`,
   * `archive-push-queue-max`, `process-max`, `compress-type`, `repo1-retention-full`, ...). Options
   * the model writes (`repo*-host*`, `repo*-path`, `pg*`, `tls-server-*`) are refused, and so is
   * any option that holds a secret (a cipher pass, a cloud key): pgBackRest reads those from
   * PGBACKREST_* variables on the hosts. Placeholders in values as in configPath.
   * @default {}
   */
  readonly options?: Readonly<Record<string, string | number | boolean>>;
}

/** A data center's pgBackRest repository host. */
export interface BackupRepositorySpec {
  /** Address of the repository host: its TLS server listens and is reached here. */
  readonly host: string;
  /** The repository's directory on that host. @default '/var/lib/pgbackrest' */
  readonly path?: string;
  /** The host's name in placeholders and in the plan. @default 'repository' */
  readonly name?: string;
  /**
   * The operating system user that owns the repository and runs pgBackRest there: the stanza
   * step runs as it (`runuser`, unless the deploy's SSH user is that user).
   * @default 'postgres'
   */
  readonly user?: string;
  /**
   * The host's SSH host key, pinned like nodes[].sshHostKey.
   * @default - deploy.sshCertificateAuthority, else not checked
   */
  readonly sshHostKey?: string;
}

/** The TLS files of pgBackRest, PEM, absolute paths, readable by the user pgBackRest runs as. */
export interface BackupTlsSpec {
  /** The CA that signed every server's and client's certificate (both data centers'). */
  readonly caFile: string;
  /** This host's certificate: server certificate (its address as subjectAltName) and client certificate in one. */
  readonly certFile: string;
  /** Its private key. */
  readonly keyFile: string;
  /**
   * Common names of the client certificates that the TLS servers of this cluster admit for the
   * stanza: the nodes' and the repository hosts' of both data centers.
   */
  readonly clients: readonly string[];
}

export interface ClusterSpec {
  /**
   * `managed`: the stack renders and deploys every node's configuration and starts Patroni.
   * `existing`: a running cluster, known by its nodes' REST endpoints, that the stack only patches.
   * @default 'managed'
   */
  readonly mode?: 'managed' | 'existing';
  /** Patroni `scope` (cluster name). */
  readonly scope: string;
  /** @default '/service/' */
  readonly namespace?: string;
  readonly dcs: DcsSpec;
  readonly nodes: readonly NodeSpec[];
  /** @default see PostgresSpec */
  readonly postgresql?: PostgresSpec;
  /** @default see PatroniSpec */
  readonly patroni?: PatroniSpec;
  /** @default see UsersSpec */
  readonly users?: UsersSpec;
  /** @default see DeploySpec */
  readonly deploy?: DeploySpec;
  /**
   * pgBackRest: the archive and backups of this cluster, in its data center's repository. Sets
   * `archive_mode` and `archive_command` (so the parameters must not); with `backup` on both
   * clusters of a link the standby reads the archive when its stream breaks.
   * @default - no archive, no backups
   */
  readonly backup?: BackupSpec;
}

export type LinkState = 'following' | 'detached';

export interface LinkSpec {
  /**
   * `following`: the standby cluster replicates; `detached`: promoted to an independent primary.
   * @default 'following'
   */
  readonly state?: LinkState;
  /** Permanent physical slot on the primary (`primary_slot_name`). Required while use_slots is on. */
  readonly slotName?: string;
  /** One VIP or DNS name of the source cluster. @default - every primary node, as a comma list */
  readonly sourceVip?: string;
  /** @default the primary's PostgreSQL port */
  readonly port?: number;
  /**
   * How the standby leader is cloned (Patroni's `standby_cluster.create_replica_methods`). A
   * re-seed from the source (`reseed.from: source`) uses `[basebackup]` whatever this says.
   * @default ['pgbackrest', 'basebackup'] with backup on the standby cluster (its own data center's
   * repository first), ['basebackup'] otherwise
   */
  readonly createReplicaMethods?: readonly string[];
  /** @default - none (streaming only) */
  readonly restoreCommand?: string;
  /** @default - none */
  readonly archiveCleanupCommand?: string;
  /** Delay applied on the standby leader, e.g. '5min'. @default - none */
  readonly recoveryMinApplyDelay?: string;
  /**
   * How long a standby node waits before it reconnects after its stream broke (PostgreSQL's
   * `wal_retrieve_retry_interval`, set on the standby cluster). It bounds the standby cluster's
   * streaming gap after a switchover in the primary cluster. A `wal_retrieve_retry_interval` in
   * the standby cluster's own parameters takes precedence.
   * Lower means more reconnect attempts (and log lines) while the source is down.
   * @default '500ms' (PostgreSQL's own default is 5s)
   */
  readonly walRetrieveRetryInterval?: string;
  /** The promotion gate and the slot clean-up. @default see PromotionSpec */
  readonly promotion?: PromotionSpec;
  /** Who `npm run status` and the promotion gate connect as, and from where. @default see MonitoringSpec */
  readonly monitoring?: MonitoringSpec;
  /**
   * How a change of the source (switchover, switchback, rejoin) is checked and carried out. @default
   * see RoleChangeSpec
   */
  readonly roleChange?: RoleChangeSpec;
  /**
   * Re-seed the standby cluster from the source: every member's data directory is set aside (moved,
   * never deleted), the cluster's DCS state is removed and the members cloned anew from the
   * source. The way back after the link slot was invalidated (`wal_status` lost): the WAL the
   * standby needs is gone from the source. Runs once per generation; refused while the standby
   * leader streams. @default - no re-seed
   */
  readonly reseed?: ReseedSpec;
  /**
   * Warnings accepted on purpose, by id (each warning prints its id), with the reason: they are
   * no longer printed. An id that is not a warning's is an error. @default - none
   */
  readonly acknowledgeWarnings?: readonly WarningAcknowledgement[];
}

export interface WarningAcknowledgement {
  /** The warning's id, as printed in brackets, e.g. `no-wal-retention`. */
  readonly id: string;
  /** Why the risk is accepted (kept in the topology for its reviewers). */
  readonly reason: string;
}

/**
 * A role change: the topology names the other cluster as the source (`link.source` in the
 * `clusters:` layout). The new source's role change runs it against both clusters' REST APIs.
 */
export interface RoleChangeSpec {
  /**
   * The target's standby leader may lag the source by at most this much before the fence. @default
   * 16777216 (16 MiB)
   */
  readonly maxLagBytes?: number;
  /**
   * After the fence, how long the target may take to replay the old source's last position before the
   * demotion is undone. @default 30
   */
  readonly catchUpTimeoutSeconds?: number;
  /** How long the old source may take to stream from the new one (pg_rewind included). @default 120 */
  readonly followTimeoutSeconds?: number;
  /**
   * The synchronous handoff: right before the fence, the target's standby leader becomes the
   * source's synchronous standby (for the handoff alone), so the promotion follows as soon as the
   * source has stopped. `false`: always the soft fence, and the wait for the old source's last
   * position after its restart in recovery (a few seconds more of write gap; it also covers a
   * commit made with `synchronous_commit` `local` or `off`). @default true
   */
  readonly synchronousHandoff?: boolean;
  /**
   * Rejoin a cluster that wrote after the other one was promoted (a disaster promotion): its
   * writes past the divergence point are thrown away by pg_rewind. The role change refuses without it
   * and prints how many bytes would go.
   * @default false
   */
  readonly acceptDataLoss?: boolean;
  /**
   * The topology's generation of the source: raise it with every change of `link.source`. The
   * role change records it in both clusters' DCS and refuses a pipeline whose generation is lower
   * (an older commit deployed after a newer role change would otherwise undo it), or equal with
   * another source (a change of the source without a new generation). Recommended wherever more
   * than one pipeline deploys. @default - not checked
   */
  readonly generation?: number;
}

/** A re-seed of the standby cluster, run once for each new generation. */
export interface ReseedSpec {
  /**
   * The cluster to re-seed, as the topology names it (`standby`, or its name under `clusters:`):
   * it must be the link's standby cluster, so that a switchover never re-seeds the new standby
   * by a forgotten setting.
   */
  readonly cluster: string;
  /** Raise it (1, 2, ...) to run a re-seed: each new value runs one. */
  readonly generation: number;
  /** How long the members may take to be cloned and streaming again. @default 1800 */
  readonly timeoutSeconds?: number;
  /**
   * Where the standby's data comes from. `source`: every member is cloned anew from the source
   * (pg_basebackup across the link). `backup`: every member is restored from the newest backup in
   * its own data center's repository (pgBackRest), then replays the archive and streams from the
   * source; the standby leader falls back to pg_basebackup across the link when the repository
   * has no backup (needs backup on both clusters). `archive`: no member is cloned: the
   * invalidated link slot is renewed on the source, and the standby leader, which has caught up
   * from the archive (a standby that reads one: backup on both clusters, or link.restoreCommand),
   * streams through it again.
   * @default 'backup' with backup on the re-seeded cluster, 'source' otherwise
   */
  readonly from?: 'source' | 'backup' | 'archive';
}

/**
 * The database access of `npm run status` and the promotion gate. The article's pg_hba rejects the
 * superuser over TCP, so declare a role with pg_monitor (`CREATE ROLE monitor LOGIN IN ROLE
 * pg_monitor`) and the addresses the pipeline and the operators connect from: both clusters then
 * admit that role, from those addresses, to the `postgres` database, before the reject line.
 */
export interface MonitoringSpec {
  /**
   * Database role (a member of pg_monitor). Its password comes from PGPASSWORD or a pgpass file.
   * @default link.promotion.user, else the primary's superuser
   */
  readonly user?: string;
  /** Addresses (CIDR or host name) that status and the gate connect from. @default [] (no lines are generated) */
  readonly addresses?: readonly string[];
}

/** How the promotion variant checks before it detaches, and what it cleans up after. */
export interface PromotionSpec {
  /**
   * Promote even when the source cluster cannot be reached (its data center is lost). Writes the
   * source had not sent are then lost; the gate prints the last known position. Say it only for a
   * disaster, never as a standing setting.
   * @default false: an unreachable source makes the gate refuse
   */
  readonly disaster?: boolean;
  /**
   * Keep the link slot on the source after the promotion. An inactive slot retains WAL until the
   * source's disk is full, so keep it only while you plan to re-attach a standby to it.
   * @default false: the promotion removes it from the source's dynamic configuration
   */
  readonly keepSourceSlot?: boolean;
  /** How long the source's WAL position must stay still, with the standby leader caught up. @default 3 */
  readonly settleSeconds?: number;
  /** How long the gate waits for the standby leader to replay up to the source's position. @default 30 */
  readonly catchUpTimeoutSeconds?: number;
  /**
   * Database user that the gate and `npm run status` connect as (a superuser or a member of
   * pg_monitor); its password comes from PGPASSWORD or a pgpass file, never from the topology.
   * Prefer `link.monitoring.user`, which also admits the role in pg_hba.
   * @default link.monitoring.user, else the primary's superuser
   */
  readonly user?: string;
}

export interface Topology {
  readonly primary: ClusterSpec;
  readonly standby: ClusterSpec;
  readonly link: LinkSpec;
  /**
   * The clusters' names (their stacks and state files). In the `clusters:` layout they are the
   * data centers' names, so a role change keeps every resource in its data center's state.
   * @default {primary: 'primary', standby: 'standby'}
   */
  readonly names?: { readonly primary: string; readonly standby: string };
}

/**
 * The data-center layout of a topology file: clusters by name, and the link's source. A
 * switchover is a change of `link.source`.
 */
export interface DataCenterTopology {
  readonly clusters: Readonly<Record<string, ClusterSpec>>;
  readonly link: LinkSpec & { readonly source: string };
}
