import { Logger } from '@nestjs/common';
import { Client } from 'pg';

/** The advisory-lock class of scheduler groups (the first key), so no other lock collides. */
const BEAT_LOCK_CLASS = 0x0bea7;
const STATEMENT_TIMEOUT_MS = 5_000;
const KEEPALIVE_IDLE_S = 5;
const KEEPALIVE_INTERVAL_S = 2;
const KEEPALIVE_COUNT = 3;
/** How long the server may keep a vanished leader's session (and its locks). */
export const KEEPALIVE_BOUND_S = KEEPALIVE_IDLE_S + KEEPALIVE_INTERVAL_S * KEEPALIVE_COUNT;

/**
 * Which scheduler groups this process leads: one PostgreSQL session-level advisory lock
 * per group, held on a connection of its own.
 *
 * Why an advisory lock rather than a lease row: PostgreSQL releases it the moment the
 * holder's session ends, with no clock and no renewal to get wrong. A leader killed by
 * SIGKILL (or OOM) loses its socket, the server ends the session at once, and a standby
 * takes the lock at its next poll (`leaderPollMs`). A leader whose host vanishes is
 * dropped by the server's TCP keepalive, which this session sets to notice within
 * KEEPALIVE_BOUND_S; the standby takes over at its next poll after that. A lease would
 * have to be renewed faster than it expires and would still trust clocks. (The lock
 * needs a direct session: a transaction-pooling proxy would hand it to other clients.)
 *
 * Leadership only saves work: a slot is sent by whoever claims its row, so even two
 * processes that both believe they lead cannot send a slot twice.
 */
export class BeatLeadership {
  private readonly logger = new Logger('Beat');
  private client: Client | null = null;
  private readonly led = new Set<string>();

  constructor(
    private readonly databaseUrl: string,
    private readonly identity: string,
  ) {}

  /** The groups this process leads now. */
  leads(group: string): boolean {
    return this.led.has(group);
  }

  /**
   * Makes sure the session is alive (dropping every lead if it is not) and tries to take
   * the lead of each group not led yet. Returns the groups newly led.
   */
  async poll(groups: readonly string[]): Promise<string[]> {
    const client = await this.session();
    if (!client) return [];
    const taken: string[] = [];
    try {
      // Also a liveness check of the session for the groups already led.
      const rows = (
        await client.query<{ grp: string; locked: boolean }>(
          `SELECT g AS grp, CASE WHEN g = ANY($3::text[]) THEN true
                                   ELSE pg_try_advisory_lock($1, hashtext($2 || g)) END AS locked
             FROM unnest($4::text[]) AS g`,
          [BEAT_LOCK_CLASS, 'clearline.beat:', [...this.led], groups],
        )
      ).rows;
      for (const row of rows) {
        if (row.locked && !this.led.has(row.grp)) {
          this.led.add(row.grp);
          taken.push(row.grp);
        }
      }
    } catch (error) {
      this.lose(`leader session check failed: ${String(error)}`);
    }
    return taken;
  }

  private async session(): Promise<Client | null> {
    if (this.client) return this.client;
    const client = new Client({
      connectionString: this.databaseUrl,
      application_name: `clearline-beat ${this.identity}`.slice(0, 63),
      keepAlive: true,
      statement_timeout: STATEMENT_TIMEOUT_MS,
      query_timeout: STATEMENT_TIMEOUT_MS,
      connectionTimeoutMillis: STATEMENT_TIMEOUT_MS,
    });
    client.on('error', (error) => this.lose(`leader session lost: ${error.message}`));
    try {
      await client.connect();
      // The server notices a vanished leader host within idle + interval x count seconds.
      await client.query(
        `SET tcp_keepalives_idle = ${KEEPALIVE_IDLE_S}; SET tcp_keepalives_interval = ${KEEPALIVE_INTERVAL_S};
         SET tcp_keepalives_count = ${KEEPALIVE_COUNT}`,
      );
    } catch (error) {
      this.logger.warn(`scheduler cannot reach PostgreSQL: ${String(error)}`);
      void client.end().catch(() => undefined);
      return null;
    }
    this.client = client;
    return client;
  }

  /** Gives up every lead: the session is gone or suspect, so are its locks. */
  private lose(reason: string): void {
    if (this.led.size > 0)
      this.logger.warn(`${reason}; no longer leading ${[...this.led].join(', ')}`);
    this.led.clear();
    const client = this.client;
    this.client = null;
    if (client) void client.end().catch(() => undefined);
  }

  /** Ends the session: its locks are released and a standby takes over at its next poll. */
  async close(): Promise<void> {
    this.led.clear();
    const client = this.client;
    this.client = null;
    if (client) await client.end().catch(() => undefined);
  }
}
