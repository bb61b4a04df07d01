// Shared by jest.config.js and jest.e2e.config.js. Tests run TypeScript through SWC (types are
// checked by `tsc --noEmit` in `npm test`); lowdb and steno ship ESM only, so they are
// transformed to CommonJS as well.
module.exports = {
  testEnvironment: 'node',
  transform: {
    '^.+\\.(t|j)sx?$': [
      '@swc/jest',
      {
        jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
        module: { type: 'commonjs', ignoreDynamic: false },
      },
    ],
  },
  transformIgnorePatterns: ['/node_modules/(?!(lowdb|steno)/)'],
};
