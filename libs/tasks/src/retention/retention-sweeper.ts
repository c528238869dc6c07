import { strict as assert } from 'node:assert';
import { Logger } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import type { BeatEntry } from '../beat/beat-scheduler';
import { boundedQuery } from '../beat/bounded-query';
import { GRACE_MS_MAX } from '../beat/task-schedule';
import { DELAY_MAX_MS } from '../topology';
import { retentionMetrics } from './retention-metrics';

/** How long task rows are kept (TasksModuleOptions `retention`). */
export interface RetentionOptions {
  /** Finished results (`date_done` set) are deleted this long after they finished: Celery's `result_expires`. */
  resultExpiresMs?: number;
  /**
   * Inbox rows (a task's "already applied" mark) are deleted this long after the task
   * applied. A message older than this that arrives again would run again, so this is the
   * promise made to operators: a dead letter may be replayed safely within this window.
   */
  inboxExpiresMs?: number;
  /** The sweep runs on this schedule, led by one process of the whole deployment. */
  everyMs?: number;
  /** Rows per DELETE statement: each is its own short transaction. */
  batchSizeMax?: number;
  /** Rows per table per sweep: a large backlog is worked off over several sweeps. */
  rowsPerPassMax?: number;
}

/** Celery's `result_expires` default: one day. */
export const RESULT_EXPIRES_MS_DEFAULT = 24 * 3_600_000;
/**
 * Seven days: how long dead letters may wait for an operator's replay. Never less than the
 * longest broker delay (a retry, countdown or ETA waits up to DELAY_MAX_MS, about 3.1
 * days, in the delay queues), so no copy of a task still on its way can outlive its mark.
 */
export const INBOX_EXPIRES_MS_DEFAULT = 7 * 24 * 3_600_000;
export const INBOX_EXPIRES_MS_MIN = DELAY_MAX_MS;
/** The sweep runs every five minutes unless told. */
export const RETENTION_EVERY_MS_DEFAULT = 5 * 60_000;
export const RETENTION_BATCH_SIZE_DEFAULT = 5_000;
export const RETENTION_ROWS_PER_PASS_DEFAULT = 100_000;
/**
 * Slot rows guard a slot only while it can still be sent (at most GRACE_MS_MAX late);
 * each schedule's last slot is kept in `task_schedules`, so older slot rows can go.
 */
const SLOT_KEEP_MS = 2 * GRACE_MS_MAX;
/** The longest one batch may take: one index range scan and 5,000 deletes, normally well under. */
const BATCH_TIMEOUT_MS = 30_000;
/** The scheduler group of the sweep: one leader across every service sharing the database. */
export const RETENTION_SCHEDULER = 'tasks.retention';

/** Rows one sweep deleted from one table, in how many statements. */
export interface SweptTable {
  rows: number;
  batches: number;
}

/** A DELETE of up to $2 rows older than $1 ms, by the index on the age column. */
const SWEEPS = {
  task_results: `DELETE FROM task_results WHERE id IN (
      SELECT id FROM task_results
       WHERE date_done IS NOT NULL AND date_done < now() - $1::bigint * interval '1 millisecond'
       ORDER BY date_done LIMIT $2)`,
  task_inbox: `DELETE FROM task_inbox WHERE task_id IN (
      SELECT task_id FROM task_inbox
       WHERE processed_at < now() - $1::bigint * interval '1 millisecond'
       ORDER BY processed_at LIMIT $2)`,
  task_schedule_slots: `DELETE FROM task_schedule_slots WHERE (scheduler, schedule, slot) IN (
      SELECT scheduler, schedule, slot FROM task_schedule_slots
       WHERE slot < now() - $1::bigint * interval '1 millisecond'
       ORDER BY slot LIMIT $2)`,
} as const;

type SweptTableName = keyof typeof SWEEPS;

/**
 * Deletes expired task rows in bounded batches: finished results after
 * `resultExpiresMs` (unfinished ones are never touched), inbox rows after
 * `inboxExpiresMs`, schedule slot rows once no leader could send their slot again. Sent
 * outbox rows are the relay's: it deletes them a day after they were sent.
 */
export class RetentionSweeper {
  private readonly logger = new Logger('Retention');
  private readonly options: Required<Omit<RetentionOptions, 'everyMs'>>;

