/**
 * `@clearline/tasks`: Celery's task semantics on RabbitMQ and PostgreSQL, as a Nest
 * module and a custom transport. This file is the library's whole public API; every
 * other module in it is private and may change without notice.
 *
 * - Producing: {@link TaskClient} (`send`, confirmed by the broker) and the
 *   transactional outbox ({@link enqueueTask}, {@link enqueueTasks},
 *   {@link OutboxStatement}) for tasks that must follow a database write.
 * - Consuming: {@link Task} handlers, run by {@link TaskServer} with acks-late,
 *   prefetch, retries with backoff, an inbox for exactly-once effects, group commit
 *   and dead letters; {@link TaskContext} tells a handler about its attempt.
 * - Operating: {@link ResultStore} (states and results in PostgreSQL),
 *   {@link DeadLetterAdmin} (list and replay), {@link buildTopology} and
 *   {@link toDefinitions} (the broker topology, exported for the management UI).
 */
import type { MigrationSet } from '@clearline/persistence';
import { CreateTaskTables1764000000000 } from './migrations/1764000000000-CreateTaskTables';
import { CreateTaskCanvas1796300000000 } from './migrations/1796300000000-CreateTaskCanvas';
import { CreateTaskControl1796300100000 } from './migrations/1796300100000-CreateTaskControl';
import { CreateTaskSchedules1796300200000 } from './migrations/1796300200000-CreateTaskSchedules';
import { AddTaskOutboxSender1796300300000 } from './migrations/1796300300000-AddTaskOutboxSender';
import { AddTaskOutboxRelayAfter1796300500000 } from './migrations/1796300500000-AddTaskOutboxRelayAfter';
import { GrantTaskTables1796300400000 } from './migrations/1796300400000-GrantTaskTables';

// ------------------------------------------------------------------- the Nest module
export { TasksModule, type TasksModuleOptions, type TasksModuleAsyncOptions } from './tasks.module';

// ------------------------------------------------------------------------ producing
export { TaskClient } from './client/task-client';
export { CommittedOutbox } from './outbox/committed-outbox';
export { TaskHandle, TaskFailedError, RESULT_TIMEOUT_MS_DEFAULT } from './client/task-handle';
export { CELERY_DEFAULT_QUEUE, type SendOptions } from './client/send-options';
export {
  REPLY_QUEUE_LENGTH_MAX,
  REPLY_EXPECTED_COUNT_MAX,
  REPLY_HELD_BYTES_MAX,
} from './client/reply-queue';
export {
  UnroutableError,
  PublishRejectedError,
  PublishTimeoutError,
  BrokerUnavailableError,
  CONFIRM_TIMEOUT_MS_DEFAULT,
  PUBLISH_BACKLOG_COUNT_MAX_DEFAULT,
} from './broker/publisher';
export { TaskTimeoutError } from './results/result-waiter';
export {
  enqueueTask,
  enqueueTasks,
  stageTasks,
  OutboxStatement,
  OUTBOX_BATCH_MAX,
  type OutboxTask,
} from './outbox/task-outbox';

// ------------------------------------------------------------------------ workflows
export {
  signature,
  si,
  chain,
  group,
  chord,
  Signature,
  Chain,
  Group,
  Chord,
  CHAIN_LENGTH_MAX,
  GROUP_SIZE_MAX,
  type SignatureOptions,
  type Workflow,
} from './canvas/signature';
export type { SignatureDict, SignatureDictOptions } from './canvas/signature-dict';
export { GroupHandle } from './canvas/group-handle';
export { enqueueWorkflow, WORKFLOW_CHUNK_SIZE, type GroupIds } from './canvas/workflow-sender';
export {
  TREE_NODE_COUNT_MAX,
  TREE_NODE_COUNT_MAX_DEFAULT,
  type WorkflowNode,
  type WorkflowTree,
} from './canvas/workflow-tree';

// ------------------------------------------------------------------------ consuming
export { Task } from './worker/task.decorator';
export { TaskServer } from './worker/task-server';
export { TaskContext, TaskBatchContext } from './worker/task-context';
export {
  retryDelayMs,
  RETRY_COUNT_MAX_DEFAULT,
  type TaskHandlerOptions,
  type TaskBatchOptions,
  type ErrorClass,
  type ErrorMatcher,
} from './worker/task-options';
export type { TaskOutcome } from './worker/task-outcome';
export type { TaskMessage } from './protocol/celery-message';

