import { randomUUID } from 'node:crypto';
import type { ApiClient, CallOptions, CreatedMerchant, ErrorReply, Reply } from './api-client';
import { eventually } from './wait';

/** How long a test waits for a payment or a refund to reach a state. */
const SETTLE_TIMEOUT_MS = 60_000;
const SETTLE_POLL_MS = 50;

/** The payment object, as the API answers it. */
export interface Payment {
  id: string;
  object: 'payment';
  amount: number;
  currency: string;
  status: string;
  capture_method: string;
  amount_capturable: number;
  amount_captured: number;
  amount_refunded: number;
  source: string;
  description: string | null;
  metadata: Record<string, string>;
  failure_code: string | null;
  failure_message: string | null;
  processor_reference: string | null;
  created: number;
}

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
  processor_reference: string | null;
  metadata: Record<string, string>;
  created: number;
}

/** `GET /v1/admin/ledger/check`. */
export interface LedgerCheck {
  object: 'ledger_check';
  balanced: boolean;
  currencies: { currency: string; debits: string; credits: string }[];
  violations: string[];
}

/** An operation in flight, as `GET /v1/admin/operations` lists it. */
export interface OperationInFlight {
  id: string;
  object: 'payment' | 'refund';
  status: string;
  operation: 'authorize' | 'capture' | 'cancel' | 'refund';
  merchant: string;
  created: number;
  updated: number;
  age_s: number;
  resumes: number;
}

/** Payments and refunds through the gateway's REST API, as a merchant calls them. */
export interface PaymentsApi {
  /** POST /v1/payments as `merchant` (an Idempotency-Key of its own unless one is given). */
  pay(
    merchant: CreatedMerchant,
    body: Record<string, unknown>,
    options?: CallOptions,
  ): Promise<Reply<Payment & ErrorReply>>;
  /** POST /v1/payments/{id}/{capture|cancel}. */
  act(
    merchant: CreatedMerchant,
    id: string,
    action: 'capture' | 'cancel',
    body?: Record<string, unknown>,
    options?: CallOptions,
  ): Promise<Reply<Payment & ErrorReply>>;
  get(merchant: CreatedMerchant, id: string): Promise<Reply<Payment & ErrorReply>>;
  /** Polls GET until the payment has `status`. */
  until(merchant: CreatedMerchant, id: string, status: string): Promise<Payment>;
  /** A captured payment of `amount` (automatic capture) with `source`; its id. */
  captured(merchant: CreatedMerchant, amount?: number, source?: string): Promise<string>;
  /** POST /v1/refunds as `merchant` (an Idempotency-Key of its own unless one is given). */
  refund(
    merchant: CreatedMerchant,
    body: Record<string, unknown>,
    options?: CallOptions,
  ): Promise<Reply<Refund & ErrorReply>>;
  getRefund(merchant: CreatedMerchant, id: string): Promise<Reply<Refund & ErrorReply>>;
  /** Polls GET until the refund has `status`. */
  untilRefund(merchant: CreatedMerchant, id: string, status: string): Promise<Refund>;
  ledgerCheck(): Promise<LedgerCheck>;
  /** Every operation in flight (`GET /v1/admin/operations`, all pages), oldest first. */
  operationsInFlight(olderThanS?: number): Promise<OperationInFlight[]>;
  /**
   * The value of one sample of the gateway's `/metrics` (`name{labels}`), 0 when the
   * sample is absent.
   */
  metric(name: string, labels: Record<string, string>): Promise<number>;
  /** Fails the test unless the ledger's invariant report is clean (run after every scenario). */
  expectBalanced(): Promise<void>;
}

/** A card payment of 20.00 USD unless told otherwise. */
export const card = (
  source = 'tok_visa',
  extra: Record<string, unknown> = {},
): Record<string, unknown> => ({ amount: 2_000, currency: 'usd', source, ...extra });

export function paymentsApi(gw: ApiClient): PaymentsApi {
  const get = (merchant: CreatedMerchant, id: string) =>
    gw.call<Payment & ErrorReply>('GET', `/v1/payments/${id}`, { key: merchant.api_key });
  const getRefund = (merchant: CreatedMerchant, id: string) =>
    gw.call<Refund & ErrorReply>('GET', `/v1/refunds/${id}`, { key: merchant.api_key });
  const ledgerCheck = async (): Promise<LedgerCheck> =>
    (await gw.call<LedgerCheck>('GET', '/v1/admin/ledger/check')).body;
  const pay: PaymentsApi['pay'] = (merchant, body, options = {}) =>
    gw.call('POST', '/v1/payments', {
      key: merchant.api_key,
      body,
      idempotencyKey: randomUUID(),
      ...options,
    });
  const settle = { timeoutMs: SETTLE_TIMEOUT_MS, intervalMs: SETTLE_POLL_MS };
  return {
    pay,
    act: (merchant, id, action, body, options = {}) =>
      gw.call('POST', `/v1/payments/${id}/${action}`, {
        key: merchant.api_key,
        ...(body === undefined ? {} : { body }),
        ...options,
      }),
    get,
    until: (merchant, id, status) =>
      eventually(
        async () => {
          const reply = await get(merchant, id);
          return reply.body.status === status && reply.body;
        },
        { ...settle, what: `payment ${id} to be ${status}` },
      ),
    captured: async (merchant, amount = 2_000, source = 'tok_visa') => {
      const reply = await pay(merchant, { amount, currency: 'usd', source });
      if (reply.status !== 200 || reply.body.status !== 'succeeded') {
        throw new Error(`payment not captured: ${reply.status} ${reply.text}`);
      }
      return reply.body.id;
    },
    refund: (merchant, body, options = {}) =>
      gw.call('POST', '/v1/refunds', {
        key: merchant.api_key,
        body,
        idempotencyKey: randomUUID(),
        ...options,
      }),
    getRefund,
    untilRefund: (merchant, id, status) =>
      eventually(
        async () => {
          const reply = await getRefund(merchant, id);
          return reply.body.status === status && reply.body;
        },
        { ...settle, what: `refund ${id} to be ${status}` },
      ),
    ledgerCheck,
    operationsInFlight: async (olderThanS = 0) => {
      const all: OperationInFlight[] = [];
      for (let after: string | null = null; ;) {
        const cursor: string = after === null ? '' : `&starting_after=${after}`;
        const page = await gw.call<{ data: OperationInFlight[]; has_more: boolean }>(
          'GET',
          `/v1/admin/operations?limit=100&older_than=${olderThanS}${cursor}`,
        );
        if (page.status !== 200) throw new Error(`operations: ${page.status} ${page.text}`);
        all.push(...page.body.data);
        const last = page.body.data.at(-1);
        if (!page.body.has_more || !last) return all;
        after = last.id;
      }
    },
    metric: async (name, labels) => {
      const reply = await gw.call<string>('GET', '/metrics', { key: null });
      const wanted = Object.entries(labels)
        .map(([key, value]) => `${key}="${value}"`)
        .sort();
      for (const line of reply.text.split('\n')) {
        const match = /^([a-z_]+)(?:\{([^}]*)\})? (\S+)$/.exec(line);
        if (!match || match[1] !== name) continue;
        const present = (match[2] ?? '').split(',').filter(Boolean).sort();
        if (wanted.every((label) => present.includes(label))) return Number(match[3]);
      }
      return 0;
    },
    expectBalanced: async () => {
      const check = await ledgerCheck();
      expect({ balanced: check.balanced, violations: check.violations }).toEqual({
        balanced: true,
        violations: [],
      });
    },
  };
}
