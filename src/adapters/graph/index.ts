export { GraphDirectory, type GraphDirectoryOptions } from './graph-directory';
export { createDirectoryFromEnv, graphBaseUrlFromEnv } from './create-directory';
export { credentialFromEnv, type SelectedCredential } from './credentials';
export { runDirectoryCheck } from './check';
export type { RetryPolicy } from './retry-middleware';
