/**
 * Card numbers (PANs) never enter Clearline: a merchant sends a token, never the number.
 * These find a value that looks like one — 13 to 19 digits, alone or in groups split by
 * single spaces or dashes, that pass the Luhn check — so the API can refuse it without
 * echoing it, and logs can mask it.
 *
 * - A whole value (a field that is only the number, or a JSON number) is one at any first
 *   digit.
 * - Inside longer text (a description, a URL, a log line) a number is one at any first
 *   digit (UATP starts with 1, RuPay with 8, Troy with 9), except 13 digits starting with
 *   1: a millisecond timestamp (2001–2033), as in a description or every log line's
 *   `time`. Text may hold the number URL-encoded (`%20` or `+` for a space: a webhook
 *   URL, a request's URL in a log line).
 * - A UUID (a task id, in a path or a log line) is never one, though its digit groups may
 *   hold 13–19 Luhn-valid digits split by dashes (about 1 in 370 random UUIDs).
 */

/**
 * A run of digit groups split by single spaces, dashes, `+` or `%20`, not inside a longer
 * run of digits; read in text whose `%20` were shadowed (`\0\0\0`: same length, no digit).
 */
const RUN = /(?<!\d)\d+(?:(?:[ +-]|\0{3})\d+)*/g;
const URL_SPACE = /%20/g;
const URL_SPACE_SHADOW = '\0\0\0';
/** A UUID in its canonical 8-4-4-4-12 form, not inside a longer run of hex digits. */
const UUID = /(?<![\da-f])[\da-f]{8}(?:-[\da-f]{4}){3}-[\da-f]{12}(?![\da-f])/gi;
/** What a UUID is read as: as long, with no digit. */
const UUID_SHADOW = 'u'.repeat(36);
const WHOLE = /^\s*\d(?:[ -]?\d){12,18}\s*$/;
const SEPARATORS = /[ -]/g;
const MASK = '[card number removed]';

/** The Luhn check of a string of digits. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i -= 1) {
    let digit = digits.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return false;
    if (double) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
    double = !double;
  }
  return sum % 10 === 0;
}

function isCard(candidate: string, inText: boolean): boolean {
  const digits = candidate.replace(SEPARATORS, '');
  if (digits.length < 13 || digits.length > 19) return false;
  if (inText && digits.length === 13 && digits.startsWith('1')) return false;
  return luhnValid(digits);
}

/**
 * The spans `[from, to)` of `text` that look like card numbers: within each run of digit
 * groups (UUIDs and `%20` shadowed first), any consecutive groups that together hold
 * 13–19 digits and pass.
 */
function cardSpans(text: string): [number, number][] {
  const spans: [number, number][] = [];
  const shadowed = text.replace(URL_SPACE, URL_SPACE_SHADOW).replace(UUID, UUID_SHADOW);
  for (const run of shadowed.matchAll(RUN)) {
    const groups: { from: number; to: number }[] = [];
    for (const group of run[0].matchAll(/\d+/g)) {
      const from = run.index + group.index;
      groups.push({ from, to: from + group[0].length });
    }
    for (let i = 0; i < groups.length; i += 1) {
      let digits = '';
      for (let j = i; j < groups.length; j += 1) {
        const group = groups[j] as { from: number; to: number };
        digits += text.slice(group.from, group.to);
        if (digits.length > 19) break;
        if (digits.length >= 13 && isCard(digits, true)) {
          spans.push([(groups[i] as { from: number }).from, group.to]);
        }
      }
    }
  }
  return spans;
}

/** Whether `value` (text or a JSON number) is, or holds, something that looks like a card number. */
export function looksLikeCardNumber(value: unknown): boolean {
  if (typeof value === 'number') {
    return Number.isInteger(value) && value > 0 && isCard(BigInt(value).toString(), false);
  }
  if (typeof value !== 'string' || value.length < 13) return false;
  if (WHOLE.test(value)) return isCard(value.trim(), false);
  return cardSpans(value).length > 0;
}

/** `text` (a log line) with every card-number look-alike in it replaced. */
export function maskCardNumbers(text: string): string {
  if (text.length < 13) return text;
  if (WHOLE.test(text) && isCard(text.trim(), false)) return MASK;
  const spans = cardSpans(text);
  if (spans.length === 0) return text;
  let masked = '';
  let at = 0;
  for (const [from, to] of spans.sort((a, b) => a[0] - b[0])) {
    if (from < at) continue;
    masked += text.slice(at, from) + MASK;
    at = to;
  }
  return masked + text.slice(at);
}
