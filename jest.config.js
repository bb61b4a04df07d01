// Tests run TypeScript through SWC (types are checked by `tsc --noEmit` in `npm test`).
// lowdb and steno ship ESM only, so they are transformed to CommonJS as well.
const base = {
  testEnvironment: 'node',
  transform: {
    '^.+\\.(t|j)sx?$': [
      '@swc/jest',
      { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs', ignoreDynamic: false } },
    ],
  },
  transformIgnorePatterns: ['/node_modules/(?!(lowdb|steno)/)'],
};
module.exports = {
  ...base,
  base,
  testMatch: ['<rootDir>/test/unit/**/*.test.ts', '<rootDir>/test/integration/**/*.test.ts'],
  testTimeout: 30000,
};
