export * from './data-source-options';
export * from './transactions';
export {
  preparedStatement,
  preparedStatementName,
  PreparingClient,
  PREPARED_STATEMENTS_MAX,
} from './prepared-statements';
export { isTransientDatabaseError } from './transient-errors';
export { BatchCollector, type BatchCollectorOptions } from './batch-collector';
export { GroupCommit, FALLBACK_CONCURRENCY_DEFAULT, type GroupCommitOptions } from './group-commit';
export {
  paginate,
  PageCursorNotFoundError,
  KEYSET_PAGE_SIZE_MAX,
  type Page,
  type PageCursor,
  type PageDirection,
  type PageRequest,
  type PageSource,
} from './keyset-page';
export * from './migrations';
