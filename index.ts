/**
 * The package's public API: the constructs with their props and attributes, the topology loader,
 * the stack builder and the rendered-files writer. Everything else is internal (package.json's
 * "exports" lets nothing else be imported).
 */
export * from './constructs';
export { buildStandbyStacks } from './stacks/standby-stacks';
export type { StandbyStacks, StandbyStacksOptions } from './stacks/standby-stacks';
export { loadTopologyFile, parseTopology } from './stacks/topology-file';
export type { LoadedTopology } from './stacks/topology-file';
export { renderedFilesOf, writeRenderedFiles } from './stacks/rendered-files';
