import { validateAccount } from './account-rules';
import { assert, LedgerAssertionError } from './assert';
import { ChangeJournal, type LedgerChanges, type TransferBatchOutcome } from './changes';
import { AMOUNT_MAX, normalizeCurrency } from './currency';
import type {
  Account,
  AccountBalances,
  AccountInput,
  PendingStatus,
  Transfer,
  TransferInput,
} from './model';
import { isSuccess, type AccountResult, type TransferResult } from './results';
import { validateTransfer, type LedgerView } from './transfer-rules';

type NewAccount = Omit<Account, keyof AccountBalances>;

interface Applied {
  transfer: Transfer;
  touched: string[];
}

const BALANCE_FIELDS: readonly (keyof AccountBalances)[] = [
  'debitsPending',
  'debitsPosted',
  'creditsPending',
  'creditsPosted',
];

/**
 * The reference ledger: TigerBeetle's model of accounts, immutable transfers,
 * two-phase pending/post/void and linked chains, with no I/O.
 *
 * It serves two ways. Whole, in memory, it is the model the tests hold everything to.
 * Hydrated, it is the rule engine of the ledger service: for each batch the service
 * loads into a fresh Ledger the rows the batch can read, runs createTransfersDetailed,
 * and writes back what it reports (ledger.hydration.spec.ts plays this against the
 * whole ledger). The rows a batch of transfers can read:
 * - every account a transfer names as debit or credit (loadAccount);
 * - every stored transfer whose id is a transfer's id or pending id (loadTransfer),
 *   with its status if it is pending, and then both of its accounts too.
 * Expiry reads the pending transfers past their timeout and their accounts; creating
 * accounts reads the accounts of the ids asked for. A row missing from a hydrated
 * ledger is, to the rules, a row that does not exist.
 */
export class Ledger implements LedgerView {
  readonly accounts = new Map<string, Account>();
  readonly transfers = new Map<string, Transfer>();
  readonly pendingStatus = new Map<string, PendingStatus>();
  private readonly journal = new ChangeJournal();

  /**
   * Adds a new account with zero balances, outside the change journal (fixtures and
   * tests). The account must be valid and new: anything else is a programming error.
   */
  addAccount(account: NewAccount): void {
    const validated = validateAccount(account, this.accounts.get(account.id));
    if ('result' in validated) {
      throw new LedgerAssertionError(`account ${account.id} refused: ${validated.result}`);
    }
    this.loadAccount(validated.account);
  }

  /**
   * Creates accounts with zero balances; one result per input. An id that exists with
   * the same fields is `exists`; with other fields, the result names the first that differs.
   */
  createAccounts(inputs: readonly AccountInput[]): AccountResult[] {
    return inputs.map((input) => {
      const validated = validateAccount(input, this.accounts.get(input.id));
      if ('result' in validated) return validated.result;
      this.accounts.set(validated.account.id, validated.account);
      this.journal.accountCreated(validated.account);
      return 'ok';
    });
  }

  /**
   * Hydrates an account as stored, balances included (a copy is kept). Not a change: the
   * journal does not list it.
   */
  loadAccount(account: Account): void {
    assert(account.id.length > 0, 'an account has an id');
    assert(!this.accounts.has(account.id), `account ${account.id} is loaded once`);
    assert(normalizeCurrency(account.currency) === account.currency, 'a stored currency');
    for (const field of BALANCE_FIELDS) {
      assert(account[field] >= 0n, `account ${account.id}: ${field} is never negative`);
      assert(account[field] <= AMOUNT_MAX, `account ${account.id}: ${field} fits a bigint`);
    }
    this.accounts.set(account.id, { ...account, flags: { ...account.flags } });
  }

  /**
   * Hydrates a stored transfer: one whose id a batch repeats, or a pending transfer a
   * batch resolves (then also load both its accounts). `status` is given exactly for
   * pending transfers. Balances are not changed: the loaded accounts already hold them.
   */
  loadTransfer(transfer: Transfer, status?: PendingStatus): void {
    assert(transfer.id.length > 0, 'a transfer has an id');
    assert(!this.transfers.has(transfer.id), `transfer ${transfer.id} is loaded once`);
    assert(transfer.amount > 0n, 'a stored amount is positive');
    if (transfer.flags.pending) {
      assert(status !== undefined, `pending transfer ${transfer.id} is loaded with its status`);
      this.pendingStatus.set(transfer.id, status);
    } else {
      assert(status === undefined, `only a pending transfer has a status (${transfer.id})`);
    }
    this.transfers.set(transfer.id, { ...transfer, flags: { ...transfer.flags } });
  }

