// `npm run test:e2e`: the browser suite on the Agents Playground (see docs/dev/playground.md).
// Same SWC transform as the unit and integration tests.
const fs = require('node:fs');
const path = require('node:path');

const base = fs.existsSync(path.join(__dirname, 'jest.base.js'))
  ? require('./jest.base')
  : require('./jest.config').base;

module.exports = {
  ...base,
  // test/dev: `npm run dev` itself (the same three servers, started and ended in every way).
  testMatch: ['<rootDir>/test/e2e/**/*.test.ts', '<rootDir>/test/dev/**/*.test.ts'],
  // Each file starts its own directory, bot, playground (and Chromium): one at a time.
  maxWorkers: 1,
  testTimeout: 120000,
};
