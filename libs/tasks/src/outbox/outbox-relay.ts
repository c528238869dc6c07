import { Logger } from '@nestjs/common';
import type { Options } from 'amqplib';
import { Client } from 'pg';
import type { DataSource } from 'typeorm';
import type { Publisher } from '../broker/publisher';
import { watchOutbox } from './outbox-metrics';
import { OUTBOX_CHANNEL, outboxChannel } from './task-outbox';
import { readCommitted } from '@clearline/persistence';

/** How long opening the LISTEN connection may take; the timer sweeps meanwhile. */
const LISTENER_CONNECT_TIMEOUT_MS = 5_000;
/** The longest wait between attempts to listen again while the database stays away. */
const RELISTEN_DELAY_MS_MAX = 10_000;

/** A publish that failed because the broker was away or slow, not because of the message. */
function isBrokerAway(reason: string | undefined): boolean {
  return (
    reason !== undefined &&
    (reason.startsWith('BrokerUnavailableError') || reason.startsWith('PublishTimeoutError'))
  );
}

interface OutboxRow {
  id: string;
  exchange: string;
  routing_key: string;
  body: Buffer;
  properties: Options.Publish;
}

export interface OutboxRelayOptions {
  databaseUrl: string;
  /** Sweep for rows a crashed relay left behind this often. */
  pollIntervalMs?: number;
  batchSizeMax?: number;
  /** Sent rows are kept this long for audit, then deleted. */
  retentionHours?: number;
}

/**
 * Publishes committed outbox rows, marking each sent only after the broker confirmed it.
 *
 * It wakes on the notification an insert of its own sender's rows commits with (the
 * sender's channel, `outboxChannel`), and sweeps on a timer for
 * anything left after a crash between commit and publish. Rows are claimed with
 * `FOR UPDATE SKIP LOCKED`, so several relays (one per replica) share the work
 * without publishing a row twice while both are alive.
 */
export class OutboxRelay {
  private readonly logger = new Logger(OutboxRelay.name);
  private listener: Client | null = null;
  private timer: NodeJS.Timeout | null = null;
  private relistenTimer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  private lastCleanupMs = 0;
  private unwatch: (() => void) | null = null;

  constructor(
    private readonly dataSource: DataSource,
    private readonly publisher: Publisher,
    private readonly options: OutboxRelayOptions,
  ) {}

  async start(): Promise<void> {
    this.unwatch = watchOutbox(this.dataSource, this.publisher.user);
    await this.listen();
    this.timer = setInterval(() => this.kick(), this.options.pollIntervalMs ?? 1_000);
    this.timer.unref();
    this.kick();
  }

  private async listen(): Promise<void> {
    const client = new Client({
      connectionString: this.options.databaseUrl,
      application_name: 'clearline-outbox',
      // A database that does not answer must not hold the caller: connecting has a deadline.
      connectionTimeoutMillis: LISTENER_CONNECT_TIMEOUT_MS,
      keepAlive: true,
    });
    client.on('notification', () => this.kick());
    client.on('error', (error) => {
      this.logger.warn(`outbox listener lost: ${error.message}; the timer keeps sweeping`);
      this.listener = null;
      void client.end().catch(() => undefined);
      this.relisten(1);
    });
    try {
      await client.connect();
      // Its own sender's channel, and the one of rows that name no sender.
      const channels = new Set([OUTBOX_CHANNEL, outboxChannel(this.publisher.user)]);
      for (const channel of channels)
        await client.query(`LISTEN ${client.escapeIdentifier(channel)}`);
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    // Stopped while connecting: nobody would end this client.
    if (this.stopped) {
      await client.end().catch(() => undefined);
      return;
    }
    this.listener = client;
  }

  /**
   * Listens again after a lost listener, backing off while the database stays away (the
   * timer's sweep keeps relaying meanwhile). The pending attempt is cancelled by `stop`,
   * so nothing runs after the relay is gone.
   */
  private relisten(attempt: number): void {
    if (this.stopped || this.relistenTimer) return;
    const delayMs = Math.min(RELISTEN_DELAY_MS_MAX, 500 * 2 ** (attempt - 1));
    this.relistenTimer = setTimeout(() => {
      this.relistenTimer = null;
      this.listen().catch(() => this.relisten(attempt + 1));
    }, delayMs);
    this.relistenTimer.unref();
  }

  /** Runs a relay pass now, or right after the one in progress. */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.loop().finally(() => {
      this.running = null;
    });
  }

