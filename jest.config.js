// Jest runs TypeScript through SWC. NestJS 12 ships ES modules only, so its packages
// (and the few other ESM-only dependencies) are transformed to CommonJS too.
const esmOnly = [
  '@nestjs',
  'fast-check',
  'pure-rand',
  'kubernetes-models',
  '@kubernetes-models',
  'is-cidr',
  'cidr-regex',
];

/**
 * Files that must run with nothing else running: the chaos run stops the broker and
 * PostgreSQL for everyone, and the webhook-isolation test compares a merchant's payment
 * latency alone and beside a hanging endpoint (another file's load would skew one side).
 */
const EXCLUSIVE = [
  '<rootDir>/scripts/chaos/chaos.int-spec.ts',
  '<rootDir>/services/gateway/test/webhook-isolation.e2e-spec.ts',
];

/**
 * `npm test` (scripts/test.sh) runs two phases: `CLEARLINE_TESTS=shared` runs every other
 * file, two at a time (each has its own vhost, database and Redis prefix), then
 * `CLEARLINE_TESTS=exclusive` runs the files above, one at a time. Unset (a developer's
 * `npx jest <path>`), every file matched runs one at a time.
 */
const phase = process.env.CLEARLINE_TESTS ?? 'all';
if (!['all', 'shared', 'exclusive'].includes(phase)) {
  throw new Error(`CLEARLINE_TESTS must be shared, exclusive or unset, not '${phase}'`);
}
const exclusivePattern = EXCLUSIVE.map((file) =>
  file.replace('<rootDir>/', '').replace(/[.]/g, '\\.'),
);

/** @type {import('jest').Config} */
module.exports = {
  rootDir: __dirname,
  testEnvironment: 'node',
  testMatch:
    phase === 'exclusive'
      ? EXCLUSIVE
      : ['<rootDir>/{libs,services,scripts}/**/*.{spec,int-spec,e2e-spec}.ts'],
  testPathIgnorePatterns: ['/node_modules/', ...(phase === 'shared' ? exclusivePattern : [])],
  transform: { '^.+\\.(t|j|mj)s$': ['@swc/jest', { swcrc: true }] },
  transformIgnorePatterns: [`/node_modules/(?!(${esmOnly.join('|')})/)`],
  moduleNameMapper: {
    '^@clearline/(.*)$': '<rootDir>/libs/$1/src',
  },
  // kubernetes-models resolve through their "import" export condition (jest.resolver.js).
  resolver: '<rootDir>/jest.resolver.js',
  globalSetup: '<rootDir>/libs/testing/src/global-setup.ts',
  globalTeardown: '<rootDir>/libs/testing/src/global-teardown.ts',
  testTimeout: 60_000,
  maxWorkers: phase === 'shared' ? 2 : 1,
  // Worker processes are replaced once one holds this much after a file (a memory limit
  // makes Jest use a worker even with maxWorkers 1): files run in the same process
  // otherwise, and what each leaves behind slowed later ones (1,000 simulation seeds took
  // 53 s after 140 files, 5 s alone).
  workerIdleMemoryLimit: '800MB',
};
