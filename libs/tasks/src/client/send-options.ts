/** How a producer wants one task sent. Every field is optional. */
export interface SendOptions {
  /** Task id; give one to make a send idempotent (the consumer's inbox deduplicates). */
  id?: string;
  /** Queue to route to; by default the task name's first segment (`ledger.post` → `ledger`). */
  queue?: string;
  /** Run no earlier than this many milliseconds from now. */
  countdownMs?: number;
  /** Run no earlier than this time. */
  eta?: Date;
  /** Do not run after this time (or this many milliseconds from now); the task ends REVOKED. */
  expires?: Date | number;
  rootId?: string;
  parentId?: string;
  group?: string;
  groupIndex?: number;
  timeLimitSoftS?: number;
  timeLimitHardS?: number;
  /** Positional arguments instead of a keyword payload. */
  args?: unknown[];
}

export function defaultQueue(task: string): string {
  const dot = task.indexOf('.');
  return dot > 0 ? task.slice(0, dot) : task;
}
