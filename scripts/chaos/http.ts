import type { Answer } from './model';

/** The longest a chaos request waits for its answer (the gateway waits at most 30 s). */
const CALL_TIMEOUT_MS = 45_000;

function parse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/**
 * One call to the gateway at `baseUrl`; no answer (refused, reset, timed out) is
 * status null, never an exception: under chaos it is an outcome to record.
 */
export async function call(
  baseUrl: string,
  method: 'GET' | 'POST',
  path: string,
  key: string,
  options: { body?: unknown; idempotencyKey?: string } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { authorization: `Bearer ${key}` };
  if (options.idempotencyKey !== undefined) headers['idempotency-key'] = options.idempotencyKey;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  try {
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers,
      signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    });
    return { status: response.status, body: parse(await response.text()) };
  } catch (error) {
    return { status: null, body: String(error) };
  }
}

/** Runs `work` over `items`, at most `limit` at once. */
export async function eachLimited<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next] as T;
      next += 1;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
