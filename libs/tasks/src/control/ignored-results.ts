import type { ResultUpdate } from '../results/task-state';

/** What the result store does with a batch of updates once `ignoreResult` is honoured. */
export interface IgnoredSplit {
  /** Updates written to `task_results` as always. */
  stored: ResultUpdate[];
  /** Notification bodies of successes that are not stored: waiting callers still wake. */
  notified: string[];
}

function bigintAsString(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}

/** The same body the upsert's notification carries, built without a row. */
function notification(update: ResultUpdate, now: string): string {
  return JSON.stringify(
    {
      id: update.id,
      task: update.task,
      queue: update.queue,
      state: update.state,
      result: update.result ?? null,
      error_type: null,
      error_message: null,
      retries: update.retries,
      root_id: update.rootId ?? null,
      parent_id: update.parentId ?? null,
      group_id: update.groupId ?? null,
      worker: update.worker ?? null,
      created_at: now,
      started_at: null,
      date_done: now,
    },
    bigintAsString,
  );
}

/**
 * Honours `ignoreResult`: a success is only notified (no row), states before the end
 * (STARTED, RETRY) are dropped, failures and revocations are stored. Kept as rows
 * regardless: group members (a chord joins on their results) and a success whose
 * notification would exceed `payloadBytesMax` (PostgreSQL's limit): the waiter then
 * reads the row, which stays until the retention sweep removes it.
 */
export function splitIgnored(
  updates: readonly ResultUpdate[],
  payloadBytesMax: number,
  now: Date = new Date(),
): IgnoredSplit {
  const stored: ResultUpdate[] = [];
  const notified: string[] = [];
  const at = now.toISOString();
  for (const update of updates) {
    if (update.ignoreResult !== true || update.groupId) {
      stored.push(update);
      continue;
    }
    switch (update.state) {
      case 'FAILURE':
      case 'REVOKED':
        stored.push(update);
        break;
      case 'SUCCESS': {
        const body = notification(update, at);
        if (Buffer.byteLength(body, 'utf8') < payloadBytesMax) notified.push(body);
        else stored.push(update);
        break;
      }
      case 'PENDING':
      case 'RECEIVED':
      case 'STARTED':
      case 'RETRY':
        break;
    }
  }
  return { stored, notified };
}
