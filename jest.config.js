const base = require('./jest.base');

module.exports = {
  ...base,
  testMatch: [
    '<rootDir>/test/unit/**/*.test.ts',
    '<rootDir>/test/integration/**/*.test.ts',
    '<rootDir>/test/security/**/*.test.ts',
  ],
  testTimeout: 30000,
};
