import { Logger } from '@nestjs/common';
import type { Options } from 'amqplib';
import { Client } from 'pg';
import type { DataSource } from 'typeorm';
import type { Publisher } from '../broker/publisher';
import { OUTBOX_CHANNEL } from './task-outbox';

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
 * It wakes on the notification an insert commits with, and sweeps on a timer for
 * anything left after a crash between commit and publish. Rows are claimed with
 * `FOR UPDATE SKIP LOCKED`, so several relays (one per replica) share the work
 * without publishing a row twice while both are alive.
 */
export class OutboxRelay {
  private readonly logger = new Logger(OutboxRelay.name);
  private listener: Client | null = null;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  private lastCleanupMs = 0;

  constructor(
    private readonly dataSource: DataSource,
    private readonly publisher: Publisher,
    private readonly options: OutboxRelayOptions,
  ) {}

  async start(): Promise<void> {
    await this.listen();
    this.timer = setInterval(() => this.kick(), this.options.pollIntervalMs ?? 1_000);
    this.timer.unref();
    this.kick();
  }

  private async listen(): Promise<void> {
    const client = new Client({
      connectionString: this.options.databaseUrl,
      application_name: 'clearline-outbox',
    });
    client.on('notification', () => this.kick());
    client.on('error', (error) => {
      this.logger.warn(`outbox listener lost: ${error.message}; the timer keeps sweeping`);
      this.listener = null;
      void client.end().catch(() => undefined);
      if (!this.stopped) setTimeout(() => void this.listen().catch(() => undefined), 1_000).unref();
    });
    await client.connect();
    await client.query(`LISTEN ${OUTBOX_CHANNEL}`);
    this.listener = client;
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
          // A full batch: there may be more.
        }
        await this.cleanup();
      } catch (error) {
        this.logger.warn(`outbox relay pass failed: ${String(error)}`);
      }
    } while (this.takeAgain() && !this.stopped);
  }

  /** Publishes one batch; returns how many rows it claimed. */
  private async relayBatch(): Promise<number> {
    return this.dataSource.transaction('READ COMMITTED', async (manager) => {
      const rows: OutboxRow[] = await manager.query(
        `SELECT id, exchange, routing_key, body, properties FROM task_outbox
          WHERE sent_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`,
        [this.options.batchSizeMax ?? 500],
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
      for (const row of failed) {
        const outcome = outcomes[rows.indexOf(row)];
        const reason = outcome?.status === 'rejected' ? String(outcome.reason) : 'unknown';
        this.logger.error(`outbox row ${row.id} to ${row.routing_key} not published: ${reason}`);
        await manager.query(
          `UPDATE task_outbox SET attempts = attempts + 1, last_error = $2 WHERE id = $1`,
          [row.id, reason],
        );
      }
      return rows.length;
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
    if (this.timer) clearInterval(this.timer);
    await this.running;
    const listener = this.listener;
    this.listener = null;
    if (listener) await listener.end().catch(() => undefined);
  }
}