  /** Applies a batch; one result per transfer. A linked chain applies whole or not at all. */
  createTransfers(batch: readonly TransferInput[], nowS: number): TransferResult[] {
    const results: TransferResult[] = [];
    let chainStart = 0;
    while (chainStart < batch.length) {
      let chainEnd = chainStart;
      while (chainEnd < batch.length - 1 && batch[chainEnd]?.flags?.linked === true) chainEnd += 1;
      const chain = batch.slice(chainStart, chainEnd + 1);
      results.push(...this.applyChain(chain, nowS));
      chainStart = chainEnd + 1;
    }
    assert(results.length === batch.length, 'one result per transfer');
    return results;
  }

  /**
   * createTransfers with exactly the changes the batch made (see LedgerChanges). The
   * journal must be empty before: changes left undrained would otherwise go unwritten.
   */
  createTransfersDetailed(batch: readonly TransferInput[], nowS: number): TransferBatchOutcome {
    assert(this.journal.isEmpty, 'drain the changes before a detailed batch');
    const results = this.createTransfers(batch, nowS);
    return { results, ...this.journal.drain() };
  }

  /** Hands over every change since the last drain (see LedgerChanges) and forgets them. */
  drainChanges(): LedgerChanges {
    return this.journal.drain();
  }

  /** Releases pending transfers whose timeout has passed; returns their ids. */
  expirePendings(nowS: number): string[] {
    const expired: string[] = [];
    for (const [id, status] of this.pendingStatus) {
      const pending = this.transfers.get(id);
      assert(pending !== undefined, 'a pending status belongs to a transfer');
      if (status !== 'pending' || pending.timeoutS === 0) continue;
      if (nowS < pending.timestampS + pending.timeoutS) continue;
      const debit = this.accounts.get(pending.debitAccountId);
      const credit = this.accounts.get(pending.creditAccountId);
      assert(debit !== undefined, 'load the accounts of a pending transfer');
      assert(credit !== undefined, 'load the accounts of a pending transfer');
      debit.debitsPending -= pending.amount;
      credit.creditsPending -= pending.amount;
      assert(debit.debitsPending >= 0n, 'pending balances never go negative');
      assert(credit.creditsPending >= 0n, 'pending balances never go negative');
      this.pendingStatus.set(id, 'expired');
      this.journal.pendingExpired(pending);
      expired.push(id);
    }
    return expired;
  }

  private applyChain(chain: readonly TransferInput[], nowS: number): TransferResult[] {
    const last = chain[chain.length - 1];
    assert(last !== undefined, 'a chain is never empty');
    if (last.flags?.linked === true) {
      return chain.map((_t, i) =>
        i === chain.length - 1 ? 'linked_event_chain_open' : 'linked_event_failed',
      );
    }
    const undo: (() => void)[] = [];
    const applied: Applied[] = [];
    const results: TransferResult[] = [];
    for (const [index, input] of chain.entries()) {
      const validated = validateTransfer(this, input, nowS);
      if ('result' in validated && !isSuccess(validated.result)) {
        for (const step of undo.reverse()) step();
        return chain.map((_t, i) => (i === index ? validated.result : 'linked_event_failed'));
      }
      if ('transfer' in validated) {
        undo.push(this.apply(validated.transfer, validated.deltas));
        applied.push({ transfer: validated.transfer, touched: [...validated.deltas.keys()] });
        results.push('ok');
      } else {
        results.push(validated.result);
      }
    }
    // Only a chain that stands is journaled, so a rolled-back chain leaves no trace.
    for (const { transfer, touched } of applied) this.journal.transferCreated(transfer, touched);
    return results;
  }

  /** Applies a validated transfer; returns how to take it back (within its chain). */
  private apply(transfer: Transfer, deltas: Map<string, AccountBalances>): () => void {
    const change = (sign: bigint): void => {
      for (const [accountId, delta] of deltas) {
        const account = this.accounts.get(accountId);
        assert(account !== undefined, 'a validated transfer names existing accounts');
        for (const field of BALANCE_FIELDS) account[field] += sign * delta[field];
        assert(account.debitsPending >= 0n, 'pending balances never go negative');
        assert(account.creditsPending >= 0n, 'pending balances never go negative');
      }
    };
    change(1n);
    this.transfers.set(transfer.id, transfer);
    const resolved = transfer.pendingId;
    const status: PendingStatus | null = transfer.flags.postPending
      ? 'posted'
      : transfer.flags.voidPending
        ? 'voided'
        : null;
    if (transfer.flags.pending) this.pendingStatus.set(transfer.id, 'pending');
    if (resolved !== null && status !== null) this.pendingStatus.set(resolved, status);
    return () => {
      change(-1n);
      this.transfers.delete(transfer.id);
      if (transfer.flags.pending) this.pendingStatus.delete(transfer.id);
      if (resolved !== null && status !== null) this.pendingStatus.set(resolved, 'pending');
    };
  }
}
