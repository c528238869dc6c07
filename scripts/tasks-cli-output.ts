/**
 * How the operator's tool writes: readable lines, or with `--json` one JSON document
 * (bigint amounts as decimal strings, dates as ISO 8601) that scripts can parse.
 */
import type { TaskResultRecord } from '@clearline/tasks';

/** Exit codes: 0 ok, 1 a task failed or was not found, 2 bad usage. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** Bad usage: the message and the usage text go to stderr, exit 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}

/** Where a command writes. Text lines go out as they come; JSON is one document at the end. */
export class Output {
  constructor(
    readonly json: boolean,
    private readonly write: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
  ) {}

  /** A readable line (ignored with `--json`). */
  line(text: string): void {
    if (!this.json) this.write(text);
  }

  /** The machine-readable document (only with `--json`). */
  document(value: unknown): void {
    if (this.json) this.write(toJson(value));
  }

  /** Aligned `label  value` lines. */
  fields(rows: readonly [string, string | number | null | undefined][]): void {
    const width = Math.max(...rows.map(([label]) => label.length));
    for (const [label, value] of rows) {
      if (value !== null && value !== undefined) this.line(`${label.padEnd(width)}  ${value}`);
    }
  }
}

const iso = (date: Date | null): string | null => (date ? date.toISOString() : null);

/** A stored result as `--json` prints it. */
export function recordJson(record: TaskResultRecord): Record<string, unknown> {
  return {
    id: record.id,
    task: record.task,
    state: record.state,
    queue: record.queue,
    result: record.result,
    error_type: record.errorType,
    error_message: record.errorMessage,
    retries: record.retries,
    root_id: record.rootId,
    parent_id: record.parentId,
    group_id: record.groupId,
    worker: record.worker,
    created_at: iso(record.createdAt),
    started_at: iso(record.startedAt),
    date_done: iso(record.dateDone),
  };
}

/** A stored result as readable lines. */
export function printRecord(out: Output, record: TaskResultRecord): void {
  out.fields([
    ['id', record.id],
    ['task', record.task],
    ['state', record.state],
    ['queue', record.queue],
    ['retries', record.retries],
    ['worker', record.worker],
    ['root', record.rootId !== record.id ? record.rootId : null],
    ['parent', record.parentId],
    ['group', record.groupId],
    ['created', iso(record.createdAt)],
    ['started', iso(record.startedAt)],
    ['done', iso(record.dateDone)],
    ['error', record.errorType ? `${record.errorType}: ${record.errorMessage ?? ''}` : null],
    ['result', record.state === 'SUCCESS' ? toJson(record.result ?? null) : null],
  ]);
}

/** FAILURE and REVOKED are failures for the exit code. */
export function exitFor(record: TaskResultRecord): ExitCode {
  return record.state === 'FAILURE' || record.state === 'REVOKED' ? EXIT.failed : EXIT.ok;
}
