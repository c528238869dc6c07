import { LEDGER_TASK, QUEUE } from '@clearline/contracts';
import { LedgerClient } from '@clearline/platform';
import { encodeTask } from '../../tasks/src/protocol/celery-message';
import { PaymentLedger } from '../../../services/gateway/src/payments/payment-ledger';
import type { Payment } from '../../../services/gateway/src/payments/payment.model';
import {
  PaymentError,
  paymentTaskOutcome,
} from '../../../services/gateway/src/payments/payments.exception';
import {
  RefundLedger,
  type FundingAccount,
} from '../../../services/refund/src/refunds/refund-ledger';
import type { RefundJobRow } from '../../../services/refund/src/refunds/refund-job.rows';
import {
  RefundError,
  refundTaskOutcome,
} from '../../../services/refund/src/refunds/refund.exception';
import { SettlementLedger } from '../../../services/settlement/src/settlements/settlement-ledger';
import {
  SettlementError,
  settlementTaskOutcome,
} from '../../../services/settlement/src/settlements/settlement.exception';
import type { Faults } from './faults';
import type { SimRandom } from './random';
import type { Process, Scheduler } from './scheduler';
import type { SimTaskClient } from './task-client';

/** The currencies a seed's payments use (JPY has no minor unit: amounts stay integers). */
export const SIM_CURRENCIES = ['EUR', 'JPY', 'USD'] as const;

/** Attempts of one producer step (the calling task's retries) before it gives up. */
const PRODUCER_ATTEMPTS_MAX = 6;

export interface WorkloadDeps {
  scheduler: Scheduler;
  random: SimRandom;
  faults: Faults;
  trace: (actor: string, what: string) => void;
  /** One task client per producing service. */
  clients: { gateway: SimTaskClient; refund: SimTaskClient; settlement: SimTaskClient };
}

/** The merchants of a seed, named so that a trace reads. */
export function simMerchants(seed: number, random: SimRandom): string[] {
  return Array.from({ length: random.int(1, 2) }, (_v, i) => `mer_s${seed}m${i}`);
}

interface MerchantBook {
  /** Per currency: captured minus refunds posted from pending, as the producers saw it. */
  net: Map<string, bigint>;
}

/**
 * The producers of a seed, running the services' real ledger code (`PaymentLedger`,
 * `RefundLedger`, `SettlementLedger` over the real `LedgerClient`) over the simulated task
 * client: their task and transfer ids are the ones production derives. Per merchant:
 * payments (automatic capture as a linked pending + post, or manual: capture in full or
 * in part, void, or left pending), refunds of captured payments (hold, then post or
 * release), then a settlement of what was captured and a payout (hold, then post or
 * void). A step that fails transiently is tried again as its service's task would be
 * (`*TaskOutcome(code) === 'retry'`), with the same or a new task id as that service
 * derives it; a redelivered producer task sends the same ledger task again.
 */
export class Workload {
  private readonly payments: PaymentLedger;
  private readonly refunds: RefundLedger;
  private readonly settlements: SettlementLedger;

  constructor(private readonly deps: WorkloadDeps) {
    this.payments = new PaymentLedger(new LedgerClient(deps.clients.gateway.asTaskClient()));
    this.refunds = new RefundLedger(new LedgerClient(deps.clients.refund.asTaskClient()));
    this.settlements = new SettlementLedger(
      new LedgerClient(deps.clients.settlement.asTaskClient()),
    );
  }

  /** Starts every merchant's producers; returns their processes. */
  start(merchants: readonly string[]): Process[] {
    return merchants.map((merchant) =>
      this.deps.scheduler.spawn(`merchant ${merchant}`, () => this.merchant(merchant)),
    );
  }

