/**
 * Exactly once under a crash: the ledger worker is killed with SIGKILL in the middle of
 * applying 10,000 transfers, then started again. Every transfer must be applied exactly
 * once (none lost, none twice) and the ledger must balance.
 *
 * How: the ledger service runs as its own process (`services/ledger/src/main.ts`), on
 * this file's vhost and database, with a prefetch of 4 tasks. The test sends ten
 * `ledger.create_transfers` tasks of 1,000 transfers each; the first four touch only
 * ordinary accounts, the last six also a "gate" account the test holds locked. So,
 * however fast the machine, the first batch commits and a later batch is left waiting
 * on the gate inside its transaction: the test waits for both, kills the process there,
 * checks that work was indeed cut off, releases the gate, restarts the ledger and waits
 * for every task. Then each account's balances must equal the sum of the transfers sent
 * to it, the transfer table must hold exactly the 10,000 ids, and the invariant report
 * must be clean.
 */
import {
  LEDGER_TASK,
  type CreateTransfersResult,
  type LedgerCheckResult,
  type TransferWire,
} from '@clearline/contracts';
import { Client } from 'pg';
import {
  eventually,
  isolatedInfrastructure,
  SERVICE_START_TIMEOUT_MS,
  startServiceOnFreePort,
  startTaskApp,
  type IsolatedInfrastructure,
  type ServiceProcess,
  type TaskApp,
} from '@clearline/testing';

const ACCOUNTS = 50;
const TASKS = 10;
const PER_TASK = 1_000;
/** The ledger's prefetch: its first batch can hold no task past this many. */
const PREFETCH = 4;
/** The account the test holds locked: tasks from PREFETCH on debit it once each. */
const GATE = 'crash:gate';

function transfers(task: number): TransferWire[] {
  return Array.from({ length: PER_TASK }, (_v, i) => {
    const n = task * PER_TASK + i;
    return {
      id: `crash_${n}`,
      debit_account_id: task >= PREFETCH && i === 0 ? GATE : `crash:${n % ACCOUNTS}`,
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
    startServiceOnFreePort('ledger', { ...infra.env, TASK_PREFETCH: String(PREFETCH) });
  const committed = async (): Promise<number> => {
    const [{ n }] = await producer.db.query<[{ n: number }]>(
      `SELECT count(*)::int AS n FROM ledger_transfers WHERE id LIKE 'crash_%'`,
    );
    return n;
  };

  beforeAll(async () => {
    infra = await isolatedInfrastructure();
    // The producer sends as the gateway: only the services its contract names may move money.
    [producer, ledger] = await Promise.all([startTaskApp({ infra, service: 'gateway' }), start()]);
    const accounts = [...Array.from({ length: ACCOUNTS }, (_v, i) => `crash:${i}`), GATE].map(
      (id) => ({ id, currency: 'EUR', code: 400, owner: 'crash-test' }),
    );
    await (await producer.client.send(LEDGER_TASK.createAccounts, { accounts })).result();
  }, SERVICE_START_TIMEOUT_MS);

  afterAll(async () => {
    await ledger?.stop();
    await producer.close();
    await infra.destroy();
  });

  it(
    'applies each of 10,000 transfers exactly once across a SIGKILL and a restart',
    async () => {
      const all = Array.from({ length: TASKS }, (_v, t) => transfers(t));
      const gate = new Client({ connectionString: infra.databaseUrl });
      await gate.connect();
      try {
        await gate.query('BEGIN');
        await gate.query(`SELECT id FROM ledger_accounts WHERE id = $1 FOR UPDATE`, [GATE]);
        // In order, so the ledger's first PREFETCH deliveries are the tasks the gate does not hold.
        const handles = [];
        for (const batch of all) {
          handles.push(
            await producer.client.send<CreateTransfersResult>(LEDGER_TASK.createTransfers, {
              transfers: batch,
            }),
          );
        }
        await eventually(
          async () => {
            const [{ waiting }] = await producer.db.query<[{ waiting: number }]>(
              `SELECT count(*)::int AS waiting FROM pg_stat_activity
              WHERE datname = current_database() AND wait_event_type = 'Lock'`,
            );
            return waiting > 0 && (await committed()) > 0;
          },
          { what: 'a committed batch, and a batch waiting at the gate inside its transaction' },
        );
        await ledger?.kill();
        const atKill = await committed();
        expect(atKill).toBeGreaterThan(0);
        // Only the tasks the gate does not hold can have committed.
        expect(atKill).toBeLessThanOrEqual(PREFETCH * PER_TASK);
        // The killed ledger's transaction never commits: it ends when it finds its client gone.
        await gate.query('ROLLBACK');

        ledger = await start();
        await checkEveryTransferOnce(all, handles);
      } finally {
        await gate.end();
      }
    },
    SERVICE_START_TIMEOUT_MS,
  );

  async function checkEveryTransferOnce(
    all: TransferWire[][],
    handles: { result(options: { timeoutMs: number }): Promise<CreateTransfersResult> }[],
  ): Promise<void> {
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
      await producer.db.query(
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
  }
});
