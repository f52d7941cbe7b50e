/** Jest 30 + ts-jest in ESM mode. Run through `npm test` (sets --experimental-vm-modules). */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }],
  },
  roots: ['<rootDir>/test', '<rootDir>/packages/client/test'],
  testMatch: ['**/*.spec.ts'],
  testTimeout: 30_000,
  maxWorkers: 2,
  setupFiles: ['<rootDir>/test/support/preload-nest.ts'],
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
};