// ------------------------------------------------------------------------ operating
export { ResultStore, ResultStatement, type KeyedResult } from './results/result-store';
export { inPlaceTaskSpan } from './tracing/task-tracing';
export { TASK_STATES, type TaskState, type TaskResultRecord } from './results/task-state';
export {
  DeadLetterAdmin,
  DEAD_LETTER_PAGE_MAX,
  type DeadLetter,
} from './dead-letters/dead-letter-admin';
export type { DeadLetterReason } from './dead-letters/dead-letter';
export {
  buildTopology,
  celeryTopology,
  declareTopology,
  servicePermissions,
  ownTopology,
  prepareServiceBroker,
  type ManagementPut,
  type BrokerPermissions,
  type CeleryTopology,
  toDefinitions,
  TASK_EXCHANGE,
  ORDER_KEY_HEADER,
  ORDERED_SHARDS_MAX,
  shardQueues,
  type Topology,
  type WorkQueueSpec,
  type OrderedLaneSpec,
} from './topology';
export { ORDERED_RETRY_DELAY_MS_MAX } from './ordered/ordered-lanes';

// ----------------------------------------------------------- periodic tasks (beat)
export { provideTaskSchedules, provideTaskSchedulesFrom } from './beat/beat-lifecycle';
export {
  ScheduleError,
  GRACE_MS_DEFAULT,
  GRACE_MS_MAX,
  EVERY_MS_MIN,
  SLOTS_PER_PASS_MAX,
  type TaskSchedule,
} from './beat/task-schedule';
export {
  LEADER_POLL_MS_DEFAULT,
  TICK_MS_MAX_DEFAULT,
  type BeatOptions,
} from './beat/beat-scheduler';
export { KEEPALIVE_BOUND_S } from './beat/beat-leadership';
export { listSchedules, SCHEDULE_LIST_MAX, type ScheduleInfo } from './beat/schedule-listing';

// ------------------------------------------------------------------------ retention
export {
  RESULT_EXPIRES_MS_DEFAULT,
  INBOX_EXPIRES_MS_DEFAULT,
  RETENTION_EVERY_MS_DEFAULT,
  RETENTION_SCHEDULER,
  type RetentionOptions,
} from './retention/retention-sweeper';

// ---------------------------------------- control: revoke, limits, retry, inspect
export {
  TaskControl,
  INSPECT_TIMEOUT_MS_DEFAULT,
  INSPECT_TIMEOUT_MS_MAX,
  type RevokeOptions,
  type InspectOptions,
} from './control/task-control';
export {
  CONTROL_EXCHANGE,
  INSPECT_KINDS,
  type InspectKind,
  type InspectReply,
  type InspectAnswers,
  type ActiveTaskInfo,
  type ReservedTaskInfo,
  type WorkerStats,
} from './control/control-protocol';
export {
  SoftTimeLimitExceeded,
  TimeLimitExceeded,
  TaskRevokedError,
  MaxRetriesExceededError,
} from './control/control-errors';
export { TIME_LIMIT_HARD_MS_DEFAULT, TIME_LIMIT_MS_MAX } from './control/time-limits';
export {
  RATE_PER_S_MAX,
  GLOBAL_TOKEN_BATCH_MAX,
  type RateLimit,
  type RateLimitScope,
} from './control/rate-limit';
export { REVOKED_COUNT_MAX, REVOCATION_EXPIRES_MS_DEFAULT } from './control/revocations';

/** The task layer's migrations (`task_outbox`, `task_inbox`, `task_results`), in order. */
export const TASK_MIGRATIONS = [
  CreateTaskTables1764000000000,
  CreateTaskCanvas1796300000000,
  CreateTaskControl1796300100000,
  CreateTaskSchedules1796300200000,
  AddTaskOutboxSender1796300300000,
  GrantTaskTables1796300400000,
  AddTaskOutboxRelayAfter1796300500000,
];

/**
 * The task layer's migrations as the migration guard checks them (owner `tasks`):
 * every process that uses the layer verifies them at start.
 */
export const TASK_MIGRATION_SET: MigrationSet = { owner: 'tasks', migrations: TASK_MIGRATIONS };
