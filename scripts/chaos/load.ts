import { sleep } from '@clearline/testing';
import { call } from './http';
import type { Answer, RequestKind, RequestRecord } from './model';
import type { Random } from './prng';

/** A merchant of the run: its id and API key. */
export interface LoadMerchant {
  id: string;
  key: string;
}

/** What a manual-capture payment is to get once it is authorized. */
export type PlannedAction = { action: 'capture'; amountToCapture?: number } | { action: 'cancel' };

/** A manual payment whose authorization was not answered at once: acted on after the faults. */
export interface DeferredAction {
  payment: RequestRecord;
  planned: PlannedAction;
}

export interface LoadOptions {
  /** The gateway's base URL now (it moves when the gateway restarts). */
  baseUrl: () => string;
  merchants: readonly LoadMerchant[];
  random: Random;
  /** Prefix of every Idempotency-Key (the seed, so keys are the run's own). */
  keyPrefix: string;
  /** True while a `processor` fault lasts. */
  flapping: () => boolean;
}

/** Tokens of the sandbox processor when it behaves, with their weights. */
const NORMAL_SOURCES: readonly [string, number][] = [
  ['tok_visa', 55],
  ['tok_mastercard', 20],
  ['tok_chargeDeclined', 10],
  ['tok_chargeDeclinedInsufficientFunds', 5],
  ['tok_refundFail', 10],
];
/** Slow, flapping, answer-losing and unreachable processor: what a `processor` fault uses. */
const FLAPPING_SOURCES = [
  'tok_slow',
  'tok_processorUnavailable',
  'tok_answerLost',
  'tok_processorOutage',
  'tok_visa',
];

function weighted(random: Random, choices: readonly [string, number][]): string {
  const total = choices.reduce((sum, [, weight]) => sum + weight, 0);
  let draw = random.int(1, total);
  for (const [choice, weight] of choices) {
    draw -= weight;
    if (draw <= 0) return choice;
  }
  throw new Error('weights do not add up');
}

interface PaymentBody {
  id?: string;
  status?: string;
}

/**
 * The steady load: flows of a payment (automatic capture, then maybe refunds; or
 * manual capture, then a capture in full or in part, or a cancel), each request with an
 * Idempotency-Key of the run, recorded with its first answer. Every choice is drawn from
 * the run's seed.
 */
export class ChaosLoad {
  readonly requests: RequestRecord[] = [];
  readonly deferred: DeferredAction[] = [];
  private sent = 0;

  constructor(private readonly options: LoadOptions) {}

  /** POSTs and records the request and its first answer. */
  async post(
    kind: RequestKind,
    merchant: LoadMerchant,
    path: string,
    body: Record<string, unknown>,
  ): Promise<RequestRecord> {
    this.sent += 1;
    const key = `${this.options.keyPrefix}_${this.sent}`;
    const record: RequestRecord = {
      kind,
      merchantKey: merchant.key,
      path,
      body,
      key,
      first: { status: null, body: null },
      final: { status: null, body: null },
    };
    this.requests.push(record);
    record.first = await this.send(record);
    record.final = record.first;
    return record;
  }

  /** Sends `record` again, with its key and body. */
  send(record: RequestRecord): Promise<Answer> {
    return call(this.options.baseUrl(), 'POST', record.path, record.merchantKey, {
      body: record.body,
      idempotencyKey: record.key,
    });
  }

  /**
   * Starts `rate` flows a second (no more than `inFlightMax` at once) for `durationMs`,
   * and on while `more()` says so (the faults are not over yet: each meets the load).
   */
  async run(
    rate: number,
    durationMs: number,
    inFlightMax: number,
    more: () => boolean,
  ): Promise<{ skipped: number }> {
    const running = new Set<Promise<void>>();
    const intervalMs = 1_000 / rate;
    const started = Date.now();
    let skipped = 0;
    for (let i = 0; Date.now() - started < durationMs || more(); i += 1) {
      if (running.size >= inFlightMax) {
        skipped += 1;
      } else {
        const flow = this.flow(this.options.random.fork(`flow:${i}`)).finally(() =>
          running.delete(flow),
        );
        running.add(flow);
      }
      await sleep(Math.max(0, started + (i + 1) * intervalMs - Date.now()));
    }
    await Promise.all(running);
    return { skipped };
  }

  private async flow(random: Random): Promise<void> {
    const merchant = random.pick(this.options.merchants);
    const source = this.options.flapping()
      ? random.pick(FLAPPING_SOURCES)
      : weighted(random, NORMAL_SOURCES);
    const amount = random.int(100, 5_000);
    if (random.chance(0.4)) {
      await this.manual(random, merchant, source, amount);
      return;
    }
    const pay = await this.post('pay', merchant, '/v1/payments', {
      amount,
      currency: 'usd',
      source,
    });
    const payment = pay.first.body as PaymentBody;
    if (pay.first.status !== 200 || payment.status !== 'succeeded' || !payment.id) return;
    if (!random.chance(0.6)) return;
    await this.refunds(random, merchant, payment.id, amount);
  }

  private async refunds(
    random: Random,
    merchant: LoadMerchant,
    paymentId: string,
    amount: number,
  ): Promise<void> {
    if (random.chance(0.5)) {
      await this.post('refund', merchant, '/v1/refunds', { payment: paymentId });
      return;
    }
    const part = Math.max(1, Math.floor(amount / 3));
    await this.post('refund', merchant, '/v1/refunds', { payment: paymentId, amount: part });
    if (random.chance(0.5)) {
      await this.post('refund', merchant, '/v1/refunds', { payment: paymentId, amount: part });
    }
  }

  private async manual(
    random: Random,
    merchant: LoadMerchant,
    source: string,
    amount: number,
  ): Promise<void> {
    const pay = await this.post('pay', merchant, '/v1/payments', {
      amount,
      currency: 'usd',
      source,
      capture_method: 'manual',
    });
    const draw = random.int(0, 2);
    const planned: PlannedAction =
      draw === 0
        ? { action: 'capture' }
        : draw === 1
          ? { action: 'capture', amountToCapture: Math.max(1, Math.floor(amount / 2)) }
          : { action: 'cancel' };
    const payment = pay.first.body as PaymentBody;
    if (pay.first.status === 200 && payment.status === 'requires_capture' && payment.id) {
      await this.act(merchant, payment.id, planned);
    } else {
      this.deferred.push({ payment: pay, planned });
    }
  }

  /** Captures or cancels an authorized payment, as planned. */
  act(merchant: LoadMerchant, paymentId: string, planned: PlannedAction): Promise<RequestRecord> {
    const path = `/v1/payments/${paymentId}/${planned.action}`;
    const body =
      planned.action === 'capture' && planned.amountToCapture !== undefined
        ? { amount_to_capture: planned.amountToCapture }
        : {};
    return this.post(planned.action, merchant, path, body);
  }
}
