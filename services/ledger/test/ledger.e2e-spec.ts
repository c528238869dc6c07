/**
 * The ledger service through its tasks, on real RabbitMQ and PostgreSQL: accounts,
 * transfers with TigerBeetle's results, two-phase transfers, linked chains, bad input,
 * timeouts, the append-only guarantee and the invariant report.
 *
 * How: the ledger's task handlers run in this process on the file's own vhost and
 * database; every scenario sends `ledger.*` tasks over the broker, reads the results
 * stored in PostgreSQL and the ledger's tables, and ends with the SQL invariant check,
 * which must agree with ledger-core's reference check over the same rows.
 */
import {
  LEDGER_TASK,
  merchantAccountId,
  platformAccountId,
  type BalancesResult,
} from '@clearline/contracts';
import { Client } from 'pg';
import {
  brokerProbe,
  eventually,
  isolatedInfrastructure,
  type IsolatedInfrastructure,
  type TaskApp,
} from '@clearline/testing';
import {
  balances,
  createAccounts,
  createTransfers,
  ledgerCheck,
  referenceCheck,
  startLedger,
} from './ledger-harness';

const M = 'mer_ledger';
const clearing = platformAccountId('clearing', 'USD');
const pending = merchantAccountId(M, 'pending', 'USD');
const available = merchantAccountId(M, 'available', 'USD');

let seq = 0;
const id = (prefix: string): string => `${prefix}_${(seq += 1)}`;

