/**
 * `ResultStatement`: the results of tasks a writer ran in place, written by the writer's
 * own statement. Only the results whose key the statement keeps are written (a payment
 * that did not move records nothing), their outbox rows are marked sent (never
 * published) and the others left to the relay; a SUCCESS already recorded is kept; and
 * waiting callers are notified, as by the result store's upsert.
 *
 * How: a statement shaped like the gateway's settlement (a `moved` CTE of keys, then the
 * part's CTEs and its notify) runs on the test's own database; outbox rows are written
 * `sentBy: 'writer'` first, and the test's connection LISTENs on the results channel.
 */
import { Client, type Notification } from 'pg';
import { DataSource } from 'typeorm';
import {
  eventually,
  isolatedInfrastructure,
  type IsolatedInfrastructure,
} from '@clearline/testing';
import { RESULTS_CHANNEL, ResultStatement, type KeyedResult } from '../src/results/result-store';
import { outboxSender, OutboxStatement } from '../src/outbox/task-outbox';

describe('ResultStatement', () => {
  let infra: IsolatedInfrastructure;
  let dataSource: DataSource;
  let listener: Client;
  const heard: Notification[] = [];

  beforeAll(async () => {
    infra = await isolatedInfrastructure();
    dataSource = new DataSource({ type: 'postgres', url: infra.databaseUrl });
    await dataSource.initialize();
    listener = new Client({ connectionString: infra.databaseUrl });
    await listener.connect();
    listener.on('notification', (message) => heard.push(message));
    await listener.query(`LISTEN ${RESULTS_CHANNEL}`);
  });

  afterAll(async () => {
    await listener.end();
    await dataSource.destroy();
    await infra.destroy();
  });

  const result = (key: string): KeyedResult => ({
    key,
    id: `${key}:work`,
    task: 'gateway.work',
    queue: 'gateway',
    state: 'SUCCESS',
    result: { done: key },
    retries: 0,
    rootId: `${key}:work`,
  });

  /** Writes the keys' outbox rows as their writer's, as the statement that created them would. */
  const writeOutbox = async (keys: string[]): Promise<void> => {
    const outbox = OutboxStatement.of(
      keys.map((key) => ({ task: 'gateway.work', payload: {}, options: { id: `${key}:work` } })),
      { firstParameter: 1, sentBy: 'writer' },
    );
    await dataSource.query(outbox.insert(outbox.rows('o')), outbox.parameters);
  };

  /** Runs the part in a statement that keeps `moved` of the results' keys. */
  const settle = async (results: KeyedResult[], moved: string[]): Promise<void> => {
    const part = ResultStatement.of(results, 2);
    await dataSource.query(
      `WITH moved AS (SELECT unnest($1::text[]) AS key), ${part.ctes('moved')}
       SELECT (SELECT count(*) FROM moved) AS n, ${part.notify()} AS notified`,
      [moved, ...part.parameters],
    );
  };

  const stateOf = async (
    keys: string[],
  ): Promise<{ id: string; state: string | null; sent: boolean }[]> =>
    dataSource.query(
      `SELECT o.task_id AS id, r.state, o.sent_at IS NOT NULL AS sent
         FROM task_outbox o LEFT JOIN task_results r ON r.id = o.task_id
        WHERE o.task_id = ANY($1) ORDER BY o.task_id`,
      [keys.map((key) => `${key}:work`)],
    );

  it('writes the results of the keys the statement keeps, marks their rows sent, and notifies', async () => {
    outboxSender.user = '';
    await writeOutbox(['a1', 'a2']);
    heard.length = 0;
    await settle([result('a1'), result('a2')], ['a1']);
    expect(await stateOf(['a1', 'a2'])).toEqual([
      { id: 'a1:work', state: 'SUCCESS', sent: true },
      // Not moved: nothing recorded, and its row is left for the relay after the grace.
      { id: 'a2:work', state: null, sent: false },
    ]);
    await eventually(() => heard.length > 0, { what: "a1's notification" });
    expect(heard.map((m) => (JSON.parse(m.payload ?? '{}') as { id: string }).id)).toEqual([
      'a1:work',
    ]);
  });

  it('keeps a SUCCESS already recorded by a worker that ran the task as well', async () => {
    outboxSender.user = '';
    await writeOutbox(['b1']);
    await dataSource.query(
      `INSERT INTO task_results (id, task, state, result, retries) VALUES ($1, $2, 'SUCCESS', $3, 1)`,
      ['b1:work', 'gateway.work', JSON.stringify({ by: 'worker' })],
    );
    await settle([result('b1')], ['b1']);
    const rows: { result: unknown; retries: number }[] = await dataSource.query(
      `SELECT result, retries FROM task_results WHERE id = 'b1:work'`,
    );
    expect(rows).toEqual([{ result: { by: 'worker' }, retries: 1 }]);
    expect(await stateOf(['b1'])).toEqual([{ id: 'b1:work', state: 'SUCCESS', sent: true }]);
  });

  it('refuses a result that is not finished', () => {
    expect(() => ResultStatement.of([{ ...result('c1'), state: 'STARTED' }], 1)).toThrow(
      /not a finished, stored result/,
    );
  });
});
