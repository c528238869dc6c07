/** Who is calling, as the auth guard established it. */
export type RequestAuth =
  { kind: 'merchant'; merchantId: string; apiKeyId: string } | { kind: 'operator' };

/** Idempotency keys belong to the caller: two merchants may use the same key. */
export function idempotencyScope(auth: RequestAuth): string {
  return auth.kind === 'merchant' ? auth.merchantId : 'operator';
}

/** Requests are counted per API key (a rolled key starts a fresh count). */
export function rateLimitTracker(auth: RequestAuth): string {
  return auth.kind === 'merchant' ? `key:${auth.apiKeyId}` : 'operator';
}
