/** Two projects: fast unit tests, and the end-to-end suite on real etcd, Patroni, PostgreSQL and Terraform. */
const common = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['ts-jest', { diagnostics: { warnOnly: false } }] },
  modulePathIgnorePatterns: ['<rootDir>/dist/', '<rootDir>/cdktf.out/', '<rootDir>/.stryker-tmp', '<rootDir>/.tools/'],
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/.tools/'],
  // the bundled programs a synthesized stack ships (dist/programs), made from the runtime
  globalSetup: '<rootDir>/test/setup-programs.cjs',
};
module.exports = {
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: ['<rootDir>/test/unit/**/*.test.ts'],
      // cdktf's Testing leaves a directory per synth under TMPDIR: each test file gets its own, removed after it
      setupFilesAfterEnv: ['<rootDir>/test/setup-tmp.cjs'],
    },
    { ...common, displayName: 'e2e', testMatch: ['<rootDir>/test/e2e/**/*.test.ts'] },
  ],
};
