/**
 * Outbox rows wake only the relays of the sender they name: a relay can send only its
 * own sender's rows (and rows that name none), so waking every service's relay on every
 * insert made each of them run a transaction to find nothing (measured: more than a
 * third of all statements of a payment at 100/s).
 *
 * How: the test's own connection LISTENs on the shared channel and on two senders'
 * channels, and commits outbox rows the way services do (`OutboxStatement` with its
 * `notifyAfter`), as sender A, as sender B and as no sender; each insert must notify its
 * sender's channel and no other. Then a relay of sender A whose timer would not sweep for
 * a minute: a row of A's must be published (only the wake-up can have sent it), and rows
 * of B's must not wake it at all.
 *
 * A writer that publishes its own rows right after the commit (`CommittedOutbox`, as the
 * gateway does for a payment's authorize task) wakes no relay: its row is published and
 * marked sent by one statement, in no transaction; the relay leaves the row to its writer
 * for the grace (`OUTBOX_WRITER_GRACE_MS`) and sends it after, if the writer died; a
 * publish that fails hands the row to the relay at once. A process whose publisher waits
 * longer for confirms keeps its rows twice that deadline.
 */
import type { Options } from 'amqplib';
import { Client, type Notification } from 'pg';
import { DataSource } from 'typeorm';
import {
  eventually,
  holdsFor,
  isolatedInfrastructure,
  startTaskApp,
  type IsolatedInfrastructure,
} from '@clearline/testing';
import type { Publisher } from '../src/broker/publisher';
import { CommittedOutbox } from '../src/outbox/committed-outbox';
import { OutboxRelay } from '../src/outbox/outbox-relay';
import {
  OUTBOX_CHANNEL,
  outboxChannel,
  outboxSender,
  OutboxStatement,
} from '../src/outbox/task-outbox';

const SENDER_A = 'clearline_outbox_test_a';
const SENDER_B = 'clearline_outbox_test_b';
/** Longer than the test: only a notification can make the relay look. */
const SWEEP_NEVER_MS = 600_000;
/** How long the test watches for a wake-up that must not happen. */
const QUIET_MS = 500;

