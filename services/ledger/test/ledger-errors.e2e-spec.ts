/**
 * The ledger retries only what is transient. A database fault (a CHECK violation)
 * dead-letters a `ledger.create_transfers` task after one attempt, with the reason, and
 * applies nothing; a lock timeout is retried and the task then applies; a transfer two
 * replicas write at once is a lost race (`TransfersCreatedConcurrently`): the loser is
 * retried and answers `exists` instead of being dead-lettered.
 *
 * How: real RabbitMQ and PostgreSQL, the file's own vhost and database. The fault is a
 * CHECK constraint the test adds for the occasion (`NOT VALID`, dropped afterwards), which
 * a transfer of 13 breaks. The lock timeout: the ledger's connections carry
 * `lock_timeout` (in DATABASE_URL) and the test holds a lock on the account the transfer
 * credits until it has seen the task recorded RETRY, then lets go. The race: two ledger
 * replicas (one in this process, one a process of its own) with a prefetch of 1, so
 * each holds one of two tasks carrying the same transfer; the test holds one of its
 * accounts locked until both batches have read the transfers and wait for their locks,
 * then lets go: the first commits, the second finds the id taken on insert.
 */
import { LEDGER_TASK, type CreateTransfersResult, type TransferWire } from '@clearline/contracts';
import { Client } from 'pg';
import {
  eventually,
  isolatedInfrastructure,
  SERVICE_START_TIMEOUT_MS,
  startServiceOnFreePort,
  type IsolatedInfrastructure,
  type ServiceProcess,
  type TaskApp,
} from '@clearline/testing';
import { balances, createAccounts, ledgerCheck, startLedger } from './ledger-harness';

/** How long a ledger statement waits for a lock before PostgreSQL cancels it (55P03). */
const LOCK_TIMEOUT_MS = 1_000;

function withLockTimeout(databaseUrl: string, timeoutMs: number): string {
  const url = new URL(databaseUrl);
  url.searchParams.set('options', `-c lock_timeout=${timeoutMs}`);
  return url.toString();
}

/** Sessions of this database waiting for a lock held by another. */
async function lockWaiters(db: Client): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE datname = current_database() AND wait_event_type = 'Lock'`,
  );
  return rows[0]?.n ?? 0;
}

let seq = 0;
const next = (prefix: string): string => `${prefix}_${(seq += 1)}`;

describe('ledger task errors', () => {
  let infra: IsolatedInfrastructure;
  let ledger: TaskApp;
  let db: Client;

  const transfer = (amount: number): TransferWire => ({
    id: next('err'),
    debit_account_id: 'err:a',
    credit_account_id: 'err:b',
    amount,
    currency: 'USD',
    code: 2,
  });
  const stored = async (id: string): Promise<number> => {
    const { rows } = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ledger_transfers WHERE id = $1`,
      [id],
    );
    return rows[0]?.n ?? 0;
  };

  beforeAll(async () => {
    infra = await isolatedInfrastructure();
    ledger = await startLedger(infra, {
      DATABASE_URL: withLockTimeout(infra.databaseUrl, LOCK_TIMEOUT_MS),
    });
    db = new Client({ connectionString: infra.databaseUrl });
    await db.connect();
    const accounts = ['err:a', 'err:b'].map((id) => ({
      id,
      currency: 'USD',
      code: 400,
      owner: 'errors-test',
    }));
    expect(await createAccounts(ledger, accounts)).toEqual(['ok', 'ok']);
  });

  afterEach(async () => {
    const check = await ledgerCheck(ledger);
    expect(check.violations).toEqual([]);
  });

  afterAll(async () => {
    // Each may be missing when beforeAll failed half-way.
    await (db as Client | undefined)?.end();
    await (ledger as TaskApp | undefined)?.close();
    await (infra as IsolatedInfrastructure | undefined)?.destroy();
  });

  it('dead-letters a task that breaks a CHECK after one attempt, with the reason, and applies nothing', async () => {
    const before = await balances(ledger, 'err:b');
    await db.query(
      `ALTER TABLE ledger_transfers ADD CONSTRAINT errors_test_amount_not_13 CHECK (amount <> 13) NOT VALID`,
    );
    try {
      const bad = transfer(13);
      const handle = await ledger.client.send(LEDGER_TASK.createTransfers, { transfers: [bad] });
      const record = await handle.settled();
      expect(record).toMatchObject({ state: 'FAILURE', retries: 0, errorType: 'QueryFailedError' });
      expect(record.errorMessage).toMatch(/violates check constraint "errors_test_amount_not_13"/);
      const dead = await eventually(
        async () =>
          (await ledger.deadLetters.list({ queue: 'ledger' })).find((d) => d.id === handle.id),
        { what: 'the task in the dead-letter queue' },
      );
      expect(dead).toMatchObject({ reason: 'failed', errorType: 'QueryFailedError' });
      expect(await stored(bad.id)).toBe(0);
      expect(await balances(ledger, 'err:b')).toEqual(before);
    } finally {
      await db.query(`ALTER TABLE ledger_transfers DROP CONSTRAINT errors_test_amount_not_13`);
    }
  });

  it('retries a task whose statement timed out waiting for a lock, and applies it once the lock is free', async () => {
    const t = transfer(7);
    await db.query('BEGIN');
    let rolledBack = false;
    try {
      await db.query(`SELECT id FROM ledger_accounts WHERE id = 'err:b' FOR UPDATE`);
      const handle = await ledger.client.send<CreateTransfersResult>(LEDGER_TASK.createTransfers, {
        transfers: [t],
      });
      // The lock is held until the first attempt has failed on it, so this is certain.
      const retry = await eventually(
        async () => {
          const record = await handle.state();
          return record?.state === 'RETRY' ? record : undefined;
        },
        { what: 'the task recorded RETRY after a lock timeout' },
      );
      expect(retry).toMatchObject({ retries: 0, errorType: 'QueryFailedError' });
      expect(retry.errorMessage).toMatch(/lock timeout/);
      expect(await stored(t.id)).toBe(0);
      await db.query('ROLLBACK');
      rolledBack = true;

      expect((await handle.result()).results).toEqual(['ok']);
      const done = await handle.state();
      expect(done?.state).toBe('SUCCESS');
      expect(done?.retries).toBeGreaterThanOrEqual(1);
      expect(await stored(t.id)).toBe(1);
    } finally {
      if (!rolledBack) await db.query('ROLLBACK');
    }
  });
});

