/** Layer rules of docs/architecture.md, checked in `npm test`. */
module.exports = {
  forbidden: [
    {
      name: 'domain-is-pure',
      comment:
        'src/domain holds the rules: no SDK, no I/O, no adapters (zod is a plain library and allowed).',
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
      to: {
        path: [
          '^src/adapters',
          '^src/dev',
          'node_modules/(botbuilder|@microsoft|@azure|lowdb|express|pg|pino)',
        ],
      },
    },
    {
      name: 'cards-are-pure',
      comment: 'card rendering is view model in, JSON out.',
      severity: 'error',
      from: { path: '^src/cards' },
      to: {
        path: ['^src/(adapters|app|dev)', 'node_modules/(botbuilder|@microsoft|@azure|lowdb|express|pg)'],
      },
    },
    {
      name: 'production-imports-no-dev-tools',
      comment:
        'the local directory and the launcher (src/dev) are development tools, left out of dist/ (tsconfig.build.json).',
      severity: 'error',
      from: { path: '^src', pathNot: '^src/dev' },
      to: { path: '^src/dev' },
    },
    {
      name: 'production-imports-no-dev-dependencies',
      comment:
        'production runs `npm ci --omit=dev`: no devDependency (tsx, esbuild, fflate, ...) may be needed at run time.',
      severity: 'error',
      from: { path: '^src', pathNot: '^src/dev' },
      to: { dependencyTypes: ['npm-dev'] },
    },
    {
      name: 'production-imports-declared-packages',
      comment:
        'a package that is not in dependencies (only there by chance, through another) may vanish from a production install; type-only imports are erased.',
      severity: 'error',
      from: { path: '^src', pathNot: '^src/dev' },
      to: { dependencyTypes: ['npm-no-pkg', 'npm-unknown'], dependencyTypesNot: ['type-only'] },
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
