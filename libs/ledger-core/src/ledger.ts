import { assert } from './assert';
import { AMOUNT_MAX } from './currency';
import {
  noFlags,
  type Account,
  type PendingStatus,
  type Transfer,
  type TransferFlags,
  type TransferInput,
  type TransferResult,
} from './model';

/** The balance changes of one applied transfer, per account. */
interface BalanceDelta {
  debitsPending: bigint;
  debitsPosted: bigint;
  creditsPending: bigint;
  creditsPosted: bigint;
}

type Validated =
  { result: TransferResult } | { transfer: Transfer; deltas: Map<string, BalanceDelta> };

const ZERO: BalanceDelta = {
  debitsPending: 0n,
  debitsPosted: 0n,
  creditsPending: 0n,
  creditsPosted: 0n,
};

function flagsOf(input: TransferInput): TransferFlags {
  return { ...noFlags(), ...input.flags };
}

function sameFlags(a: TransferFlags, b: TransferFlags): boolean {
  return (
    a.pending === b.pending &&
    a.postPending === b.postPending &&
    a.voidPending === b.voidPending &&
    a.linked === b.linked
  );
}

function addDelta(
  deltas: Map<string, BalanceDelta>,
  accountId: string,
  change: Partial<BalanceDelta>,
): void {
  const current = deltas.get(accountId) ?? { ...ZERO };
  deltas.set(accountId, {
    debitsPending: current.debitsPending + (change.debitsPending ?? 0n),
    debitsPosted: current.debitsPosted + (change.debitsPosted ?? 0n),
    creditsPending: current.creditsPending + (change.creditsPending ?? 0n),
    creditsPosted: current.creditsPosted + (change.creditsPosted ?? 0n),
  });
}

/**
 * The reference ledger: TigerBeetle's model of accounts, immutable transfers,
 * two-phase pending/post/void and linked chains, with no I/O. The database
 * implementation applies the same rules with set-based statements; tests hold the
 * two to the same outcomes.
 */
export class Ledger {
  readonly accounts = new Map<string, Account>();
  readonly transfers = new Map<string, Transfer>();
  readonly pendingStatus = new Map<string, PendingStatus>();