  /** Whether a kick arrived during the pass (and clears it). */
  private takeAgain(): boolean {
    const again = this.again;
    this.again = false;
    return again;
  }

  private async loop(): Promise<void> {
    do {
      try {
        while (!this.stopped && (await this.relayBatch()) === (this.options.batchSizeMax ?? 500)) {
          // A full batch went out: there may be more. Rows that failed wait for the timer,
          // so a batch of unpublishable rows cannot spin this loop.
        }
        await this.cleanup();
      } catch (error) {
        this.logger.warn(`outbox relay pass failed: ${String(error)}`);
      }
    } while (this.takeAgain() && !this.stopped);
  }

  /** Publishes one batch; returns how many rows were sent (rows that failed wait for the next sweep). */
  private async relayBatch(): Promise<number> {
    return readCommitted(this.dataSource, async (manager) => {
      // Sent rows leave dead entries in the partial index of unsent rows until a vacuum.
      // An index scan marks each one dead the first time it meets it, so later passes skip
      // them; a bitmap scan (which the planner picks when few rows are unsent) never does,
      // and revisits every dead row on every pass: ~3 ms for 6,000 of them, on each of the
      // thousands of wake-ups a second under load (measured by bench:settlement).
      await manager.query(`SET LOCAL enable_bitmapscan = off`);
      const rows: OutboxRow[] = await manager.query(
        // Only this process's own rows (and rows that name no sender): the task's user_id
        // must be the service that wrote it. A row its writer sends itself is the writer's
        // until `relay_after` (its writer's grace), or until the writer hands it back.
        `SELECT id, exchange, routing_key, body, properties FROM task_outbox
          WHERE sent_at IS NULL AND sender IN ('', $2) AND relay_after <= now()
          ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`,
        [this.options.batchSizeMax ?? 500, this.publisher.user],
      );
      if (rows.length === 0) return 0;
      const outcomes = await Promise.allSettled(
        rows.map((row) =>
          this.publisher.publish(row.exchange, row.routing_key, row.body, row.properties),
        ),
      );
      const sent = rows
        .filter((_row, i) => outcomes[i]?.status === 'fulfilled')
        .map((row) => row.id);
      const failed = rows.filter((_row, i) => outcomes[i]?.status === 'rejected');
      if (sent.length > 0) {
        await manager.query(
          `UPDATE task_outbox SET sent_at = now(), attempts = attempts + 1 WHERE id = ANY($1::bigint[])`,
          [sent],
        );
      }
      if (failed.length > 0) {
        const reasons = failed.map((row) => {
          const outcome = outcomes[rows.indexOf(row)];
          return outcome?.status === 'rejected' ? String(outcome.reason) : 'unknown';
        });
        // A publish that timed out or found the broker away stays unsent and is tried again
        // on the next pass (the consumer's inbox drops a copy that did arrive). One line
        // per pass then, not one per row: an outage would flood the log.
        const awayReasons = reasons.filter(isBrokerAway);
        if (awayReasons.length > 0) {
          this.logger.warn(
            `${awayReasons.length} outbox rows not published (broker unavailable or no ` +
              `confirm in time), kept for the next pass: ${awayReasons[0] ?? ''}`,
          );
        }
        failed.forEach((row, i) => {
          if (isBrokerAway(reasons[i])) return;
          this.logger.error(
            `outbox row ${row.id} to ${row.routing_key} not published: ${reasons[i] ?? ''}`,
          );
        });
        await manager.query(
          `UPDATE task_outbox AS o SET attempts = o.attempts + 1, last_error = f.reason
             FROM unnest($1::bigint[], $2::text[]) AS f(id, reason) WHERE o.id = f.id`,
          [failed.map((row) => row.id), reasons],
        );
      }
      return sent.length;
    });
  }

  private async cleanup(): Promise<void> {
    const now = Date.now();
    if (now - this.lastCleanupMs < 60_000) return;
    this.lastCleanupMs = now;
    await this.dataSource.query(
      `DELETE FROM task_outbox WHERE sent_at < now() - make_interval(hours => $1)`,
      [this.options.retentionHours ?? 24],
    );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unwatch?.();
    this.unwatch = null;
    if (this.timer) clearInterval(this.timer);
    if (this.relistenTimer) clearTimeout(this.relistenTimer);
    await this.running;
    const listener = this.listener;
    this.listener = null;
    if (listener) await listener.end().catch(() => undefined);
  }
}
