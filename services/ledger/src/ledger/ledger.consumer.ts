import { Controller } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import {
  BalancesPayload,
  CreateAccountsPayload,
  CreateTransfersPayload,
  LEDGER_BATCH_SIZE_MAX,
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
import { Task, TaskBatchContext, TaskContext } from '@clearline/tasks';
import { LedgerQueriesService } from './ledger-queries.service';
import { accountFromWire, transferFromWire } from './ledger.mapper';
import { LedgerRaceError, LedgerService } from './ledger.service';

/**
 * Losing a race to another transaction (accounts created concurrently, a serialization
 * failure, a deadlock) or a lost connection is transient: the task runs again and sees
 * the winner's rows. Any other database error is a fault and fails the task at once.
 */
const RACES = {
  retryOn: [isTransientDatabaseError, LedgerRaceError],
  retryCountMax: 5,
  retryBackoffMs: 50,
  retryBackoffMaxMs: 2_000,
};

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
    payload: CreateTransfersPayload,
    batch: {
      sizeMax: LEDGER_BATCH_SIZE_MAX * 10,
      concurrency: 1,
      weight: (payload) => (payload as CreateTransfersPayload).transfers.length,
    },
    ...RACES,
  })
  async createTransfers(
    @Payload() payloads: CreateTransfersPayload[],
    @Ctx() context: TaskBatchContext,
  ): Promise<CreateTransfersResult[]> {
    const results = await this.ledger.createTransfers(
      context.manager,
      payloads.map((p) => p.transfers.map(transferFromWire)),
      new Date(),
    );
    return results.map((r) => ({ results: r }));
  }

  @Task(LEDGER_TASK.createAccounts, {
    payload: CreateAccountsPayload,
    transactional: true,
    ...RACES,
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
  @Task(LEDGER_TASK.openMerchant, { payload: OpenMerchantPayload, transactional: true, ...RACES })
  async openMerchant(
    @Payload() payload: OpenMerchantPayload,
    @Ctx() context: TaskContext,
  ): Promise<CreateAccountsResult> {
    return { results: await this.ledger.openMerchant(context.manager, payload.merchant_id) };
  }

  @Task(LEDGER_TASK.lookupAccounts, { payload: LookupPayload })
  lookupAccounts(@Payload() payload: LookupPayload): Promise<AccountView[]> {
    return this.queries.lookupAccounts(payload.ids);
  }

  @Task(LEDGER_TASK.lookupTransfers, { payload: LookupPayload })
  lookupTransfers(@Payload() payload: LookupPayload): Promise<TransferView[]> {
    return this.queries.lookupTransfers(payload.ids);
  }

  @Task(LEDGER_TASK.balances, { payload: BalancesPayload })
  balances(@Payload() payload: BalancesPayload): Promise<BalancesResult> {
    return this.queries.balances(payload.owner, payload.currency);
  }

  @Task(LEDGER_TASK.check)
  check(): Promise<LedgerCheckResult> {
    return this.queries.check();
  }
}
