const base = require('./jest.base');

/** `npm run test:container`: builds the Containerfile with buildah (minutes), so not in `npm test`. */
module.exports = {
  ...base,
  testMatch: ['<rootDir>/test/container/**/*.test.ts'],
  testTimeout: 60000,
};
