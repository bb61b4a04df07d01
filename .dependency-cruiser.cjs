/** Layer rules of docs/architecture.md, checked in `npm test`. */
module.exports = {
  forbidden: [
    {
      name: 'domain-is-pure',
      comment: 'src/domain holds the rules: no SDK, no I/O, no adapters (zod is a plain library and allowed).',
      severity: 'error',
      from: { path: '^src/domain' },
      to: {
        pathNot: ['^src/domain', 'node_modules/zod'],
      },
    },
    {
      name: 'ports-are-interfaces',
      comment: 'src/ports may only refer to the domain.',
      severity: 'error',
      from: { path: '^src/ports' },
      to: { pathNot: ['^src/(ports|domain)'] },
    },
    {
      name: 'app-uses-ports-not-adapters',
      comment: 'use cases talk to ports; only main.ts wires adapters in.',
      severity: 'error',
      from: { path: '^src/app' },
      to: { path: ['^src/adapters', '^src/dev', 'node_modules/(botbuilder|@microsoft|@azure|lowdb|express|pg|pino)'] },
    },
    {
      name: 'cards-are-pure',
      comment: 'card rendering is view model in, JSON out.',
      severity: 'error',
      from: { path: '^src/cards' },
      to: { path: ['^src/(adapters|app|dev)', 'node_modules/(botbuilder|@microsoft|@azure|lowdb|express|pg)'] },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    exclude: { path: '^(test|bench|scripts)/' },
  },
};
