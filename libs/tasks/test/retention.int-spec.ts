/**
 * Retention of task rows on real PostgreSQL: the sweep deletes finished results older
 * than `resultExpiresMs`, inbox rows older than `inboxExpiresMs` and old schedule slot
 * rows, and nothing else (unfinished results stay, whatever their age); it deletes in
 * bounded batches with a cap per pass; it runs by itself on a beat schedule; and the
 * metrics show the tables' sizes and the rows swept.
 *
 * How: rows are written with SQL and backdated; one sweeper is driven pass by pass to
 * count its batches, then a service with retention on is left to sweep on its schedule
 * while the test watches the rows go. Sizes are read from the process's Prometheus
 * registry, as `/metrics` serves them.
 */
import { register } from 'prom-client';
import {
  eventually,
  isolatedInfrastructure,
  startTaskApp,
  type IsolatedInfrastructure,
  type TaskApp,
} from '@clearline/testing';
import { RetentionSweeper } from '../src/retention/retention-sweeper';

/** Finished results (`n` of them, `age` old), ids `<prefix>-<i>`. */
async function insertResults(
  app: TaskApp,
  prefix: string,
  n: number,
  age: string,
  finished = true,
): Promise<void> {
  await app.dataSource.query(
    `INSERT INTO task_results (id, task, state, created_at, updated_at, date_done)
     SELECT $1 || '-' || i, 'gateway.any', $3, now() - $2::interval, now() - $2::interval,
            CASE WHEN $4 THEN now() - $2::interval END
       FROM generate_series(1, $5::int) AS i`,
    [prefix, age, finished ? 'SUCCESS' : 'STARTED', finished, n],
  );
}

async function insertInbox(app: TaskApp, prefix: string, n: number, age: string): Promise<void> {
  await app.dataSource.query(
    `INSERT INTO task_inbox (task_id, task, processed_at)
     SELECT $1 || '-' || i, 'gateway.any', now() - $2::interval FROM generate_series(1, $3::int) AS i`,
    [prefix, age, n],
  );
}

async function count(app: TaskApp, sql: string, parameters: unknown[] = []): Promise<number> {
  const rows: { n: number }[] = await app.dataSource.query(sql, parameters);
  return rows[0]?.n ?? 0;
}

const byPrefix = (table: 'task_results' | 'task_inbox', column: 'id' | 'task_id') =>
  `SELECT count(*)::int AS n FROM ${table} WHERE ${column} LIKE $1 || '-%'`;

async function sweptTotal(table: string): Promise<number> {
  const metric = await register.getSingleMetric('clearline_task_rows_swept_total')?.get();
  return metric?.values.find((v) => v.labels.table === table)?.value ?? 0;
}