  addAccount(
    account: Omit<Account, 'debitsPending' | 'debitsPosted' | 'creditsPending' | 'creditsPosted'>,
  ): void {
    assert(!this.accounts.has(account.id), `account ${account.id} exists`);
    this.accounts.set(account.id, {
      ...account,
      debitsPending: 0n,
      debitsPosted: 0n,
      creditsPending: 0n,
      creditsPosted: 0n,
    });
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

  private applyChain(chain: readonly TransferInput[], nowS: number): TransferResult[] {
    const last = chain[chain.length - 1];
    assert(last !== undefined, 'a chain is never empty');
    if (flagsOf(last).linked) {
      return chain.map((_t, i) =>
        i === chain.length - 1 ? 'linked_event_chain_open' : 'linked_event_failed',
      );
    }
    const undo: (() => void)[] = [];
    const results: TransferResult[] = [];
    for (const [index, input] of chain.entries()) {
      const validated = this.validate(input, nowS);
      if ('result' in validated && validated.result !== 'ok' && validated.result !== 'exists') {
        for (const step of undo.reverse()) step();
        return chain.map((_t, i) => (i === index ? validated.result : 'linked_event_failed'));
      }
      if ('transfer' in validated) {
        undo.push(this.apply(validated.transfer, validated.deltas));
        results.push('ok');
      } else {
        results.push(validated.result);
      }
    }
    return results;
  }

  /** Applies a validated transfer; returns how to take it back (within its chain). */
  private apply(transfer: Transfer, deltas: Map<string, BalanceDelta>): () => void {
    const change = (sign: bigint): void => {
      for (const [accountId, delta] of deltas) {
        const account = this.accounts.get(accountId);
        assert(account !== undefined, 'a validated transfer names existing accounts');
        account.debitsPending += sign * delta.debitsPending;
        account.debitsPosted += sign * delta.debitsPosted;
        account.creditsPending += sign * delta.creditsPending;
        account.creditsPosted += sign * delta.creditsPosted;
        assert(
          account.debitsPending >= 0n && account.creditsPending >= 0n,
          'pending balances never go negative',
        );
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

  /** Releases pending transfers whose timeout has passed; returns their ids. */
  expirePendings(nowS: number): string[] {
    const expired: string[] = [];
    for (const [id, status] of this.pendingStatus) {
      const pending = this.transfers.get(id);
      assert(pending !== undefined, 'a pending status belongs to a transfer');
      if (
        status !== 'pending' ||
        pending.timeoutS === 0 ||
        nowS < pending.timestampS + pending.timeoutS
      )
        continue;
      const debit = this.accounts.get(pending.debitAccountId);
      const credit = this.accounts.get(pending.creditAccountId);
      assert(
        debit !== undefined && credit !== undefined,
        'a pending transfer names existing accounts',
      );
      debit.debitsPending -= pending.amount;
      credit.creditsPending -= pending.amount;
      this.pendingStatus.set(id, 'expired');
      expired.push(id);
    }
    return expired;
  }

  private validate(input: TransferInput, nowS: number): Validated {
    const flags = flagsOf(input);
    if (input.id.length === 0) return { result: 'id_must_not_be_empty' };
    if ([flags.pending, flags.postPending, flags.voidPending].filter(Boolean).length > 1) {
      return { result: 'flags_are_mutually_exclusive' };
    }
    const existing = this.transfers.get(input.id);
    if (existing) return { result: this.compareExisting(existing, input, flags) };
    return flags.postPending || flags.voidPending
      ? this.validateResolve(input, flags, nowS)
      : this.validatePlain(input, flags, nowS);
  }

  private compareExisting(
    existing: Transfer,
    input: TransferInput,
    flags: TransferFlags,
  ): TransferResult {
    if (!sameFlags(existing.flags, flags)) return 'exists_with_different_flags';
    if (input.debitAccountId !== undefined && input.debitAccountId !== existing.debitAccountId) {
      return 'exists_with_different_debit_account_id';
    }
    if (input.creditAccountId !== undefined && input.creditAccountId !== existing.creditAccountId) {
      return 'exists_with_different_credit_account_id';
    }
    if (input.amount !== undefined && input.amount !== existing.amount)
      return 'exists_with_different_amount';
    if ((input.pendingId ?? null) !== existing.pendingId) return 'exists_with_different_pending_id';
    if (input.code !== existing.code) return 'exists_with_different_code';
    if ((input.timeoutS ?? 0) !== existing.timeoutS) return 'exists_with_different_timeout';
    return 'exists';
  }

  private validatePlain(input: TransferInput, flags: TransferFlags, nowS: number): Validated {
    if (input.pendingId !== undefined) return { result: 'pending_id_must_be_empty' };
    if ((input.timeoutS ?? 0) !== 0 && !flags.pending)
      return { result: 'timeout_reserved_for_pending_transfer' };
    if (input.debitAccountId === undefined) return { result: 'debit_account_id_required' };
    if (input.creditAccountId === undefined) return { result: 'credit_account_id_required' };
    if (input.amount === undefined || input.amount <= 0n)
      return { result: 'amount_must_be_positive' };
    if (input.amount > AMOUNT_MAX) return { result: 'amount_exceeds_maximum' };
    if (input.debitAccountId === input.creditAccountId)
      return { result: 'accounts_must_be_different' };
    const debit = this.accounts.get(input.debitAccountId);
    const credit = this.accounts.get(input.creditAccountId);
    if (!debit) return { result: 'debit_account_not_found' };
    if (!credit) return { result: 'credit_account_not_found' };
    if (debit.currency !== credit.currency)
      return { result: 'accounts_must_have_the_same_currency' };
    const amount = input.amount;
    const field = flags.pending ? 'Pending' : 'Posted';
    const deltas = new Map<string, BalanceDelta>();
    addDelta(deltas, debit.id, { [`debits${field}`]: amount });
    addDelta(deltas, credit.id, { [`credits${field}`]: amount });
    const refused = this.checkBalances(debit, credit, amount);
    if (refused) return { result: refused };
    return {
      transfer: {
        id: input.id,
        debitAccountId: debit.id,
        creditAccountId: credit.id,
        amount,
        currency: debit.currency,
        code: input.code,
        flags,
        pendingId: null,
        timeoutS: input.timeoutS ?? 0,
        timestampS: nowS,
      },
      deltas,
    };
  }

  private checkBalances(debit: Account, credit: Account, amount: bigint): TransferResult | null {
    const debits = debit.debitsPending + debit.debitsPosted + amount;
    const credits = credit.creditsPending + credit.creditsPosted + amount;
    if (debits > AMOUNT_MAX || credits > AMOUNT_MAX) return 'overflows_balance';
    if (debit.flags.debitsMustNotExceedCredits && debits > debit.creditsPosted)
      return 'exceeds_credits';
    if (credit.flags.creditsMustNotExceedDebits && credits > credit.debitsPosted)
      return 'exceeds_debits';
    return null;
  }

  private validateResolve(input: TransferInput, flags: TransferFlags, nowS: number): Validated {
    if (input.pendingId === undefined) return { result: 'pending_id_required' };
    if (input.pendingId === input.id) return { result: 'pending_id_must_be_different' };
    if ((input.timeoutS ?? 0) !== 0) return { result: 'timeout_reserved_for_pending_transfer' };
    const pending = this.transfers.get(input.pendingId);
    if (!pending) return { result: 'pending_transfer_not_found' };
    if (!pending.flags.pending) return { result: 'pending_transfer_not_pending' };
    if (input.debitAccountId !== undefined && input.debitAccountId !== pending.debitAccountId) {
      return { result: 'pending_transfer_has_different_debit_account_id' };
    }
    if (input.creditAccountId !== undefined && input.creditAccountId !== pending.creditAccountId) {
      return { result: 'pending_transfer_has_different_credit_account_id' };
    }
    const amount = input.amount ?? pending.amount;
    if (amount <= 0n) return { result: 'amount_must_be_positive' };
    if (flags.voidPending && amount !== pending.amount)
      return { result: 'pending_transfer_has_different_amount' };
    if (amount > pending.amount) return { result: 'exceeds_pending_transfer_amount' };
    const status = this.pendingStatus.get(pending.id);
    if (status === 'posted') return { result: 'pending_transfer_already_posted' };
    if (status === 'voided') return { result: 'pending_transfer_already_voided' };
    if (
      status === 'expired' ||
      (pending.timeoutS > 0 && nowS >= pending.timestampS + pending.timeoutS)
    ) {
      return { result: 'pending_transfer_expired' };
    }
    // The whole reservation is released; a post then books what was captured (partial capture).
    const deltas = new Map<string, BalanceDelta>();
    addDelta(deltas, pending.debitAccountId, {
      debitsPending: -pending.amount,
      debitsPosted: flags.postPending ? amount : 0n,
    });
    addDelta(deltas, pending.creditAccountId, {
      creditsPending: -pending.amount,
      creditsPosted: flags.postPending ? amount : 0n,
    });
    return {
      transfer: {
        id: input.id,
        debitAccountId: pending.debitAccountId,
        creditAccountId: pending.creditAccountId,
        amount,
        currency: pending.currency,
        code: input.code,
        flags,
        pendingId: pending.id,
        timeoutS: 0,
        timestampS: nowS,
      },
      deltas,
    };
  }
}
