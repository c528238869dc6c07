import { CreateTaskTables1764000000000 } from './migrations/1764000000000-CreateTaskTables';

export * from './protocol/celery-message';
export * from './topology';
export * from './broker/broker-connection';
export * from './broker/publisher';
export * from './client/task-client';
export * from './client/task-handle';
export * from './client/task-options';
export * from './client/task-message-factory';
export * from './results/task-state';
export * from './results/result-store';
export * from './results/result-waiter';
export * from './outbox/task-outbox';
export * from './outbox/outbox-relay';
export * from './dead-letters/dead-letter';
export * from './dead-letters/dead-letter-admin';
export * from './worker/task-options';
export * from './worker/task-context';
export * from './worker/batch-collector';
export * from './worker/task.decorator';
export * from './worker/task-server';
export * from './worker/task-runner';
export * from './worker/task-metrics';
export * from './tasks.module';

export { CreateTaskTables1764000000000 };
/** The task layer's migrations, in order. */
export const TASK_MIGRATIONS = [CreateTaskTables1764000000000];
