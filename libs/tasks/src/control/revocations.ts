import type { DataSource } from 'typeorm';

/** Revocations a worker keeps in memory (Celery keeps 50,000); the oldest go first. */
export const REVOKED_COUNT_MAX = 50_000;
/** How long a revocation is kept: Celery's `result_expires` default, one day. */
export const REVOCATION_EXPIRES_MS_DEFAULT = 86_400_000;
/** Expired revocation rows deleted per `revoke` call, so the table never needs a sweep job. */
const EXPIRED_DELETE_MAX = 1_000;

/** What a worker knows about one revoked task. */
export interface Revocation {
  terminate: boolean;
  reason: string | null;
  expiresAtMs: number;
}

/**
 * The revoked task ids one worker honours: loaded from `task_revocations` when it
 * connects (so a worker started after a revoke skips the task too) and added to by the
 * control broadcast. Bounded by count and by expiry.
 */
export class Revocations {
  private readonly entries = new Map<string, Revocation>();

  constructor(private readonly countMax: number = REVOKED_COUNT_MAX) {}

  add(taskId: string, revocation: Revocation): void {
    this.entries.delete(taskId);
    this.entries.set(taskId, revocation);
    while (this.entries.size > this.countMax) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
  }

  /** The revocation of this task, if it is revoked and the revocation has not expired. */
  get(taskId: string, nowMs: number = Date.now()): Revocation | undefined {
    const revocation = this.entries.get(taskId);
    if (revocation && revocation.expiresAtMs <= nowMs) {
      this.entries.delete(taskId);
      return undefined;
    }
    return revocation;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Reads the unexpired revocations, newest first, at most `countMax` of them. */
  async load(dataSource: DataSource): Promise<void> {
    const rows: {
      task_id: string;
      terminate: boolean;
      reason: string | null;
      expires_ms: number;
    }[] = await dataSource.query(
      `SELECT task_id, terminate, reason, (extract(epoch FROM expires_at) * 1000)::float8 AS expires_ms
           FROM task_revocations WHERE expires_at > now()
          ORDER BY revoked_at DESC LIMIT $1`,
      [this.countMax],
    );
    // Oldest first, so the newest survive the bound.
    for (const row of rows.reverse()) {
      this.add(row.task_id, {
        terminate: row.terminate,
        reason: row.reason,
        expiresAtMs: row.expires_ms,
      });
    }
  }
}

/** Records a revocation (and deletes a bounded number of expired ones). */
export async function persistRevocation(
  dataSource: DataSource,
  taskId: string,
  revocation: Omit<Revocation, 'expiresAtMs'> & { expiresMs: number },
): Promise<Revocation> {
  const rows: { expires_ms: number }[] = await dataSource.query(
    `WITH expired AS (
       DELETE FROM task_revocations WHERE task_id IN (
         SELECT task_id FROM task_revocations WHERE expires_at <= now() LIMIT ${EXPIRED_DELETE_MAX}))
     INSERT INTO task_revocations (task_id, terminate, reason, expires_at)
       VALUES ($1, $2, $3, now() + make_interval(secs => $4::float8 / 1000))
     ON CONFLICT (task_id) DO UPDATE SET
       terminate = task_revocations.terminate OR excluded.terminate,
       reason = coalesce(excluded.reason, task_revocations.reason),
       revoked_at = now(),
       expires_at = excluded.expires_at
     RETURNING (extract(epoch FROM expires_at) * 1000)::float8 AS expires_ms`,
    [taskId, revocation.terminate, revocation.reason, revocation.expiresMs],
  );
  return {
    terminate: revocation.terminate,
    reason: revocation.reason,
    expiresAtMs: rows[0]?.expires_ms ?? Date.now() + revocation.expiresMs,
  };
}
