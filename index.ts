/**
 * The package's public API, name by name: the constructs with their props and attributes, the
 * topology loader, the stack builder, the rendered-files writer and the error users catch.
 * Everything else (planners, validation, schema helpers) is internal: package.json's "exports"
 * lets nothing else be imported, and nothing else is re-exported here.
 *
 * api/patroni-standby-cdktf.api.md records this surface; `npm run api:report` updates it and the
 * unit tests fail while it is out of date.
 */

// The constructs, their props, and what their attributes return
export { PatroniCluster, PrimaryPatroniCluster, StandbyPatroniCluster } from './constructs/patroni-cluster';
export type { PatroniClusterProps, RenderedFile } from './constructs/patroni-cluster';
export { StandbyLink } from './constructs/standby-link';
export type { StandbyLinkProps } from './constructs/standby-link';

// Types of the constructs' attributes only (PatroniCluster.nodes, .dcsPatch, .resolved,
// .renderPatch(); StandbyLink.promotion, .roles, .reseed, .linkSlots, .resolved): they can be
// named, not constructed
export type { PatroniNode } from './constructs/patroni-node';
export type { DcsConfigPatch } from './constructs/dcs-config-patch';
export type { Promotion } from './constructs/promotion';
export type { Reseed } from './constructs/reseed';
export type { RoleChange } from './constructs/role-change';
export type { ResolvedBackup, ResolvedCluster, ResolvedLink, ResolvedNode } from './constructs/resolve';
export type { JsonObject, JsonValue } from './constructs/planners/dynamic-config';

// The cluster model: the props' parts and the topology file's shape
export type {
  BackupRepositorySpec,
  BackupSpec,
  BackupTlsSpec,
  ClusterSpec,
  DcsSpec,
  DeploySpec,
  LinkSpec,
  LinkState,
  MonitoringSpec,
  NodeSpec,
  PatroniSpec,
  PostgresSpec,
  PromotionSpec,
  ReseedSpec,
  RestApiTlsSpec,
  RoleChangeSpec,
  SecretsDeliverySpec,
  Topology,
  UsersSpec,
  WarningAcknowledgement,
} from './constructs/types';

// The topology loader
export { loadTopologyFile, parseTopology } from './stacks/topology-file';
export type { LoadedTopology } from './stacks/topology-file';

// The stack builder
export { buildStandbyStacks } from './stacks/standby-stacks';
export type { StandbyStacks, StandbyStacksOptions } from './stacks/standby-stacks';

// Where the stacks keep their state
export { STATE_BACKENDS, stateBackend, stateBackendProblems } from './stacks/state-backend';
export type {
  BackendFor,
  BackendOptions,
  BackendValue,
  StateBackendSpec,
  StateBackendType,
} from './stacks/state-backend';

// The rendered-files writer
export { renderedFilesOf, writeRenderedFiles } from './stacks/rendered-files';

// The error users catch, and the problems it carries
export { TopologyError } from './constructs/errors';
export type { Problem } from './constructs/errors';