  private async merchant(merchantId: string): Promise<void> {
    const { scheduler, random } = this.deps;
    const book: MerchantBook = { net: new Map() };
    const count = random.int(1, 4);
    const payments = Array.from({ length: count }, (_v, i) =>
      scheduler.spawn(`payment ${merchantId}/${i}`, () =>
        this.payment(`pay_${merchantId}p${i}`, merchantId, book),
      ),
    );
    if (this.deps.faults.hit('poison')) await this.poison(merchantId);
    for (const payment of payments) await scheduler.join(payment);
    for (const [currency, net] of book.net) {
      if (net > 0n && random.chance(0.7)) await this.settle(merchantId, currency, net);
    }
  }

  private async payment(id: string, merchantId: string, book: MerchantBook): Promise<void> {
    const { scheduler, random } = this.deps;
    await scheduler.sleep(random.int(0, 300));
    const currency = random.pick(SIM_CURRENCIES);
    const amount = BigInt(random.int(1, 500) * 100 + random.int(0, 99));
    const payment = simPayment(id, merchantId, amount, currency, scheduler.date());
    const automatic = random.chance(0.4);
    const authorized = await this.step(id, 'authorize', paymentRetry, (attempt) =>
      this.payments.authorize(payment, automatic, { attempt, round: 0 }),
    );
    if (!authorized) return;
    let captured = automatic ? amount : 0n;
    if (!automatic) {
      await scheduler.sleep(random.int(0, 500));
      const choice = random.int(0, 9);
      if (choice < 6) {
        const part = random.chance(0.3) ? (amount * BigInt(random.int(1, 9))) / 10n : amount;
        const ok = await this.step(id, `capture ${part}`, paymentRetry, (attempt) =>
          this.payments.capture(payment, part, { attempt, round: 0 }),
        );
        if (ok) captured = part;
      } else if (choice < 9) {
        await this.step(id, 'void', paymentRetry, (attempt) =>
          this.payments.void(payment, { attempt, round: 0 }),
        );
      }
    }
    if (captured === 0n) return;
    let net = captured;
    if (random.chance(0.4)) net -= await this.refund(`re_${id}`, payment, captured);
    book.net.set(currency, (book.net.get(currency) ?? 0n) + net);
  }

  /** A refund of a captured payment; returns what it took from pending for good. */
  private async refund(id: string, payment: Payment, captured: bigint): Promise<bigint> {
    const { scheduler, random } = this.deps;
    await scheduler.sleep(random.int(0, 300));
    // Now and then more than was captured: pending, then available, may refuse it.
    const amount = random.chance(0.5)
      ? captured + (random.chance(0.2) ? 1_000_000n : 0n)
      : (captured * BigInt(random.int(1, 9))) / 10n;
    if (amount === 0n) return 0n;
    const job: RefundJobRow = {
      refund_id: id,
      payment_id: payment.id,
      merchant_id: payment.merchantId,
      amount: amount.toString(),
      currency: payment.currency,
      status: 'processing',
      funded_from: null,
      failure_reason: null,
      processor_refund_id: null,
    };
    const funding: { from: FundingAccount | null } = { from: null };
    const held = await this.step(id, 'hold', refundRetry, async () => {
      funding.from = await this.refunds.hold(job);
    });
    if (!held) return 0n;
    await scheduler.sleep(random.int(0, 200));
    if (random.chance(0.2)) {
      await this.step(id, 'release', refundRetry, () => this.refunds.release(job));
      return 0n;
    }
    const posted = await this.step(id, 'post', refundRetry, () => this.refunds.post(job));
    return posted && funding.from === 'pending' ? amount : 0n;
  }

  /** A settlement of `net` (fees, then the rest to available), then a payout of part of it. */
  private async settle(merchantId: string, currency: string, net: bigint): Promise<void> {
    const { random } = this.deps;
    const settlementId = `stl_${merchantId}${currency}`;
    const fees = net / 40n;
    // Now and then more than pending holds: the linked chain is refused whole.
    const toAvailable = net - fees + (random.chance(0.15) ? 1_000_000n : 0n);
    const settled = await this.step(settlementId, 'post', settlementRetry, () =>
      this.settlements.post(merchantId, 'run0', [
        { settlementId, currency, feesCollected: fees, toAvailable },
      ]),
    );
    if (!settled || toAvailable === 0n) return;
    const payout = {
      id: `po_${merchantId}${currency}`,
      merchantId,
      amount: random.chance(0.5) ? toAvailable : toAvailable / 2n + 1n,
      currency,
    };
    const held = await this.step(payout.id, 'hold', settlementRetry, () =>
      this.settlements.hold(payout),
    );
    if (!held) return;
    if (random.chance(0.25)) {
      await this.step(payout.id, 'void', settlementRetry, () =>
        this.settlements.voidHold(payout.id),
      );
    } else {
      await this.step(payout.id, 'post', settlementRetry, () =>
        this.settlements.postHold(payout.id),
      );
    }
  }

