/**
 * The gateway with the real ledger beside it, for the payment e2e tests: the production
 * gateway app (startGateway) and the ledger service's task handlers in this process
 * (startTaskApp with LedgerFeatureModule), on the test file's own vhost and database.
 * Payments go through HTTP; money goes through the broker to the ledger and back.
 */
import { randomUUID } from 'node:crypto';
import { eventually, startTaskApp, type TaskApp } from '@clearline/testing';
import { LedgerFeatureModule } from '../../ledger/src/ledger/ledger.module';
import {
  startGateway,
  type CallOptions,
  type CreatedMerchant,
  type ErrorReply,
  type GatewayHarness,
  type Reply,
} from './gateway-harness';

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
  created: number;
}

export interface LedgerCheck {
  object: 'ledger_check';
  balanced: boolean;
  currencies: { currency: string; debits: string; credits: string }[];
  violations: string[];
}

export interface PaymentsHarness {
  gw: GatewayHarness;
  ledger: TaskApp;
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
  ledgerCheck(): Promise<LedgerCheck>;
  /** Fails the test unless the ledger's invariant report is clean (run after every scenario). */
  expectBalanced(): Promise<void>;
  close(): Promise<void>;
}

export async function startPayments(env: Record<string, string> = {}): Promise<PaymentsHarness> {
  const gw = await startGateway({ RATE_LIMIT_PER_S: '100000', ...env });
  const ledger = await startTaskApp({
    infra: gw.infra,
    service: 'ledger',
    imports: [LedgerFeatureModule],
  });
  const ledgerCheck = async (): Promise<LedgerCheck> =>
    (await gw.call<LedgerCheck>('GET', '/v1/admin/ledger/check')).body;
  const get = (merchant: CreatedMerchant, id: string) =>
    gw.call<Payment & ErrorReply>('GET', `/v1/payments/${id}`, { key: merchant.api_key });
  return {
    gw,
    ledger,
    pay: (merchant, body, options = {}) =>
      gw.call('POST', '/v1/payments', {
        key: merchant.api_key,
        body,
        idempotencyKey: randomUUID(),
        ...options,
      }),
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
        { what: `payment ${id} to be ${status}`, timeoutMs: 15_000 },
      ),
    ledgerCheck,
    expectBalanced: async () => {
      const check = await ledgerCheck();
      expect({ balanced: check.balanced, violations: check.violations }).toEqual({
        balanced: true,
        violations: [],
      });
    },
    close: async () => {
      await ledger.close();
      await gw.close();
    },
  };
}

/** A card payment of 20.00 USD unless told otherwise. */
export const card = (source = 'tok_visa', extra: Record<string, unknown> = {}) => ({
  amount: 2_000,
  currency: 'usd',
  source,
  ...extra,
});
