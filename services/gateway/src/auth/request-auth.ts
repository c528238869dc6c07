/** Who is calling, as the auth guard established it. */
export type RequestAuth =
  { kind: 'merchant'; merchantId: string; apiKeyId: string } | { kind: 'operator' };

/** Idempotency keys belong to the caller: two merchants may use the same key. */
export function idempotencyScope(auth: RequestAuth): string {
  return auth.kind === 'merchant' ? auth.merchantId : 'operator';
}