  /** A task no worker can run: a body that is not JSON, or a payload the DTO refuses. */
  private async poison(merchantId: string): Promise<void> {
    const encoded = encodeTask({
      task: LEDGER_TASK.createTransfers,
      id: `poison_${merchantId}`,
      kwargs: { transfers: [] },
      origin: 'simulation',
    });
    const malformed = this.deps.random.chance(0.5);
    await this.deps.clients.gateway.sendRaw(
      QUEUE.ledger,
      malformed ? { ...encoded, content: Buffer.from('[[], {"transfers": [') } : encoded,
    );
  }

  /**
   * One producer step, tried again while its service would retry its own task (a new
   * attempt), at most PRODUCER_ATTEMPTS_MAX times; true when it was applied. A fault runs
   * it twice at once, as a redelivered or retried producer task would.
   */
  private async step(
    actor: string,
    label: string,
    retry: (error: unknown) => boolean,
    call: (attempt: number) => Promise<unknown>,
  ): Promise<boolean> {
    const { scheduler, random, trace, faults } = this.deps;
    for (let attempt = 0; attempt < PRODUCER_ATTEMPTS_MAX; attempt += 1) {
      // The producer's own task runs twice at once (redelivered, or retried while the
      // first run still waits): the same step with the same attempt or the next one.
      const twin = faults.hit('producer-repeat')
        ? this.twin(actor, label, () => call(attempt + random.int(0, 1)))
        : null;
      try {
        await call(attempt);
        trace(actor, `${label} applied`);
        return true;
      } catch (error) {
        const text = error instanceof Error ? error.message : String(error);
        if (!retry(error)) {
          trace(actor, `${label} refused: ${text.slice(0, 100)}`);
          return false;
        }
        trace(actor, `${label} attempt ${attempt} failed: ${text.slice(0, 100)}`);
        await scheduler.sleep(random.int(50, 200) * 2 ** attempt);
      } finally {
        if (twin) await scheduler.join(twin);
      }
    }
    trace(actor, `${label} given up`);
    return false;
  }

  private twin(actor: string, label: string, call: () => Promise<unknown>): Process {
    const { scheduler, trace } = this.deps;
    trace(actor, `${label} sent twice (producer task run twice)`);
    return scheduler.spawn(`${actor} twin`, async () => {
      try {
        await call();
      } catch (error) {
        trace(actor, `${label} twin: ${error instanceof Error ? error.message.slice(0, 100) : ''}`);
      }
    });
  }
}

const paymentRetry = (error: unknown): boolean =>
  error instanceof PaymentError && paymentTaskOutcome(error.code) === 'retry';
const refundRetry = (error: unknown): boolean =>
  error instanceof RefundError && refundTaskOutcome(error.code) === 'retry';
const settlementRetry = (error: unknown): boolean =>
  error instanceof SettlementError && settlementTaskOutcome(error.code) === 'retry';

function simPayment(
  id: string,
  merchantId: string,
  amount: bigint,
  currency: string,
  now: Date,
): Payment {
  return {
    id,
    merchantId,
    amount,
    currency,
    status: 'processing',
    captureMethod: 'manual',
    amountCapturable: amount,
    amountCaptured: 0n,
    amountRefunded: 0n,
    source: 'tok_sandbox_success',
    description: null,
    metadata: {},
    failureCode: null,
    failureMessage: null,
    processorReference: null,
    createdAt: now,
    updatedAt: now,
  };
}
