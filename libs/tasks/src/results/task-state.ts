export const TASK_STATES = [
  'PENDING',
  'RECEIVED',
  'STARTED',
  'RETRY',
  'SUCCESS',
  'FAILURE',
  'REVOKED',
] as const;
export type TaskState = (typeof TASK_STATES)[number];

export const READY_STATES: readonly TaskState[] = ['SUCCESS', 'FAILURE', 'REVOKED'];

export function isReady(state: TaskState): boolean {
  return READY_STATES.includes(state);
}

/** One stored task outcome, as `task_results` keeps it. */
export interface TaskResultRecord {
  id: string;
  task: string;
  queue: string | null;
  state: TaskState;
  result: unknown;
  errorType: string | null;
  errorMessage: string | null;
  traceback: string | null;
  retries: number;
  rootId: string | null;
  parentId: string | null;
  groupId: string | null;
  worker: string | null;
  createdAt: Date;
  startedAt: Date | null;
  dateDone: Date | null;
}

/** A state change to record. */
export interface ResultUpdate {
  id: string;
  task: string;
  queue: string | null;
  state: TaskState;
  result?: unknown;
  errorType?: string | null;
  errorMessage?: string | null;
  traceback?: string | null;
  retries: number;
  rootId?: string | null;
  parentId?: string | null;
  groupId?: string | null;
  /** A group member's position, by which a chord orders its results. */
  groupIndex?: number | null;
  worker?: string | null;
  /**
   * The task ignores its result: a SUCCESS is only notified to waiting callers, never
   * stored, and states before the end (STARTED, RETRY) are not stored; FAILURE and
   * REVOKED are stored as always.
   */
  ignoreResult?: boolean;
}
