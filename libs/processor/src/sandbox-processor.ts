import type {
  AppliedOperation,
  AuthorizeRequest,
  AuthorizeResult,
  CaptureRequest,
  PaymentProcessor,
  ProcessorCall,
  ProcessorReference,
  RefundRequest,
  RefundResult,
  RetrieveResult,
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
  /** Always fails transiently; nothing ever reaches it (`retrieve`: not found). */
  down: 'tok_processorDown',
  /** Answers after `slowDelayMs` (2 s). */
  slow: 'tok_slow',
  /** Payments work; refunds fail for good. */
  refundFail: 'tok_refundFail',
  /**
   * Every operation's first answer is lost after the processor applied it: attempt 0
   * applies, then throws `ProcessorUnavailableError`; a retry (same idempotency key)
   * returns the result already applied, and `retrieve` says applied.
   */
  answerLost: 'tok_answerLost',
  /**
   * The processor is unreachable, calls and `retrieve` alike, for the whole first round
   * of every operation (its task and all its retries): the outcome stays unknown. From
   * the operation's first resume (round 1) it works.
   */
  outage: 'tok_processorOutage',
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
 * The built-in processor: no network, deterministic answers per token, attempt and round,
 * so every path of the payment flow (approval, decline, transient failure, a lost answer,
 * an outage, slowness, failed refund) can be exercised end to end, by any process,
 * without shared state. Its idempotency is by construction: the same call always
 * answers the same, so a call repeated with the same key never applies twice.
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
    const result = authorizeResult(request);
    loseFirstAnswer(request);
    return result;
  }

  async capture(request: CaptureRequest): Promise<void> {
    await this.behave(request);
    loseFirstAnswer(request);
  }

  async void(request: VoidRequest): Promise<void> {
    await this.behave(request);
    loseFirstAnswer(request);
  }

  async refund(request: RefundRequest): Promise<RefundResult> {
    await this.behave(request);
    const result = refundResult(request.source, request.refundId);
    loseFirstAnswer(request);
    return result;
  }

  /**
   * What the calls up to `reference.attempt` (in `reference.round`) applied: nothing for
   * `tok_processorDown`, nor for `tok_processorUnavailable` before the attempt that
   * works; unreachable during an outage's first round; otherwise what the call answers.
   */
  retrieve(reference: ProcessorReference): Promise<RetrieveResult> {
    const { source } = reference;
    if (!KNOWN.has(source)) return Promise.reject(new Error(`unknown sandbox token ${source}`));
    if (source === SANDBOX_TOKENS.outage && reference.round === 0) {
      return Promise.reject(new ProcessorUnavailableError('sandbox: the processor is down'));
    }
    const nothing =
      source === SANDBOX_TOKENS.down ||
      (source === SANDBOX_TOKENS.unavailable && reference.attempt < SANDBOX_UNAVAILABLE_ATTEMPTS);
    if (nothing) return Promise.resolve({ status: 'not_found' });
    return Promise.resolve({ status: 'applied', applied: applied(reference) });
  }

  /** What every call of a token does before answering: refuse, fail transiently, or wait. */
  private async behave(call: ProcessorCall): Promise<void> {
    if (!KNOWN.has(call.source)) throw new Error(`unknown sandbox token ${call.source}`);
    if (call.source === SANDBOX_TOKENS.down) {
      throw new ProcessorUnavailableError('sandbox: the processor is down');
    }
    if (call.source === SANDBOX_TOKENS.outage && call.round === 0) {
      throw new ProcessorUnavailableError(`sandbox: outage (attempt ${call.attempt})`);
    }
    if (call.source === SANDBOX_TOKENS.unavailable && call.attempt < SANDBOX_UNAVAILABLE_ATTEMPTS) {
      throw new ProcessorUnavailableError(
        `sandbox: the processor is unavailable (attempt ${call.attempt})`,
      );
    }
    if (call.source === SANDBOX_TOKENS.slow) await sleep(this.slowDelayMs);
  }
}

/** `tok_answerLost`: the first try of each round applied, and its answer never arrives. */
function loseFirstAnswer(call: ProcessorCall): void {
  if (call.source === SANDBOX_TOKENS.answerLost && call.attempt === 0) {
    throw new ProcessorUnavailableError(
      `sandbox: the answer to ${call.idempotencyKey} was lost (it was applied)`,
    );
  }
}

function authorizeResult(call: ProcessorCall): AuthorizeResult {
  switch (call.source) {
    case SANDBOX_TOKENS.declined:
      return { status: 'declined', code: 'card_declined', message: 'Your card was declined.' };
    case SANDBOX_TOKENS.insufficientFunds:
      return {
        status: 'declined',
        code: 'insufficient_funds',
        message: 'Your card has insufficient funds.',
      };
    default:
      return { status: 'approved', authorizationId: `sandbox_auth_${call.paymentId}` };
  }
}

function refundResult(source: string, refundId: string): RefundResult {
  if (source === SANDBOX_TOKENS.refundFail) {
    return {
      status: 'failed',
      failureReason: 'expired_or_canceled_card',
      message: 'The card was canceled or has expired; the refund cannot be made to it.',
    };
  }
  return { status: 'succeeded', processorRefundId: `sandbox_re_${refundId}` };
}

function applied(reference: ProcessorReference): AppliedOperation {
  switch (reference.operation) {
    case 'authorize':
      return { operation: 'authorize', result: authorizeResult(reference) };
    case 'capture':
      return { operation: 'capture' };
    case 'void':
      return { operation: 'void' };
    case 'refund':
      return {
        operation: 'refund',
        result: refundResult(reference.source, reference.refundId ?? reference.idempotencyKey),
      };
  }
}
