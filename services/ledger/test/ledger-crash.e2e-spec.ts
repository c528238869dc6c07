/**
 * Exactly once under a crash: the ledger worker is killed with SIGKILL in the middle of
 * applying 10,000 transfers, then started again. Every transfer must be applied exactly
 * once (none lost, none twice) and the ledger must balance.
 *
 * How: the ledger service runs as its own process (`services/ledger/src/main.ts`), on
 * this file's vhost and database. The test sends ten `ledger.create_transfers` tasks of
 * 1,000 transfers each, waits until some (not all) transfers are committed, kills the
 * process, checks that work was indeed cut off, restarts it, and waits for every task.
 * Then each account's balances must equal the sum of the transfers sent to it, the
 * transfer table must hold exactly the 10,000 ids, and the invariant report must be clean.
 */
import {
  LEDGER_TASK,
  type CreateTransfersResult,
  type LedgerCheckResult,
  type TransferWire,
} from '@clearline/contracts';
import {
  eventually,
  isolatedInfrastructure,
  startService,
  startTaskApp,
  type IsolatedInfrastructure,
  type ServiceProcess,
  type TaskApp,
} from '@clearline/testing';

const ACCOUNTS = 50;
const TASKS = 10;
const PER_TASK = 1_000;
const port = 40_000 + Math.floor(Math.random() * 10_000);

function transfers(task: number): TransferWire[] {
  return Array.from({ length: PER_TASK }, (_v, i) => {
    const n = task * PER_TASK + i;
    return {
      id: `crash_${n}`,
      debit_account_id: `crash:${n % ACCOUNTS}`,
      credit_account_id: `crash:${(n * 7 + 1) % ACCOUNTS === n % ACCOUNTS ? (n + 1) % ACCOUNTS : (n * 7 + 1) % ACCOUNTS}`,
      amount: 1 + (n % 97),
      currency: 'EUR',
      code: 2,
    };
  });
}

describe('ledger worker killed mid-batch', () => {
  let infra: IsolatedInfrastructure;
  let producer: TaskApp;
  let ledger: ServiceProcess | null = null;

  const start = (): Promise<ServiceProcess> =>
    startService('ledger', port, { ...infra.env, LEDGER_PORT: String(port), TASK_PREFETCH: '4' });
  const committed = async (): Promise<number> => {
    const [{ n }] = await producer.dataSource.query<[{ n: number }]>(
      `SELECT count(*)::int AS n FROM ledger_transfers WHERE id LIKE 'crash_%'`,
    );
    return n;
  };

  beforeAll(async () => {
    infra = await isolatedInfrastructure();
    producer = await startTaskApp({ infra });
    ledger = await start();
    const accounts = Array.from({ length: ACCOUNTS }, (_v, i) => ({
      id: `crash:${i}`,
      currency: 'EUR',
      code: 400,
      owner: 'crash-test',
    }));
    await (await producer.client.send(LEDGER_TASK.createAccounts, { accounts })).result();
  });

  afterAll(async () => {
    await ledger?.stop();
    await producer.close();
    await infra.destroy();
  });

  it('applies each of 10,000 transfers exactly once across a SIGKILL and a restart', async () => {
    const all = Array.from({ length: TASKS }, (_v, t) => transfers(t));
    const handles = await Promise.all(
      all.map((batch) =>
        producer.client.send<CreateTransfersResult>(LEDGER_TASK.createTransfers, {
          transfers: batch,
        }),
      ),
    );
    await eventually(async () => (await committed()) > 0, { intervalMs: 5, what: 'first commit' });
    await ledger?.kill();
    const atKill = await committed();
    expect(atKill).toBeLessThan(TASKS * PER_TASK);

    ledger = await start();
    const results = await Promise.all(handles.map((h) => h.result({ timeoutMs: 60_000 })));
    for (const r of results) expect(new Set(r.results)).toEqual(new Set(['ok']));
    expect(await committed()).toBe(TASKS * PER_TASK);

    const expected = new Map<string, { debits: bigint; credits: bigint }>();
    for (const t of all.flat()) {
      const debit = expected.get(t.debit_account_id ?? '') ?? { debits: 0n, credits: 0n };
      debit.debits += BigInt(t.amount ?? 0);
      expected.set(t.debit_account_id ?? '', debit);
      const credit = expected.get(t.credit_account_id ?? '') ?? { debits: 0n, credits: 0n };
      credit.credits += BigInt(t.amount ?? 0);
      expected.set(t.credit_account_id ?? '', credit);
    }
    const rows: { id: string; debits_posted: string; credits_posted: string }[] =
      await producer.dataSource.query(
        `SELECT id, debits_posted, credits_posted FROM ledger_accounts WHERE owner = 'crash-test'`,
      );
    for (const row of rows) {
      const want = expected.get(row.id) ?? { debits: 0n, credits: 0n };
      expect({
        id: row.id,
        debits: BigInt(row.debits_posted),
        credits: BigInt(row.credits_posted),
      }).toEqual({ id: row.id, ...want });
    }
    const check = await (
      await producer.client.send<LedgerCheckResult>(LEDGER_TASK.check, {})
    ).result();
    expect(check.violations).toEqual([]);
    expect(check.balanced).toBe(true);
  });
});
