/**
 * What the task layer does with a task whose handler met a domain error of a code. Each
 * feature that runs tasks decides it per code, in one exhaustive switch:
 * - `retry`: transient; thrown for the task's `retryOn` to run it again, and
 *   dead-lettered (`retries-exhausted`) once the retries run out;
 * - `fail`: a final answer, never retried: the handler records it (a payment that ends
 *   `failed`, a refund that ends `failed` with its reason) and returns it as its result;
 * - `dead-letter`: a fault; thrown, never retried, dead-lettered at once for an operator.
 */
export type TaskOutcome = 'retry' | 'fail' | 'dead-letter';
