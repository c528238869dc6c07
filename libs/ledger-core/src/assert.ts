/**
 * Asserts a condition that only a programming error can break (TigerBeetle style):
 * the process must not go on with a ledger it cannot trust. Bad input is never
 * asserted; it gets a named result.
 */
export function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new LedgerAssertionError(message);
}

export class LedgerAssertionError extends Error {
  override readonly name = 'LedgerAssertionError';
}
