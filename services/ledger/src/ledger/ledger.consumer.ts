import { Controller } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import {
  BalancesPayload,
  CreateAccountsPayload,
  CreateTransfersPayload,
  LEDGER_BATCH_SIZE_MAX,
  LEDGER_SENDERS,
  LEDGER_TASK,
  LookupPayload,
  OpenMerchantPayload,
  type AccountView,
  type BalancesResult,
  type CreateAccountsResult,
  type CreateTransfersResult,
  type LedgerCheckResult,
  type TransferView,
} from '@clearline/contracts';
import { isTransientDatabaseError } from '@clearline/persistence';
import { Task, TaskBatchContext, TaskContext, type TaskHandlerOptions } from '@clearline/tasks';
import { LedgerQueriesService } from './ledger-queries.service';
import { isTransientLedgerError } from './ledger.exception';
import { accountFromWire, createTransfersResults, transferFromWire } from './ledger.mapper';
import { LedgerService } from './ledger.service';

/**
 * The ledger's writes retry only what is transient: a race lost to another transaction
 * (the ledger's own codes whose outcome is `retry`, a serialization failure, a
 * deadlock), a lock or statement timeout, a lost connection. The rerun sees the winner's
 * rows. Anything else — a CHECK violation, a typo in SQL, a broken assertion — is a
 * fault and dead-letters the task at once.
 */
export const LEDGER_WRITE_RETRY = {
  retryOn: [isTransientDatabaseError, isTransientLedgerError],
  retryCountMax: 5,
  retryBackoffMs: 50,
  retryBackoffMaxMs: 2_000,
} as const satisfies TaskHandlerOptions;

/** The ledger's tasks: wire format in, service call, wire format out. */
@Controller()
export class LedgerConsumer {
  constructor(
    private readonly ledger: LedgerService,
    private readonly queries: LedgerQueriesService,
  ) {}

  /**
   * Group commit: every `create_transfers` task that arrives together is applied in one
   * transaction, up to LEDGER_BATCH_SIZE_MAX x 10 transfers, then all are acknowledged.
   */
  @Task(LEDGER_TASK.createTransfers, {
    senders: LEDGER_SENDERS.money,
    payload: CreateTransfersPayload,
    batch: {
      sizeMax: LEDGER_BATCH_SIZE_MAX * 10,
      concurrency: 1,
      weight: (payload) => (payload as CreateTransfersPayload).transfers.length,
    },
    ...LEDGER_WRITE_RETRY,
  })
  async createTransfers(
    @Payload() payloads: CreateTransfersPayload[],
    @Ctx() context: TaskBatchContext,
  ): Promise<CreateTransfersResult[]> {
    return createTransfersResults(
      await this.ledger.createTransfers(
        context.manager,
        payloads.map((p) => p.transfers.map(transferFromWire)),
        new Date(),
      ),
    );
  }

  @Task(LEDGER_TASK.createAccounts, {
    senders: LEDGER_SENDERS.money,
    payload: CreateAccountsPayload,
    transactional: true,
    ...LEDGER_WRITE_RETRY,
  })
  async createAccounts(
    @Payload() payload: CreateAccountsPayload,
    @Ctx() context: TaskContext,
  ): Promise<CreateAccountsResult> {
    return {
      results: await this.ledger.createAccounts(
        context.manager,
        payload.accounts.map(accountFromWire),
      ),
    };
  }

  /** A new merchant's accounts in every currency; sent by the gateway when it creates one. */
  @Task(LEDGER_TASK.openMerchant, {
    senders: LEDGER_SENDERS.openMerchant,
    payload: OpenMerchantPayload,
    transactional: true,
    ...LEDGER_WRITE_RETRY,
  })
  async openMerchant(
    @Payload() payload: OpenMerchantPayload,
    @Ctx() context: TaskContext,
  ): Promise<CreateAccountsResult> {
    return { results: await this.ledger.openMerchant(context.manager, payload.merchant_id) };
  }

  @Task(LEDGER_TASK.lookupAccounts, { senders: LEDGER_SENDERS.money, payload: LookupPayload })
  lookupAccounts(@Payload() payload: LookupPayload): Promise<AccountView[]> {
    return this.queries.lookupAccounts(payload.ids);
  }

  @Task(LEDGER_TASK.lookupTransfers, { senders: LEDGER_SENDERS.money, payload: LookupPayload })
  lookupTransfers(@Payload() payload: LookupPayload): Promise<TransferView[]> {
    return this.queries.lookupTransfers(payload.ids);
  }

  // Pure queries: their callers wait for the answer; a stored row per call would only grow.
  @Task(LEDGER_TASK.balances, {
    senders: LEDGER_SENDERS.money,
    payload: BalancesPayload,
    ignoreResult: true,
  })
  balances(@Payload() payload: BalancesPayload): Promise<BalancesResult> {
    return this.queries.balances(payload.owner, payload.currency);
  }

  @Task(LEDGER_TASK.check, { senders: LEDGER_SENDERS.check, ignoreResult: true })
  check(): Promise<LedgerCheckResult> {
    return this.queries.check();
  }
}