describe('outbox wake-up channels', () => {
  let infra: IsolatedInfrastructure;
  let db: Client;
  let dataSource: DataSource;
  const heard: Notification[] = [];
  const senderBefore = outboxSender.user;

  beforeAll(async () => {
    infra = await isolatedInfrastructure();
    db = new Client({ connectionString: infra.databaseUrl });
    await db.connect();
    db.on('notification', (message) => heard.push(message));
    for (const channel of [OUTBOX_CHANNEL, outboxChannel(SENDER_A), outboxChannel(SENDER_B)]) {
      await db.query(`LISTEN ${db.escapeIdentifier(channel)}`);
    }
    dataSource = new DataSource({ type: 'postgres', url: infra.databaseUrl });
    await dataSource.initialize();
  });

  afterAll(async () => {
    outboxSender.user = senderBefore;
    await dataSource.destroy();
    await db.end();
    await infra.destroy();
  });

  /** Commits one outbox row as `sender`, as a service's statement does; its task id. */
  const insertAs = async (sender: string): Promise<string> => {
    outboxSender.user = sender;
    const outbox = OutboxStatement.of([{ task: 'gateway.ping', payload: {} }], {
      firstParameter: 1,
    });
    await dataSource.query(
      `WITH queued AS (${outbox.insert(outbox.rows('o'))}) SELECT ${outbox.notifyAfter('queued')}`,
      outbox.parameters,
    );
    const [taskId] = outbox.taskIds;
    if (taskId === undefined) throw new Error('no task id');
    return taskId;
  };

  /** The channels notified after `insert`, once its notification has arrived. */
  const channelsOf = async (insert: () => Promise<unknown>): Promise<string[]> => {
    heard.length = 0;
    await insert();
    await eventually(() => heard.length > 0, { what: 'a notification' });
    // A marker on the test's own channel: notifications arrive in commit order, so any
    // other notification of the insert has arrived once the marker has.
    await db.query(`SELECT pg_notify($1, 'marker')`, [OUTBOX_CHANNEL]);
    await eventually(() => heard.some((m) => m.payload === 'marker'), { what: 'the marker' });
    return heard.filter((m) => m.payload !== 'marker').map((m) => m.channel);
  };

  it("notifies only the channel of the rows' sender", async () => {
    expect(outboxChannel(SENDER_A)).not.toBe(outboxChannel(SENDER_B));
    await expect(channelsOf(() => insertAs(SENDER_A))).resolves.toEqual([outboxChannel(SENDER_A)]);
    await expect(channelsOf(() => insertAs(SENDER_B))).resolves.toEqual([outboxChannel(SENDER_B)]);
  });

  it('notifies the shared channel for rows that name no sender', async () => {
    expect(outboxChannel('')).toBe(OUTBOX_CHANNEL);
    await expect(channelsOf(() => insertAs(''))).resolves.toEqual([OUTBOX_CHANNEL]);
  });

  it('uses the shared channel for a sender whose channel would be too long', () => {
    expect(outboxChannel('x'.repeat(64))).toBe(OUTBOX_CHANNEL);
  });

  it("wakes a relay for its own sender's rows and not for another sender's", async () => {
    const published: string[] = [];
    const publisher = {
      user: SENDER_A,
      publish: (
        _exchange: string,
        _routingKey: string,
        _body: Buffer,
        properties: Options.Publish,
      ) => {
        published.push(String(properties.messageId));
        return Promise.resolve();
      },
    } as unknown as Publisher;
    const relay = new OutboxRelay(dataSource, publisher, {
      databaseUrl: infra.databaseUrl,
      pollIntervalMs: SWEEP_NEVER_MS,
    });
    // Rows left by the tests above are swept by the start's first pass; start afresh.
    await dataSource.query(`DELETE FROM task_outbox`);
    // Resolves once the relay listens.
    await relay.start();
    try {
      const kick = jest.spyOn(relay, 'kick');
      await insertAs(SENDER_B);
      await insertAs(SENDER_B);
      await holdsFor(() => kick.mock.calls.length === 0, {
        durationMs: QUIET_MS,
        what: "the relay of A not woken by B's rows",
      });
      const taskId = await insertAs(SENDER_A);
      await eventually(() => published.includes(taskId), {
        what: "A's row published by the wake-up",
      });
      expect(published).toEqual([taskId]);
    } finally {
      await relay.stop();
    }
  });

  describe('rows their writer sends after the commit', () => {
    /** Commits one row as sender A for its writer to send, with no wake-up; its statement. */
    const commitSilently = async (): Promise<OutboxStatement> => {
      outboxSender.user = SENDER_A;
      const outbox = OutboxStatement.of([{ task: 'gateway.ping', payload: {} }], {
        firstParameter: 1,
        sentBy: 'writer',
      });
      await dataSource.query(outbox.insert(outbox.rows('o')), outbox.parameters);
      return outbox;
    };
    const rowOf = async (
      outbox: OutboxStatement,
    ): Promise<{ sent_at: Date | null; relay_ready: boolean }> => {
      const rows: { sent_at: Date | null; relay_ready: boolean }[] = await dataSource.query(
        `SELECT sent_at, relay_after <= now() AS relay_ready FROM task_outbox WHERE task_id = $1`,
        [outbox.taskIds[0]],
      );
      const row = rows[0];
      if (!row) throw new Error(`no outbox row for ${String(outbox.taskIds[0])}`);
      return row;
    };
    const recordingPublisher = (published: string[], fail = false): Publisher =>
      ({
        user: SENDER_A,
        publish: (_e: string, _r: string, _b: Buffer, properties: Options.Publish) => {
          if (fail) return Promise.reject(new Error('broker away'));
          published.push(String(properties.messageId));
          return Promise.resolve();
        },
      }) as unknown as Publisher;
    /** One relay pass of sender A (its timer never sweeps; no wake-up comes): what it sent. */
    const relayPass = async (): Promise<string[]> => {
      const published: string[] = [];
      const relay = new OutboxRelay(dataSource, recordingPublisher(published), {
        databaseUrl: infra.databaseUrl,
        pollIntervalMs: SWEEP_NEVER_MS,
      });
      // start() runs a first pass; stop() waits for it.
      await relay.start();
      await relay.stop();
      return published;
    };

    it('publishes a committed row and marks it sent, notifying nobody', async () => {
      const published: string[] = [];
      const committed = new CommittedOutbox(dataSource, recordingPublisher(published));
      heard.length = 0;
      const outbox = await commitSilently();
      committed.sendCommitted(outbox);
      await committed.drain();
      expect(published).toEqual(outbox.taskIds);
      expect((await rowOf(outbox)).sent_at).not.toBeNull();
      // A marker: had the insert notified anyone, it would have arrived before it.
      await db.query(`SELECT pg_notify($1, 'marker')`, [OUTBOX_CHANNEL]);
      await eventually(() => heard.some((m) => m.payload === 'marker'), { what: 'the marker' });
      expect(heard.filter((m) => m.payload !== 'marker')).toEqual([]);
    });

    it('marks the rows of writers that commit together in one statement, in no transaction', async () => {
      const published: string[] = [];
      const committed = new CommittedOutbox(dataSource, recordingPublisher(published));
      const outboxes: OutboxStatement[] = [];
      for (let i = 0; i < 20; i += 1) outboxes.push(await commitSilently());
      const transactions = jest.spyOn(dataSource, 'transaction');
      const queries = jest.spyOn(dataSource, 'query');
      try {
        for (const outbox of outboxes) committed.sendCommitted(outbox);
        await committed.drain();
        expect(transactions).not.toHaveBeenCalled();
        expect(queries).toHaveBeenCalledTimes(1);
      } finally {
        transactions.mockRestore();
        queries.mockRestore();
      }
      expect(published.sort()).toEqual(outboxes.flatMap((outbox) => outbox.taskIds).sort());
      for (const outbox of outboxes) expect((await rowOf(outbox)).sent_at).not.toBeNull();
    });

    it('refuses rows the relay sends: they would go out twice', () => {
      const committed = new CommittedOutbox(dataSource, recordingPublisher([]));
      const outbox = OutboxStatement.of([{ task: 'gateway.ping', payload: {} }], {
        firstParameter: 1,
      });
      expect(() => committed.sendCommitted(outbox)).toThrow(/sentBy relay/);
    });

    it("leaves a writer's row to its writer for the grace, then the relay sends it", async () => {
      await dataSource.query(`DELETE FROM task_outbox`);
      const outbox = await commitSilently();
      // Its writer died before publishing: within the grace no relay touches the row…
      expect(await relayPass()).toEqual([]);
      expect(await rowOf(outbox)).toEqual({ sent_at: null, relay_ready: false });
      // …and once the grace has passed (moved into the past here), the relay's sweep sends it.
      await dataSource.query(
        `UPDATE task_outbox SET relay_after = now() - interval '1 second' WHERE task_id = $1`,
        [outbox.taskIds[0]],
      );
      expect(await relayPass()).toEqual(outbox.taskIds);
      expect((await rowOf(outbox)).sent_at).not.toBeNull();
    });

    it('hands a row it could not publish to the relay at once, waking its relays', async () => {
      await dataSource.query(`DELETE FROM task_outbox`);
      const committed = new CommittedOutbox(dataSource, recordingPublisher([], true));
      const outbox = await commitSilently();
      heard.length = 0;
      committed.sendCommitted(outbox);
      await committed.drain();
      expect(await rowOf(outbox)).toEqual({ sent_at: null, relay_ready: true });
      await eventually(() => heard.some((m) => m.channel === outboxChannel(SENDER_A)), {
        what: "the wake-up of sender A's relays",
      });
      expect(await relayPass()).toEqual(outbox.taskIds);
    });

    it('keeps the rows of a process whose confirm deadline is long for twice that deadline', async () => {
      const grace = outboxSender.writerGraceMs;
      const app = await startTaskApp({ infra, env: { TASK_CONFIRM_TIMEOUT_MS: '30000' } });
      try {
        expect(outboxSender.writerGraceMs).toBe(60_000);
        const outbox = await commitSilently();
        const [row] = await dataSource.query<{ kept_s: number }[]>(
          `SELECT extract(epoch FROM relay_after - now())::float8 AS kept_s
             FROM task_outbox WHERE task_id = $1`,
          [outbox.taskIds[0]],
        );
        // Twice the 30 s deadline, less the moments since the insert.
        expect(row?.kept_s).toBeGreaterThan(50);
        expect(row?.kept_s).toBeLessThanOrEqual(60);
      } finally {
        await app.close();
        outboxSender.writerGraceMs = grace;
      }
    });
  });
});
