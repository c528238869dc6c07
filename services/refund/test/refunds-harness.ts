/**
 * Payments and refunds end to end, for the refund e2e tests: the production gateway,
 * the ledger's task handlers (startPayments), and the refund service — in this process
 * (RefundsModule) or, for the crash test, as its own process.
 */
import { randomUUID } from 'node:crypto';
import { eventually, startTaskApp, type TaskApp } from '@clearline/testing';
import type {
  CallOptions,
  CreatedMerchant,
  ErrorReply,
  Reply,
} from '../../gateway/test/gateway-harness';
import { startPayments, type PaymentsHarness } from '../../gateway/test/payments-harness';
import { RefundsModule } from '../src/refunds/refunds.module';

/** The refund object, as the API answers it. */
export interface Refund {
  id: string;
  object: 'refund';
  payment: string;
  amount: number;
  currency: string;
  status: string;
  reason: string | null;
  failure_reason: string | null;
  metadata: Record<string, string>;
  created: number;
}

export interface RefundsHarness extends PaymentsHarness {
  refundService: TaskApp | null;
  /** POST /v1/refunds as `merchant` (an Idempotency-Key of its own unless one is given). */
  refund(
    merchant: CreatedMerchant,
    body: Record<string, unknown>,
    options?: CallOptions,
  ): Promise<Reply<Refund & ErrorReply>>;
  getRefund(merchant: CreatedMerchant, id: string): Promise<Reply<Refund & ErrorReply>>;
  /** Polls GET until the refund has `status`. */
  untilRefund(merchant: CreatedMerchant, id: string, status: string): Promise<Refund>;
  /** A captured payment of `amount` (automatic capture) with `source`. */
  captured(merchant: CreatedMerchant, amount?: number, source?: string): Promise<string>;
}

export async function startRefunds(
  options: { inProcess?: boolean; env?: Record<string, string> } = {},
): Promise<RefundsHarness> {
  const payments = await startPayments(options.env);
  const refundService =
    options.inProcess === false
      ? null
      : await startTaskApp({
          infra: payments.gw.infra,
          service: 'refund',
          imports: [RefundsModule],
          env: { PAYMENT_PROCESSOR: 'sandbox' },
        });
  const getRefund = (merchant: CreatedMerchant, id: string) =>
    payments.gw.call<Refund & ErrorReply>('GET', `/v1/refunds/${id}`, { key: merchant.api_key });
  return {
    ...payments,
    refundService,
    refund: (merchant, body, callOptions = {}) =>
      payments.gw.call('POST', '/v1/refunds', {
        key: merchant.api_key,
        body,
        idempotencyKey: randomUUID(),
        ...callOptions,
      }),
    getRefund,
    untilRefund: (merchant, id, status) =>
      eventually(
        async () => {
          const reply = await getRefund(merchant, id);
          return reply.body.status === status && reply.body;
        },
        { what: `refund ${id} to be ${status}`, timeoutMs: 30_000 },
      ),
    captured: async (merchant, amount = 2_000, source = 'tok_visa') => {
      const reply = await payments.pay(merchant, { amount, currency: 'usd', source });
      if (reply.status !== 200 || reply.body.status !== 'succeeded') {
        throw new Error(`payment not captured: ${reply.status} ${reply.text}`);
      }
      return reply.body.id;
    },
    close: async () => {
      await refundService?.close();
      await payments.close();
    },
  };
}
