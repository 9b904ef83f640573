// Mutation testing (`npm run test:mutation`): how many deliberate faults in the planners, the
// rules and the programs Terraform runs the unit tests catch. One Stryker run per area
// (MUTATION_AREA=programs|planners|rules; scripts/mutation.sh runs the three), each with its own
// report and incremental file in the ignored bench/out/mutation/; `npm run bench:report` writes
// the scores into TESTING.md.
const AREAS = {
  // the typed runtime (runtime/*.ts; its thin entries run only as processes)
  programs: ['runtime/*.ts'],
  planners: ['constructs/planners/*.ts'],
  rules: ['constructs/rules.ts'],
};
const area = process.env.MUTATION_AREA || 'programs';
if (!AREAS[area]) throw new Error(`MUTATION_AREA=${area}: one of ${Object.keys(AREAS).join(', ')}`);
// a run of part of an area (`--mutate <file>`) reports under its own name, merged over the area's
const report = process.env.MUTATION_REPORT || area;

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'jest',
  // each mutant runs only the test files that import the mutated file (jest --findRelatedTests),
  // and of those only the tests that cover it
  jest: { projectType: 'custom', configFile: 'test/mutation/jest.config.js', enableFindRelatedTests: true },
  // module-level constants would need every test run for each of their mutants; their effect is
  // covered through the functions that read them
  ignoreStatic: true,
  // Texts are left out: an emptied log line or message is not a fault in what the code does, and
  // the texts users act on (refusals, the gate's checks and notes, problems) are asserted word for
  // word by the tests anyway. Every other mutator runs.
  mutator: { excludedMutations: ['StringLiteral'] },
  mutate: AREAS[area],
  coverageAnalysis: 'perTest',
  // a later run re-tests only the mutants whose code or covering tests changed
  incremental: true,
  incrementalFile: `bench/out/mutation/${report}.incremental.json`,
  // the programs' tests mostly wait (fake servers, polling loops): more runners than cores pay off
  concurrency: area === 'programs' ? 4 : 2,
  // a mutant that turns a deadline loop endless is caught this long after the covering tests' own
  // time; the rules and planners run whole synths per mutant (tens of tests), so their margin is
  // wider, so that a busy machine does not pass a slow run off as a caught mutant
  timeoutMS: area === 'programs' ? 2500 : 10000,
  reporters: ['progress', 'clear-text', 'json', 'html'],
  jsonReporter: { fileName: `bench/out/mutation/${report}.json` },
  htmlReporter: { fileName: `bench/out/mutation/${report}.html` },
  clearTextReporter: { allowColor: false, logTests: false, maxTestsToLog: 0 },
  // one sandbox folder per report, so that two areas can run side by side
  tempDirName: `.stryker-tmp-${report}`,
  ignorePatterns: [
    'dist',
    'cdktf.out',
    'cdktf.out.compose',
    'bench/out',
    '.e2e-work',
    'coverage',
    '.stryker-tmp*',
    '.tools',
  ],
  thresholds: { high: 90, low: 80, break: null },
};
