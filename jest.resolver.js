// Jest resolves packages through their "require" export condition. kubernetes-models
// publish ES modules under "import" only: resolve those through "import" (the transform
// in jest.config.js makes them CommonJS); everything else as Jest always does.
const ESM_ONLY = /^(kubernetes-models|@kubernetes-models\/[^/]+)(\/|$)/;

/** @type {(path: string, options: import('jest-resolve').ResolverOptions) => string} */
module.exports = (path, options) =>
  options.defaultResolver(
    path,
    ESM_ONLY.test(path) ? { ...options, conditions: ['import', 'default'] } : options,
  );