  constructor(
    private readonly dataSource: DataSource,
    options: RetentionOptions = {},
  ) {
    this.options = {
      resultExpiresMs: options.resultExpiresMs ?? RESULT_EXPIRES_MS_DEFAULT,
      inboxExpiresMs: options.inboxExpiresMs ?? INBOX_EXPIRES_MS_DEFAULT,
      batchSizeMax: options.batchSizeMax ?? RETENTION_BATCH_SIZE_DEFAULT,
      rowsPerPassMax: options.rowsPerPassMax ?? RETENTION_ROWS_PER_PASS_DEFAULT,
    };
    validateRetention(options);
  }

  /** One sweep of every table; `signal` stops it between two batches (shutdown). */
  async sweep(signal?: AbortSignal): Promise<Record<SweptTableName, SweptTable>> {
    const swept = {
      task_results: await this.sweepTable('task_results', this.options.resultExpiresMs, signal),
      task_inbox: await this.sweepTable('task_inbox', this.options.inboxExpiresMs, signal),
      task_schedule_slots: await this.sweepTable('task_schedule_slots', SLOT_KEEP_MS, signal),
    };
    const total = Object.values(swept).reduce((sum, t) => sum + t.rows, 0);
    if (total > 0) {
      this.logger.log(
        `swept ${Object.entries(swept)
          .map(([table, t]) => `${t.rows} from ${table}`)
          .join(', ')}`,
      );
    }
    return swept;
  }

  /**
   * Batch after batch, each its own statement and commit, so no lock is held for long and
   * the sweep never competes with the task path for more than one batch: sequential on
   * purpose. Stops at a short batch or at the per-pass cap.
   */
  private async sweepTable(
    table: SweptTableName,
    olderThanMs: number,
    signal?: AbortSignal,
  ): Promise<SweptTable> {
    const { batchSizeMax, rowsPerPassMax } = this.options;
    let rows = 0;
    let batches = 0;
    while (rows < rowsPerPassMax && signal?.aborted !== true) {
      const limit = Math.min(batchSizeMax, rowsPerPassMax - rows);
      // PostgreSQL's DELETE answers [rows, affected count] through TypeORM.
      const [, deleted] = await boundedQuery<[unknown, number]>(
        this.dataSource,
        BATCH_TIMEOUT_MS,
        SWEEPS[table],
        [olderThanMs, limit],
      );
      batches += 1;
      rows += deleted;
      retentionMetrics.swept.inc({ table }, deleted);
      if (deleted < limit) break;
    }
    return { rows, batches };
  }

  /** The sweep as a schedule of its own group (RETENTION_SCHEDULER). */
  entry(everyMs = RETENTION_EVERY_MS_DEFAULT): BeatEntry {
    return {
      schedule: { name: 'sweep', task: 'tasks.retention_sweep', everyMs, graceMs: everyMs },
      run: async (signal) => {
        await this.sweep(signal);
      },
    };
  }
}

/** Refuses settings that would lose guarantees; throws naming the option. */
export function validateRetention(options: RetentionOptions): void {
  const check = (name: keyof RetentionOptions, ok: boolean, rule: string): void => {
    if (!ok) throw new Error(`tasks retention: ${name} ${rule}`);
  };
  const { resultExpiresMs, inboxExpiresMs, everyMs, batchSizeMax, rowsPerPassMax } = options;
  check('resultExpiresMs', resultExpiresMs === undefined || resultExpiresMs > 0, 'must be > 0');
  check(
    'inboxExpiresMs',
    inboxExpiresMs === undefined || inboxExpiresMs >= INBOX_EXPIRES_MS_MIN,
    `must be at least ${INBOX_EXPIRES_MS_MIN} ms (the longest broker delay)`,
  );
  check('everyMs', everyMs === undefined || everyMs >= 100, 'must be at least 100');
  check(
    'batchSizeMax',
    batchSizeMax === undefined || (batchSizeMax >= 1 && batchSizeMax <= 50_000),
    'must be in [1, 50000]',
  );
  check(
    'rowsPerPassMax',
    rowsPerPassMax === undefined || rowsPerPassMax >= 1,
    'must be at least 1',
  );
  assert(SLOT_KEEP_MS > GRACE_MS_MAX, 'slot rows outlive the longest grace window');
}
