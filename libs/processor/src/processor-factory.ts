import type { PaymentProcessor } from './payment-processor';
import { SandboxProcessor } from './sandbox-processor';

/** The processors that can be configured (`PAYMENT_PROCESSOR`). */
export const PROCESSOR_NAMES = ['sandbox'] as const;
export type ProcessorName = (typeof PROCESSOR_NAMES)[number];

/** Injection token for the configured processor, shared by every service that calls one. */
export const PAYMENT_PROCESSOR = Symbol('PAYMENT_PROCESSOR');

/** One constructor per name: a real processor is one more entry (the type demands it). */
const FACTORIES: Record<ProcessorName, () => PaymentProcessor> = {
  sandbox: () => new SandboxProcessor(),
};

/**
 * The processor named by configuration; unset (allowed outside production only, see
 * `MoneyDestinationInProduction`) is the sandbox.
 */
export function createPaymentProcessor(name?: ProcessorName): PaymentProcessor {
  return FACTORIES[name ?? 'sandbox']();
}