describe('ledger service', () => {
  let infra: IsolatedInfrastructure;
  let ledger: TaskApp;

  beforeAll(async () => {
    infra = await isolatedInfrastructure();
    ledger = await startLedger(infra);
    const opened = await ledger.client.send<{ results: string[] }>(LEDGER_TASK.openMerchant, {
      merchant_id: M,
    });
    expect(new Set((await opened.result()).results)).toEqual(new Set(['ok']));
  });

  afterEach(async () => {
    const check = await ledgerCheck(ledger);
    expect(check.violations).toEqual([]);
    expect(check.balanced).toBe(true);
    const reference = await referenceCheck(ledger);
    expect(reference.balanced).toBe(true);
    expect(check.currencies).toEqual(
      reference.currencies.map((c) => ({
        currency: c.currency,
        debits: c.debits.toString(),
        credits: c.credits.toString(),
      })),
    );
  });

  afterAll(async () => {
    await ledger.close();
    await infra.destroy();
  });

  it('creates platform accounts at start and a merchant’s accounts in every currency', async () => {
    const rows: { owner: string; count: number }[] = await ledger.dataSource.query(
      `SELECT owner, count(*)::int AS count FROM ledger_accounts GROUP BY owner ORDER BY owner`,
    );
    const byOwner = Object.fromEntries(rows.map((r) => [r.owner, r.count]));
    expect(byOwner[M]).toBeGreaterThanOrEqual(3 * 29);
    expect(byOwner['platform']).toBe(byOwner[M]);
    expect(await balances(ledger, merchantAccountId(M, 'available', 'JPY'))).toBeDefined();
  });

  it('opening a merchant twice is idempotent (exists), and account conflicts name the field', async () => {
    const again = await ledger.client.send<{ results: string[] }>(LEDGER_TASK.openMerchant, {
      merchant_id: M,
    });
    expect(new Set((await again.result()).results)).toEqual(new Set(['exists']));
    expect(
      await createAccounts(ledger, [
        { id: available, currency: 'USD', code: 999, owner: M },
        { id: 'acct_eur', currency: 'eur', code: 1, owner: 'x' },
        { id: 'acct_xxx', currency: 'XXX', code: 1, owner: 'x' },
        { id: '', currency: 'USD', code: 1, owner: 'x' },
        {
          id: 'acct_both',
          currency: 'USD',
          code: 1,
          owner: 'x',
          flags: { debits_must_not_exceed_credits: true, credits_must_not_exceed_debits: true },
        },
      ]),
    ).toEqual([
      'exists_with_different_code',
      'ok',
      'currency_not_supported',
      'id_must_not_be_empty',
      'flags_are_mutually_exclusive',
    ]);
    expect(await balances(ledger, 'acct_eur')).toBeDefined();
  });

  it('posts a transfer once: same id and fields is exists, other fields name the difference', async () => {
    const t = {
      id: id('tr'),
      debit_account_id: clearing,
      credit_account_id: pending,
      amount: 1_500,
      currency: 'usd',
      code: 2,
    };
    expect(await createTransfers(ledger, [t])).toEqual(['ok']);
    expect(await createTransfers(ledger, [t, { ...t, amount: '1500' }])).toEqual([
      'exists',
      'exists',
    ]);
    expect(
      await createTransfers(ledger, [
        { ...t, amount: 1_501 },
        { ...t, code: 3 },
      ]),
    ).toEqual(['exists_with_different_amount', 'exists_with_different_code']);
    expect(await balances(ledger, pending)).toMatchObject({ cpo: '1500' });
  });

  it('authorizes, captures part, and releases the rest; a resolved pending cannot resolve again', async () => {
    const before = await balances(ledger, pending);
    const auth = id('auth');
    expect(
      await createTransfers(ledger, [
        {
          id: auth,
          debit_account_id: clearing,
          credit_account_id: pending,
          amount: 10_000,
          currency: 'USD',
          code: 1,
          flags: { pending: true },
        },
      ]),
    ).toEqual(['ok']);
    expect(await balances(ledger, pending)).toMatchObject({ cp: '10000' });
    const capture = {
      id: id('cap'),
      pending_id: auth,
      amount: 7_000,
      code: 2,
      flags: { post_pending: true },
    };
    expect(await createTransfers(ledger, [capture])).toEqual(['ok']);
    const after = await balances(ledger, pending);
    expect(after?.cp).toBe('0');
    expect(BigInt(after?.cpo ?? 0) - BigInt(before?.cpo ?? 0)).toBe(7_000n);
    expect(
      await createTransfers(ledger, [
        { id: id('cap'), pending_id: auth, code: 2, flags: { post_pending: true } },
        { id: id('void'), pending_id: auth, code: 3, flags: { void_pending: true } },
        capture,
      ]),
    ).toEqual(['pending_transfer_already_posted', 'pending_transfer_already_posted', 'exists']);
  });

  it('voids an authorization; a post after the void is refused by name', async () => {
    const auth = id('auth');
    expect(
      await createTransfers(ledger, [
        {
          id: auth,
          debit_account_id: clearing,
          credit_account_id: pending,
          amount: 500,
          currency: 'USD',
          code: 1,
          flags: { pending: true },
        },
        { id: id('void'), pending_id: auth, code: 3, flags: { void_pending: true } },
      ]),
    ).toEqual(['ok', 'ok']);
    expect(
      await createTransfers(ledger, [
        { id: id('cap'), pending_id: auth, code: 2, flags: { post_pending: true } },
      ]),
    ).toEqual(['pending_transfer_already_voided']);
    expect(await balances(ledger, pending)).toMatchObject({ cp: '0' });
  });

  it('gives each bad input its named result and applies nothing of it', async () => {
    const before = await balances(ledger, pending);
    const base = {
      debit_account_id: clearing,
      credit_account_id: pending,
      currency: 'USD',
      code: 2,
    };
    const results = await createTransfers(ledger, [
      { ...base, id: id('bad'), amount: -5 },
      { ...base, id: id('bad'), amount: 0 },
      { ...base, id: id('bad'), amount: 12.5 },
      { ...base, id: id('bad'), amount: '12.50' },
      { ...base, id: id('bad'), amount: '9223372036854775808' },
      { ...base, id: id('bad'), amount: 2 ** 60 },
      { ...base, id: id('bad'), amount: 1, currency: 'XXX' },
      { ...base, id: id('bad'), amount: 1, currency: 'EUR' },
      { ...base, id: id('bad'), amount: 1, debit_account_id: 'nope' },
      {
        ...base,
        id: id('bad'),
        amount: 1,
        credit_account_id: merchantAccountId(M, 'pending', 'EUR'),
      },
      { ...base, id: id('bad'), amount: 1, code: 0 },
      { ...base, id: '', amount: 1 },
      { ...base, id: id('bad'), amount: 1, flags: { pending: 'yes' } } as never,
      { ...base, id: id('bad'), amount: 1, credit_account_id: clearing },
      { ...base, id: id('bad'), amount: 1, debit_account_id: available },
    ]);
    expect(results).toEqual([
      'amount_must_be_positive',
      'amount_must_be_positive',
      'amount_must_be_integer',
      'amount_must_be_integer',
      'amount_exceeds_maximum',
      'amount_is_imprecise',
      'currency_not_supported',
      'transfer_must_have_the_same_currency_as_accounts',
      'debit_account_not_found',
      'accounts_must_have_the_same_currency',
      'code_must_not_be_zero',
      'id_must_not_be_empty',
      'flags_must_be_booleans',
      'accounts_must_be_different',
      'exceeds_credits',
    ]);
    expect(await balances(ledger, pending)).toEqual(before);
  });

  it('dead-letters a malformed task with the reason and applies nothing', async () => {
    const before = await balances(ledger, pending);
    for (const payload of [{ transfers: 'all of them' }, { transfers: [] }, { nope: 1 }]) {
      const handle = await ledger.client.send(LEDGER_TASK.createTransfers, payload);
      const record = await handle.settled();
      expect(record.state).toBe('FAILURE');
      expect(record.errorType).toBe('PayloadValidationError');
      await eventually(
        async () =>
          (await ledger.deadLetters.list({ queue: 'ledger' })).some(
            (d) => d.id === handle.id && d.reason === 'invalid-payload',
          ),
        { what: 'the malformed task in the dead-letter queue' },
      );
    }
    expect(await balances(ledger, pending)).toEqual(before);
  });

  it('applies a linked chain whole or not at all', async () => {
    const before = await balances(ledger, pending);
    const base = {
      debit_account_id: clearing,
      credit_account_id: pending,
      currency: 'USD',
      code: 2,
    };
    expect(
      await createTransfers(ledger, [
        { ...base, id: id('chain'), amount: 100, flags: { linked: true } },
        { ...base, id: id('chain'), amount: 100, flags: { linked: true } },
        { ...base, id: id('chain'), amount: 'x' },
        { ...base, id: id('alone'), amount: 1 },
      ]),
    ).toEqual(['linked_event_failed', 'linked_event_failed', 'amount_must_be_integer', 'ok']);
    expect(BigInt((await balances(ledger, pending))?.cpo ?? 0) - BigInt(before?.cpo ?? 0)).toBe(1n);
  });

  it('expires a pending transfer after its timeout: the reservation is released and it cannot be posted', async () => {
    const auth = id('auth');
    expect(
      await createTransfers(ledger, [
        {
          id: auth,
          debit_account_id: clearing,
          credit_account_id: pending,
          amount: 300,
          currency: 'USD',
          code: 1,
          flags: { pending: true },
          timeout_s: 1,
        },
      ]),
    ).toEqual(['ok']);
    await eventually(
      async () => {
        const rows: { status: string }[] = await ledger.dataSource.query(
          `SELECT status FROM ledger_pending_transfers WHERE id = $1`,
          [auth],
        );
        return rows[0]?.status === 'expired';
      },
      { what: 'the pending transfer to expire' },
    );
    expect(await balances(ledger, pending)).toMatchObject({ cp: '0' });
    expect(
      await createTransfers(ledger, [
        { id: id('cap'), pending_id: auth, code: 2, flags: { post_pending: true } },
      ]),
    ).toEqual(['pending_transfer_expired']);
  });

  it('refuses UPDATE, DELETE and TRUNCATE of transfers, and deleting accounts, in the database itself', async () => {
    const t = id('tr');
    await createTransfers(ledger, [
      {
        id: t,
        debit_account_id: clearing,
        credit_account_id: pending,
        amount: 1,
        currency: 'USD',
        code: 2,
      },
    ]);
    // The ledger's own role may not even try: it has no UPDATE or DELETE on transfers.
    await expect(
      ledger.dataSource.query(`UPDATE ledger_transfers SET amount = 2 WHERE id = $1`, [t]),
    ).rejects.toThrow(/permission denied for table ledger_transfers/);
    await expect(
      ledger.dataSource.query(`DELETE FROM ledger_transfers WHERE id = $1`, [t]),
    ).rejects.toThrow(/permission denied for table ledger_transfers/);
    // And the owner of the tables is stopped by the triggers.
    await expect(
      ledger.db.query(`UPDATE ledger_transfers SET amount = 2 WHERE id = $1`, [t]),
    ).rejects.toThrow(/append-only/);
    await expect(
      ledger.db.query(`DELETE FROM ledger_transfers WHERE id = $1`, [t]),
    ).rejects.toThrow(/append-only/);
    await expect(ledger.db.query(`TRUNCATE ledger_transfers CASCADE`)).rejects.toThrow(
      /append-only/,
    );
    await expect(
      ledger.db.query(`DELETE FROM ledger_accounts WHERE id = $1`, [pending]),
    ).rejects.toThrow(/never deleted/);
    await expect(ledger.db.query(`TRUNCATE ledger_accounts CASCADE`)).rejects.toThrow(
      /never deleted/,
    );
  });

  it('reports a tampered balance as a violation, as the reference check does', async () => {
    await ledger.dataSource.query(
      `UPDATE ledger_accounts SET credits_posted = credits_posted + 1, debits_posted = debits_posted + 1 WHERE id = $1`,
      [pending],
    );
    try {
      const check = await ledgerCheck(ledger);
      const reference = await referenceCheck(ledger);
      expect(check.balanced).toBe(false);
      expect([...check.violations].sort()).toEqual([...reference.violations].sort());
      expect(check.violations).toEqual(
        expect.arrayContaining([
          expect.stringMatching(new RegExp(`account ${pending}: creditsPosted`)),
        ]),
      );
    } finally {
      await ledger.dataSource.query(
        `UPDATE ledger_accounts SET credits_posted = credits_posted - 1, debits_posted = debits_posted - 1 WHERE id = $1`,
        [pending],
      );
    }
  });

  it('applies tasks that arrive together in one batch, each with its own results', async () => {
    // Hold the clearing account (every task debits it) so that, however slow the
    // machine, all 200 tasks are delivered while the first batches wait: they arrive
    // together by construction, not by the luck of timing.
    const gate = new Client({ connectionString: infra.databaseUrl });
    await gate.connect();
    const broker = await brokerProbe(infra);
    let handles;
    try {
      await gate.query('BEGIN');
      await gate.query(`SELECT id FROM ledger_accounts WHERE id = $1 FOR UPDATE`, [clearing]);
      handles = await sendMany();
      await eventually(async () => (await broker.ready('ledger')) === 0, {
        what: 'every task delivered to the ledger',
      });
      await gate.query('COMMIT');
    } finally {
      await gate.end();
      await broker.close();
    }
    const results = await Promise.all(handles.map((h) => h.result()));
    // Group commit: the 200 tasks were applied in far fewer transactions (one time each).
    const [{ batches }] = await ledger.dataSource.query<[{ batches: number }]>(
      `SELECT count(DISTINCT created_at)::int AS batches FROM ledger_transfers WHERE id LIKE 'many_%'`,
    );
    expect(batches).toBeLessThan(50);
    results.forEach((r, i) =>
      expect(r.results).toEqual(i % 10 === 0 ? ['ok', 'debit_account_not_found'] : ['ok']),
    );
  });

  const sendMany = () =>
    Promise.all(
      Array.from({ length: 200 }, (_v, i) =>
        ledger.client.send<{ results: string[] }>(LEDGER_TASK.createTransfers, {
          transfers: [
            {
              id: id('many'),
              debit_account_id: clearing,
              credit_account_id: pending,
              amount: i + 1,
              currency: 'USD',
              code: 2,
            },
            ...(i % 10 === 0
              ? [
                  {
                    id: id('many'),
                    debit_account_id: 'nope',
                    credit_account_id: pending,
                    amount: 1,
                    currency: 'USD',
                    code: 2,
                  },
                ]
              : []),
          ],
        }),
      ),
    );

  it('answers balances, and lookups of accounts and transfers', async () => {
    const balance = await (
      await ledger.client.send<BalancesResult>(LEDGER_TASK.balances, { owner: M })
    ).result();
    expect(balance.pending).toEqual([
      { currency: 'USD', amount: (await balances(ledger, pending))?.cpo },
    ]);
    expect(balance.available).toEqual([]);
    const t = id('tr');
    await createTransfers(ledger, [
      {
        id: t,
        debit_account_id: clearing,
        credit_account_id: pending,
        amount: '42',
        currency: 'USD',
        code: 2,
      },
    ]);
    const [found] = await (
      await ledger.client.send<{ amount: string }[]>(LEDGER_TASK.lookupTransfers, {
        ids: [t, 'missing'],
      })
    ).result();
    expect(found).toMatchObject({ id: t, amount: '42', currency: 'USD' });
    const accounts = await (
      await ledger.client.send<{ id: string }[]>(LEDGER_TASK.lookupAccounts, {
        ids: [pending, 'missing'],
      })
    ).result();
    expect(accounts.map((a) => a.id)).toEqual([pending]);
  });
});
