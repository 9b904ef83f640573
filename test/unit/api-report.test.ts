/**
 * The public API: the checked-in report (api/patroni-standby-cdktf.api.md) is the one the sources
 * give now, no internal name is part of it, and the names an app imports are values of the root.
 * The report is generated in memory; nothing is written.
 */

interface CheckResult {
  readonly upToDate: boolean;
  readonly added: readonly string[];
  readonly removed: readonly string[];
  readonly changed: readonly string[];
  readonly message: string;
}

interface ApiReportScript {
  generateReport(): string;
  checkReport(current?: string): CheckResult;
}

// eslint-disable-next-line @typescript-eslint/no-require-imports -- a CommonJS script of the repository
const script = require('../../scripts/api-report.cjs') as ApiReportScript;

/** Planners, validation and schema helpers, and the link's wiring: none of them is public. */
const INTERNAL = [
  'renderNodeYaml',
  'configPatch',
  'bootstrapDcs',
  'zodProblems',
  'valueAt',
  'parseHbaLine',
  'clusterPgHba',
  'firstMatch',
  'linkHealthConfig',
  'validateTopology',
  'validateClusterSpec',
  'validateLinkSpec',
  'addLinkContribution',
];

/** What an app imports as values (README's examples, the adoption suite). */
const APP_VALUES = [
  'PatroniCluster',
  'PrimaryPatroniCluster',
  'StandbyPatroniCluster',
  'StandbyLink',
  'buildStandbyStacks',
  'loadTopologyFile',
  'parseTopology',
  'writeRenderedFiles',
  'renderedFilesOf',
  'TopologyError',
];

let report = '';

beforeAll(() => {
  report = script.generateReport();
}, 30_000);

test('the checked-in API report is the current one', () => {
  const result = script.checkReport(report);
  // the message names the exports that changed, shows how, and says how to update the report
  if (!result.upToDate) throw new Error(result.message);
});

test('no internal name is part of the public API', () => {
  const leaked = INTERNAL.filter((name) => new RegExp(`\\b${name}\\b`).test(report));
  expect(leaked).toEqual([]);
});

test('the names an app imports are exported as values', () => {
  const valueExports = [...report.matchAll(/^\| `([^`]+)` \| ([^|]+) \|$/gm)]
    .filter(([, , kind]) => !kind.includes('type-only') && /\b(class|function|const)\b/.test(kind))
    .map(([, name]) => name);
  expect(APP_VALUES.filter((name) => !valueExports.includes(name))).toEqual([]);
});
