/**
 * The outbox relay's LISTEN connection comes back after the database was away, however
 * long it stays away, and a stopped relay opens no connection afterwards.
 *
 * How: a service whose whole database traffic goes through a TCP proxy (the test's own
 * outage, nobody else's). The relay's listener shows in `pg_stat_activity` as
 * `clearline-outbox`, seen from the test's own direct connection. The proxy is cut long
 * enough for attempts to listen again to fail (the relay backs off from 0.5 s), then
 * healed: a listener must appear again. Then it is cut again, the service stopped while
 * an attempt is pending, and the proxy healed: no listener may appear.
 */
import { Client } from 'pg';
import {
  eventually,
  holdsFor,
  isolatedInfrastructure,
  sleep,
  startTaskApp,
  tcpProxy,
  throughProxy,
  type IsolatedInfrastructure,
  type TaskApp,
  type TcpProxy,
} from '@clearline/testing';

/** Long enough for the relay's first attempts to listen again to fail against the cut. */
const OUTAGE_MS = 2_500;

describe('outbox relay listener', () => {
  let infra: IsolatedInfrastructure;
  let proxy: TcpProxy;
  let app: TaskApp | null = null;
  let db: Client;

  /** The relay's LISTEN sessions on this file's database. */
  const listeners = async (): Promise<number> => {
    const { rows } = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND application_name = 'clearline-outbox'`,
    );
    return rows[0]?.n ?? 0;
  };

  beforeAll(async () => {
    infra = await isolatedInfrastructure();
    const database = new URL(infra.databaseUrl);
    proxy = await tcpProxy({ host: database.hostname, port: Number(database.port || 5432) });
    db = new Client({ connectionString: infra.databaseUrl });
    await db.connect();
    app = await startTaskApp({
      infra,
      env: { DATABASE_URL: throughProxy(infra.databaseUrl, proxy) },
    });
  });

  afterAll(async () => {
    proxy.heal();
    await app?.close();
    await db.end();
    await proxy.close();
    await infra.destroy();
  });

  it('listens again once the database is back, after failed attempts', async () => {
    await eventually(async () => (await listeners()) === 1, { what: 'the relay to listen' });
    proxy.cut();
    await eventually(async () => (await listeners()) === 0, {
      what: 'the cut listener to be gone',
    });
    // The outage outlasts the first attempts to listen again: they fail, and the relay
    // must keep trying rather than give up after one.
    await sleep(OUTAGE_MS);
    proxy.heal();
    await eventually(async () => (await listeners()) === 1, {
      what: 'the relay to listen again',
    });
  });

  it('opens no connection once stopped, even with an attempt pending', async () => {
    proxy.cut();
    await eventually(async () => (await listeners()) === 0, {
      what: 'the cut listener to be gone',
    });
    const stopped = app;
    app = null;
    await stopped?.close();
    proxy.heal();
    await holdsFor(async () => (await listeners()) === 0, {
      durationMs: OUTAGE_MS,
      what: 'no listener after the relay stopped',
    });
  });
});
