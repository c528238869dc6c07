import {
  ProcessorUnavailableError,
  type AppliedOperation,
  type PaymentProcessor,
  type ProcessorReference,
  type RetrieveResult,
} from './payment-processor';

/**
 * How an operation whose answer was lost stands once the processor was asked:
 * - `applied`: it happened; carry on as if the processor had answered `applied`;
 * - `not_applied`: the processor says nothing reached it; only now may a caller fail it;
 * - `unknown`: the processor could not say either; the caller must neither fail it nor
 *   release what it holds, and leaves it for the sweeper to ask again later.
 */
export type UnknownOutcomeResolution =
  | { kind: 'applied'; applied: AppliedOperation }
  | { kind: 'not_applied' }
  | { kind: 'unknown'; reason: string };

/**
 * The decision, from the processor's answer to `retrieve` or the error it threw:
 * `not_found` is the only answer that means "nothing happened"; an unavailable processor
 * leaves the outcome unknown. Any other error is a fault and is thrown.
 */
export function resolveUnknownOutcome(
  answer: { retrieved: RetrieveResult } | { error: unknown },
): UnknownOutcomeResolution {
  if ('error' in answer) {
    if (answer.error instanceof ProcessorUnavailableError) {
      return { kind: 'unknown', reason: answer.error.message };
    }
    throw answer.error;
  }
  const { retrieved } = answer;
  switch (retrieved.status) {
    case 'not_found':
      return { kind: 'not_applied' };
    case 'applied':
      return { kind: 'applied', applied: retrieved.applied };
  }
}

/**
 * Asks the processor what became of an operation whose answer was lost (after its last
 * retry threw `ProcessorUnavailableError`), and resolves it (`resolveUnknownOutcome`).
 * An answer about another operation than the one asked for is a processor fault.
 */
export async function retrieveOutcome(
  processor: PaymentProcessor,
  reference: ProcessorReference,
): Promise<UnknownOutcomeResolution> {
  let resolution: UnknownOutcomeResolution;
  try {
    resolution = resolveUnknownOutcome({ retrieved: await processor.retrieve(reference) });
  } catch (error) {
    resolution = resolveUnknownOutcome({ error });
  }
  if (resolution.kind === 'applied' && resolution.applied.operation !== reference.operation) {
    throw new Error(
      `processor answered ${resolution.applied.operation} for ${reference.operation} ${reference.idempotencyKey}`,
    );
  }
  return resolution;
}