describe('the same transfer written by two ledger replicas at once', () => {
  let infra: IsolatedInfrastructure;
  let ledger: TaskApp;
  let replica: ServiceProcess | undefined;
  let db: Client;

  beforeAll(async () => {
    infra = await isolatedInfrastructure();
    const [inProcess, other] = await Promise.allSettled([
      startLedger(infra, { TASK_PREFETCH: '1' }),
      startServiceOnFreePort('ledger', { ...infra.env, TASK_PREFETCH: '1' }),
    ]);
    if (inProcess.status === 'fulfilled') ledger = inProcess.value;
    if (other.status === 'fulfilled') replica = other.value;
    if (inProcess.status === 'rejected') throw inProcess.reason;
    if (other.status === 'rejected') throw other.reason;
    db = new Client({ connectionString: infra.databaseUrl });
    await db.connect();
    const accounts = ['race:a', 'race:b'].map((id) => ({
      id,
      currency: 'EUR',
      code: 400,
      owner: 'race-test',
    }));
    expect(await createAccounts(ledger, accounts)).toEqual(['ok', 'ok']);
  }, SERVICE_START_TIMEOUT_MS);

  afterAll(async () => {
    await (db as Client | undefined)?.end();
    await replica?.stop();
    await (ledger as TaskApp | undefined)?.close();
    await (infra as IsolatedInfrastructure | undefined)?.destroy();
  });

  it('retries the replica that lost the race, which answers exists; nothing is dead-lettered', async () => {
    const t: TransferWire = {
      id: 'race_1',
      debit_account_id: 'race:a',
      credit_account_id: 'race:b',
      amount: 250,
      currency: 'EUR',
      code: 2,
    };
    await db.query('BEGIN');
    let committed = false;
    try {
      // Both batches lock race:a then race:b (sorted): the first waits here on race:b,
      // the second on race:a behind the first. Both read the transfers before locking.
      await db.query(`SELECT id FROM ledger_accounts WHERE id = 'race:b' FOR UPDATE`);
      const first = await ledger.client.send<CreateTransfersResult>(LEDGER_TASK.createTransfers, {
        transfers: [t],
      });
      await eventually(async () => (await lockWaiters(db)) >= 1, {
        what: 'the first batch waiting for race:b',
      });
      // The replica holding the first task has no prefetch left: the other takes this one.
      const second = await ledger.client.send<CreateTransfersResult>(LEDGER_TASK.createTransfers, {
        transfers: [t],
      });
      await eventually(async () => (await lockWaiters(db)) >= 2, {
        what: 'the second batch waiting behind the first',
      });
      await db.query('COMMIT');
      committed = true;

      const results = await Promise.all([first.result(), second.result()]);
      expect(results.map((r) => r.results[0]).sort()).toEqual(['exists', 'ok']);
      const records = await Promise.all([first.state(), second.state()]);
      expect(records.map((r) => r?.state)).toEqual(['SUCCESS', 'SUCCESS']);
      expect(records.map((r) => r?.retries).sort()).toEqual([0, 1]);
      const dead = await ledger.deadLetters.list({ queue: 'ledger' });
      expect(dead.filter((d) => d.id === first.id || d.id === second.id)).toEqual([]);
      expect(await balances(ledger, 'race:b')).toMatchObject({ cpo: '250' });
      expect((await ledgerCheck(ledger)).violations).toEqual([]);
    } finally {
      if (!committed) await db.query('ROLLBACK');
    }
  });
});
