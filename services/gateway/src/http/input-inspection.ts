import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { looksLikeCardNumber } from '@clearline/contracts';
import { RequestError, RequestErrorCode } from './request.exception';

/**
 * What every request's body and query must be before any code reads them — checked
 * once, without recursion, ahead of the idempotency fingerprint and validation:
 *
 * - nested at most {@link INPUT_DEPTH_MAX} levels (a body of 20,000 nested arrays would
 *   otherwise overflow the stack of whatever walks it first);
 * - no NUL character in any key or text (PostgreSQL stores none);
 * - no value or key that looks like a card number (Luhn-valid, 13–19 digits, spaced,
 *   dashed or not): Clearline takes tokens, never card numbers, and the answer never
 *   echoes one.
 *
 * A refusal is a 400 with the error object naming the parameter, and nothing else runs.
 */
export const INPUT_DEPTH_MAX = 32;

/** A dotted path as the error object names parameters (`metadata.order`, `items.0`). */
function pathOf(parent: string, key: string): string {
  return parent ? `${parent}.${key}` : key;
}

/** The first problem of `input` (a parsed body or query), or null. */
export function inspectInput(input: unknown, root = ''): RequestError | null {
  const stack: { value: unknown; path: string; depth: number }[] = [
    { value: input, path: root, depth: 0 },
  ];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const { value, path, depth } = item;
    if (typeof value === 'string' || typeof value === 'number') {
      if (typeof value === 'string' && value.includes('\u0000')) {
        return new RequestError(
          `Invalid ${path || 'body'}: text may not contain a NUL character`,
          RequestErrorCode.ParameterInvalid,
          path || null,
        );
      }
      if (looksLikeCardNumber(value)) {
        return new RequestError(
          `Invalid ${path || 'body'}: the value looks like a card number. Card numbers are never ` +
            'accepted: collect the card with a tokenization client and send its token (source)',
          RequestErrorCode.ParameterInvalid,
          path || null,
        );
      }
      continue;
    }
    if (typeof value !== 'object' || value === null) continue;
    if (depth >= INPUT_DEPTH_MAX) {
      return new RequestError(
        `The request is nested more than ${INPUT_DEPTH_MAX} levels deep`,
        RequestErrorCode.ParameterInvalid,
        path || null,
      );
    }
    const entries = Array.isArray(value)
      ? value.map((child, index): [string, unknown] => [String(index), child])
      : Object.entries(value as Record<string, unknown>);
    for (const [key, child] of entries) {
      const childPath = pathOf(path, key);
      if (key.includes('\u0000')) {
        return new RequestError(
          'Invalid parameter name: it may not contain a NUL character',
          RequestErrorCode.ParameterInvalid,
          null,
        );
      }
      // A metadata key is the merchant's text as much as its value is.
      if (looksLikeCardNumber(key)) {
        return new RequestError(
          'Invalid parameter name: it looks like a card number. Card numbers are never accepted',
          RequestErrorCode.ParameterInvalid,
          path || null,
        );
      }
      stack.push({ value: child, path: childPath, depth: depth + 1 });
    }
  }
  return null;
}

/**
 * Runs {@link inspectInput} on every HTTP request's path parameters, query and body,
 * after authentication and the rate limit (so refused input still counts) and before the
 * idempotency interceptor and the validation pipe.
 */
@Injectable()
export class InputInspectionGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    if (context.getType() !== 'http') return true;
    const request = context
      .switchToHttp()
      .getRequest<{ params?: unknown; body?: unknown; query?: unknown }>();
    // Path ids too: one with a NUL would reach PostgreSQL (a 500).
    const problem =
      inspectInput(request.params) ?? inspectInput(request.query) ?? inspectInput(request.body);
    if (problem) throw problem;
    return true;
  }
}