describe('retention of task rows', () => {
  let infra: IsolatedInfrastructure;
  let app: TaskApp;

  beforeAll(async () => {
    infra = await isolatedInfrastructure();
    // Retention off here: the first test drives a sweeper by hand.
    app = await startTaskApp({ infra, service: 'retention-test', tasks: { retention: false } });
  });

  afterAll(async () => {
    await app.close();
    await infra.destroy();
  });

  it('deletes only expired rows, in bounded batches, capped per pass', async () => {
    await insertResults(app, 'old', 500, '2 days');
    await insertResults(app, 'fresh', 20, '1 minute');
    await insertResults(app, 'running', 20, '30 days', false);
    await insertInbox(app, 'old', 300, '8 days');
    await insertInbox(app, 'fresh', 20, '1 hour');
    await app.dataSource.query(
      `INSERT INTO task_schedule_slots (scheduler, schedule, slot, claimed_by)
       SELECT 's', 'x', now() - interval '3 days' - i * interval '1 second', 'test'
         FROM generate_series(1, 30) AS i
       UNION ALL SELECT 's', 'x', now() - i * interval '1 second', 'test' FROM generate_series(1, 5) AS i`,
    );
    const resultsBefore = await sweptTotal('task_results');

    const sweeper = new RetentionSweeper(app.dataSource, { batchSizeMax: 50, rowsPerPassMax: 200 });
    const passes: Awaited<ReturnType<RetentionSweeper['sweep']>>[] = [];
    for (let pass = 0; pass < 4; pass += 1) passes.push(await sweeper.sweep());
    expect(passes.map((p) => p.task_results)).toEqual([
      { rows: 200, batches: 4 },
      { rows: 200, batches: 4 },
      { rows: 100, batches: 3 },
      { rows: 0, batches: 1 },
    ]);
    expect(passes.map((p) => p.task_inbox.rows)).toEqual([200, 100, 0, 0]);
    expect(passes.map((p) => p.task_schedule_slots.rows)).toEqual([30, 0, 0, 0]);

    expect(await count(app, byPrefix('task_results', 'id'), ['old'])).toBe(0);
    expect(await count(app, byPrefix('task_results', 'id'), ['fresh'])).toBe(20);
    // Unfinished results are never swept, however old.
    expect(await count(app, byPrefix('task_results', 'id'), ['running'])).toBe(20);
    expect(await count(app, byPrefix('task_inbox', 'task_id'), ['old'])).toBe(0);
    expect(await count(app, byPrefix('task_inbox', 'task_id'), ['fresh'])).toBe(20);
    expect(await count(app, `SELECT count(*)::int AS n FROM task_schedule_slots`)).toBe(5);
    expect((await sweptTotal('task_results')) - resultsBefore).toBe(500);
  });

  it('finds expired rows through the retention indexes', async () => {
    const plan = async (sql: string): Promise<string> => {
      const runner = app.dataSource.createQueryRunner();
      try {
        await runner.query(`SET enable_seqscan = off`);
        const rows = (await runner.query(`EXPLAIN ${sql}`)) as { 'QUERY PLAN': string }[];
        return rows.map((r) => r['QUERY PLAN']).join('\n');
      } finally {
        await runner.query(`RESET enable_seqscan`);
        await runner.release();
      }
    };
    expect(
      await plan(
        `SELECT id FROM task_results WHERE date_done IS NOT NULL AND date_done < now() ORDER BY date_done LIMIT 10`,
      ),
    ).toMatch(/task_results_date_done_idx/);
    expect(
      await plan(
        `SELECT task_id FROM task_inbox WHERE processed_at < now() ORDER BY processed_at LIMIT 10`,
      ),
    ).toMatch(/task_inbox_processed_at_idx/);
  });

  it('sweeps by itself on its schedule, and the metrics show the table sizes', async () => {
    const sweeping = await startTaskApp({
      infra,
      service: 'retention-beat',
      tasks: {
        retention: { everyMs: 300, resultExpiresMs: 60_000, batchSizeMax: 100 },
        beat: { leaderPollMs: 100 },
      },
    });
    try {
      await insertResults(app, 'stale', 300, '2 minutes');
      await insertResults(app, 'recent', 10, '1 second');
      await insertResults(app, 'unfinished', 5, '30 days', false);
      await eventually(
        async () => (await count(app, byPrefix('task_results', 'id'), ['stale'])) === 0,
        { what: 'the scheduled sweep to delete expired results' },
      );
      expect(await count(app, byPrefix('task_results', 'id'), ['recent'])).toBe(10);
      expect(await count(app, byPrefix('task_results', 'id'), ['unfinished'])).toBe(5);
      expect(
        await count(
          app,
          `SELECT count(*)::int AS n FROM task_schedule_slots WHERE scheduler = 'tasks.retention'`,
        ),
      ).toBeGreaterThan(0);

      await app.dataSource.query(`ANALYZE task_results`);
      const rowsNow = await count(app, `SELECT count(*)::int AS n FROM task_results`);
      const text = await register.metrics();
      const gauge = (name: string): number =>
        Number(new RegExp(`^${name}\\{table="task_results"[^}]*\\} (\\S+)$`, 'm').exec(text)?.[1]);
      expect(gauge('clearline_task_table_rows')).toBe(rowsNow);
      expect(gauge('clearline_task_table_bytes')).toBeGreaterThan(8_192);
      expect(text).toMatch(/^clearline_task_table_rows\{table="task_inbox"[^}]*\} \d+$/m);
      expect(text).toMatch(/^clearline_task_rows_swept_total\{table="task_results"[^}]*\} \d+$/m);
    } finally {
      await sweeping.close();
    }
  });
});
