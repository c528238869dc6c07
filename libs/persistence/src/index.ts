export * from './data-source-options';
export * from './transactions';
export { isTransientDatabaseError } from './transient-errors';
export { BatchCollector, type BatchCollectorOptions } from './batch-collector';
export { GroupCommit, type GroupCommitOptions } from './group-commit';
export * from './migrations';
