import type { Account, AccountBalances, PendingStatus, Transfer } from './model';

export interface CurrencyTotals {
  currency: string;
  debits: bigint;
  credits: bigint;
}

export interface LedgerCheck {
  balanced: boolean;
  currencies: CurrencyTotals[];
  violations: string[];
}

type Balances = AccountBalances;

function empty(): Balances {
  return { debitsPending: 0n, debitsPosted: 0n, creditsPending: 0n, creditsPosted: 0n };
}

/** Each account's balances as its transfers say they must be. */
export function balancesFromTransfers(
  transfers: Iterable<Transfer>,
  pendingStatus: ReadonlyMap<string, PendingStatus>,
): Map<string, Balances> {
  const balances = new Map<string, Balances>();
  const of = (id: string): Balances => {
    const found = balances.get(id);
    if (found) return found;
    const created = empty();
    balances.set(id, created);
    return created;
  };
  for (const t of transfers) {
    const debit = of(t.debitAccountId);
    const credit = of(t.creditAccountId);
    if (t.flags.pending) {
      if (pendingStatus.get(t.id) === 'pending') {
        debit.debitsPending += t.amount;
        credit.creditsPending += t.amount;
      }
    } else if (!t.flags.voidPending) {
      debit.debitsPosted += t.amount;
      credit.creditsPosted += t.amount;
    }
  }
  return balances;
}

/** Transfers whose currency is not that of an account they name. */
function currencyViolations(
  accounts: readonly Account[],
  transfers: readonly Transfer[],
): string[] {
  const currencies = new Map(accounts.map((a) => [a.id, a.currency]));
  const violations: string[] = [];
  for (const t of transfers) {
    for (const accountId of [t.debitAccountId, t.creditAccountId]) {
      const currency = currencies.get(accountId);
      if (currency !== undefined && currency !== t.currency) {
        violations.push(`transfer ${t.id}: ${t.currency} but account ${accountId} is ${currency}`);
      }
    }
  }
  return violations;
}

/**
 * Every invariant of the ledger, over all of it: per currency debits equal credits
 * (posted and pending), each account's stored balances equal the sum of its
 * transfers, every transfer is in its accounts' currency, and no balance flag is
 * violated.
 */
export function checkLedger(
  accountRows: Iterable<Account>,
  transferRows: Iterable<Transfer>,
  pendingStatus: ReadonlyMap<string, PendingStatus>,
): LedgerCheck {
  // Iterables may be one-shot (Map.values()); each is read twice.
  const accounts = [...accountRows];
  const transfers = [...transferRows];
  const violations = currencyViolations(accounts, transfers);
  const totals = new Map<
    string,
    { debits: bigint; credits: bigint; debitsPending: bigint; creditsPending: bigint }
  >();
  const expected = balancesFromTransfers(transfers, pendingStatus);
  for (const a of accounts) {
    const total = totals.get(a.currency) ?? {
      debits: 0n,
      credits: 0n,
      debitsPending: 0n,
      creditsPending: 0n,
    };
    total.debits += a.debitsPosted;
    total.credits += a.creditsPosted;
    total.debitsPending += a.debitsPending;
    total.creditsPending += a.creditsPending;
    totals.set(a.currency, total);
    const want = expected.get(a.id) ?? empty();
    for (const field of [
      'debitsPending',
      'debitsPosted',
      'creditsPending',
      'creditsPosted',
    ] as const) {
      if (a[field] !== want[field]) {
        violations.push(
          `account ${a.id}: ${field} is ${a[field]} but its transfers sum to ${want[field]}`,
        );
      }
    }
    if (a.flags.debitsMustNotExceedCredits && a.debitsPending + a.debitsPosted > a.creditsPosted) {
      violations.push(`account ${a.id}: debits exceed credits`);
    }
    if (a.flags.creditsMustNotExceedDebits && a.creditsPending + a.creditsPosted > a.debitsPosted) {
      violations.push(`account ${a.id}: credits exceed debits`);
    }
  }
  for (const [currency, t] of totals) {
    if (t.debits !== t.credits)
      violations.push(`${currency}: posted debits ${t.debits} != credits ${t.credits}`);
    if (t.debitsPending !== t.creditsPending) {
      violations.push(
        `${currency}: pending debits ${t.debitsPending} != credits ${t.creditsPending}`,
      );
    }
  }
  const currencies = [...totals]
    .map(([currency, t]) => ({ currency, debits: t.debits, credits: t.credits }))
    .sort((a, b) => a.currency.localeCompare(b.currency));
  return { balanced: violations.length === 0, currencies, violations };
}
