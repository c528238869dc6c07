import {
  managementGet,
  sleep,
  startTaskApp,
  type Platform,
  type TaskApp,
} from '@clearline/testing';
import { call } from './http';
import type { DeadLetterRow, TaskRow } from './model';

/** The sweep task the gateway's scheduler sends every 30 s; chaos sends it more often. */
const RESUME_OPERATIONS_TASK = 'gateway.resume_operations';
const SWEEP_EVERY_MS = 2_000;
const POLL_MS = 1_000;
/**
 * The management API's queue figures are sampled (every 5 s by default): quiet counts
 * only when seen twice this far apart.
 */
const QUIET_CONFIRM_MS = 6_000;
const DEAD_LETTERS_PER_QUEUE_MAX = 100;

export interface InFlight {
  operations: number;
  outbox: number;
  queued: number;
  unfinished: TaskRow[];
  deadLetters: DeadLetterRow[];
}

/** Sends the gateway's sweep as the gateway (the only sender it takes), never consuming. */
export class Sweeper {
  private constructor(private readonly standIn: TaskApp) {}

  static async start(platform: Platform): Promise<Sweeper> {
    return new Sweeper(
      await startTaskApp({
        infra: platform.infra,
        service: 'gateway',
        env: { TASK_LANES: 'none' },
      }),
    );
  }

  async sweep(): Promise<void> {
    await this.standIn.client.send(RESUME_OPERATIONS_TASK, {}).catch(() => undefined);
  }

  close(): Promise<void> {
    return this.standIn.close();
  }
}

async function operationsInFlight(platform: Platform): Promise<number> {
  const gw = platform.gw;
  const answer = await call(gw.baseUrl, 'GET', '/v1/admin/operations?limit=100', gw.adminKey);
  const body = answer.body as { data?: unknown[]; has_more?: boolean };
  if (answer.status !== 200 || !Array.isArray(body.data)) return Number.POSITIVE_INFINITY;
  return body.has_more === true ? body.data.length + 1 : body.data.length;
}

async function queuedMessages(vhost: string): Promise<number> {
  const queues = await managementGet<{ name: string; messages?: number }[]>(
    `/queues/${encodeURIComponent(vhost)}?columns=name,messages`,
  );
  return queues
    .filter((queue) => !queue.name.endsWith('.dead'))
    .reduce((sum, queue) => sum + (queue.messages ?? 0), 0);
}

/** Every work queue's dead letters (up to 100 each), through the operators' API. */
export async function deadLetters(
  platform: Platform,
  queues: readonly string[],
): Promise<DeadLetterRow[]> {
  const gw = platform.gw;
  const all: DeadLetterRow[] = [];
  for (const queue of queues) {
    const answer = await call(
      gw.baseUrl,
      'GET',
      `/v1/admin/dead-letters?queue=${encodeURIComponent(queue)}&limit=${DEAD_LETTERS_PER_QUEUE_MAX}`,
      gw.adminKey,
    );
    const body = answer.body as { data?: DeadLetterRow[] };
    if (answer.status !== 200 || !Array.isArray(body.data)) {
      throw new Error(`dead letters of ${queue}: ${String(answer.status)}`);
    }
    all.push(
      ...body.data.map(({ id, queue: q, task, reason }) => ({ id, queue: q, task, reason })),
    );
  }
  return all;
}

async function unfinishedTasks(platform: Platform): Promise<TaskRow[]> {
  return platform.db.query<TaskRow>(
    `SELECT id, task, state FROM task_results
      WHERE state NOT IN ('SUCCESS', 'FAILURE', 'REVOKED') ORDER BY id`,
  );
}

/** What is in flight right now (unfinished tasks that are dead-lettered do not count). */
export async function inFlight(platform: Platform, queues: readonly string[]): Promise<InFlight> {
  const [operations, [outbox], queued, unfinished] = await Promise.all([
    operationsInFlight(platform),
    platform.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM task_outbox WHERE sent_at IS NULL`,
    ),
    queuedMessages(platform.infra.name),
    unfinishedTasks(platform),
  ]);
  const letters = unfinished.length > 0 ? await deadLetters(platform, queues) : [];
  const dead = new Set(letters.map((letter) => letter.id));
  return {
    operations,
    outbox: outbox?.n ?? 0,
    queued,
    unfinished: unfinished.filter((task) => !dead.has(task.id)),
    deadLetters: letters,
  };
}

function quiet(now: InFlight): boolean {
  return now.operations + now.outbox + now.queued + now.unfinished.length === 0;
}

/**
 * Waits, within `timeoutMs`, until nothing is in flight (no operation, unsent outbox
 * row, queued or delayed message, unfinished task), sending the sweep meanwhile so
 * operations whose outcome stayed unknown are resumed. Returns what was last seen.
 */
export async function untilQuiet(
  platform: Platform,
  sweeper: Sweeper,
  queues: readonly string[],
  timeoutMs: number,
): Promise<InFlight> {
  const deadline = Date.now() + timeoutMs;
  let lastSweep = 0;
  let quietSince: number | null = null;
  for (;;) {
    const now = await inFlight(platform, queues).catch((error: unknown): InFlight => ({
      operations: Number.POSITIVE_INFINITY,
      outbox: 0,
      queued: 0,
      unfinished: [{ id: '?', task: '?', state: String(error) }],
      deadLetters: [],
    }));
    if (now.operations > 0 && Date.now() - lastSweep >= SWEEP_EVERY_MS) {
      await sweeper.sweep();
      lastSweep = Date.now();
    }
    if (!quiet(now)) quietSince = null;
    else if (quietSince === null) quietSince = Date.now();
    else if (Date.now() - quietSince >= QUIET_CONFIRM_MS) return now;
    if (Date.now() > deadline) return now;
    await sleep(POLL_MS);
  }
}
