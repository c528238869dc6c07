import type {
  AuthorizeRequest,
  AuthorizeResult,
  CaptureRequest,
  PaymentProcessor,
  ProcessorCall,
  RefundRequest,
  RefundResult,
  VoidRequest,
} from './payment-processor';
import { ProcessorUnavailableError } from './payment-processor';

/** The test tokens the sandbox knows, and what each does. */
export const SANDBOX_TOKENS = {
  visa: 'tok_visa',
  mastercard: 'tok_mastercard',
  declined: 'tok_chargeDeclined',
  insufficientFunds: 'tok_chargeDeclinedInsufficientFunds',
  /** Fails transiently on attempts 0 and 1, then works. */
  unavailable: 'tok_processorUnavailable',
  /** Always fails transiently. */
  down: 'tok_processorDown',
  /** Answers after `slowDelayMs` (2 s). */
  slow: 'tok_slow',
  /** Payments work; refunds fail for good. */
  refundFail: 'tok_refundFail',
} as const;

const KNOWN = new Set<string>(Object.values(SANDBOX_TOKENS));
/** Attempts of `tok_processorUnavailable` that fail before one succeeds. */
export const SANDBOX_UNAVAILABLE_ATTEMPTS = 2;
export const SANDBOX_SLOW_DELAY_MS = 2_000;

export interface SandboxOptions {
  slowDelayMs?: number;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * The built-in processor: no network, deterministic answers per token and attempt, so
 * every path of the payment flow (approval, decline, transient failure, slowness,
 * failed refund) can be exercised end to end.
 */
export class SandboxProcessor implements PaymentProcessor {
  readonly name = 'sandbox';
  private readonly slowDelayMs: number;

  constructor(options: SandboxOptions = {}) {
    this.slowDelayMs = options.slowDelayMs ?? SANDBOX_SLOW_DELAY_MS;
  }

  recognizesSource(source: string): boolean {
    return KNOWN.has(source);
  }

  async authorize(request: AuthorizeRequest): Promise<AuthorizeResult> {
    await this.behave(request);
    switch (request.source) {
      case SANDBOX_TOKENS.declined:
        return { status: 'declined', code: 'card_declined', message: 'Your card was declined.' };
      case SANDBOX_TOKENS.insufficientFunds:
        return {
          status: 'declined',
          code: 'insufficient_funds',
          message: 'Your card has insufficient funds.',
        };
      default:
        return { status: 'approved', authorizationId: `sandbox_auth_${request.paymentId}` };
    }
  }

  async capture(request: CaptureRequest): Promise<void> {
    await this.behave(request);
  }

  async void(request: VoidRequest): Promise<void> {
    await this.behave(request);
  }

  async refund(request: RefundRequest): Promise<RefundResult> {
    await this.behave(request);
    if (request.source === SANDBOX_TOKENS.refundFail) {
      return {
        status: 'failed',
        failureReason: 'expired_or_canceled_card',
        message: 'The card was canceled or has expired; the refund cannot be made to it.',
      };
    }
    return { status: 'succeeded', processorRefundId: `sandbox_re_${request.refundId}` };
  }

  /** What every call of a token does before answering: refuse, fail transiently, or wait. */
  private async behave(call: ProcessorCall): Promise<void> {
    if (!KNOWN.has(call.source)) throw new Error(`unknown sandbox token ${call.source}`);
    if (call.source === SANDBOX_TOKENS.down) {
      throw new ProcessorUnavailableError('sandbox: the processor is down');
    }
    if (call.source === SANDBOX_TOKENS.unavailable && call.attempt < SANDBOX_UNAVAILABLE_ATTEMPTS) {
      throw new ProcessorUnavailableError(
        `sandbox: the processor is unavailable (attempt ${call.attempt})`,
      );
    }
    if (call.source === SANDBOX_TOKENS.slow) await sleep(this.slowDelayMs);
  }
}
