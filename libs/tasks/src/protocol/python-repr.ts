/**
 * `argsrepr` and `kwargsrepr` as Celery writes them: Python's `repr` of the arguments,
 * cut to a length (Celery's `saferepr(args, 1024)`). Python workers log them, and
 * `celery events` and Flower show them, so they read as Python (`{'amount': 100,
 * 'note': None}`), never grow past the limit however large the payload, and never carry
 * a secret: a value whose key names one (a password, a token, a card number, …) shows as
 * `'***'`. The body keeps the real values; only the description is redacted.
 */

/** Celery's `argsrepr_maxsize` and `kwargsrepr_maxsize`. */
export const REPR_LENGTH_MAX = 1024;
/** Nesting shown before `...`: a description, not a dump. */
const REPR_DEPTH_MAX = 8;
/** What a redacted value shows as. */
export const REDACTED_REPR = "'***'";

/**
 * Words of a key that mark its value as secret. A key is split into words at `_`, `-`,
 * `.` and camelCase humps (`cardNumber` → card, number), and two neighbours are tried
 * joined too (`api_key` → apikey), so `company` or `spin_count` are not caught by `pan`
 * or `pin`.
 */
const SECRET_WORDS = new Set([
  'password',
  'passwd',
  'pwd',
  'passphrase',
  'secret',
  'token',
  'apikey',
  'privatekey',
  'credential',
  'credentials',
  'authorization',
  'auth',
  'cookie',
  'session',
  'card',
  'pan',
  'cvc',
  'cvv',
  'cvn',
  'pin',
  'iban',
  'ssn',
]);

/** Whether a kwarg or object key names a secret. */
export function isSecretKey(key: string): boolean {
  const words = key
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((word) => word.length > 0);
  return words.some(
    (word, i) =>
      SECRET_WORDS.has(word) || (i > 0 && SECRET_WORDS.has(`${words[i - 1] ?? ''}${word}`)),
  );
}

/** Thrown inside the writer once the limit is reached: nothing more is walked. */
class Full extends Error {}

/** Appends text up to a length; past it, throws {@link Full} so the walk stops. */
class ReprWriter {
  private text = '';

  constructor(private readonly lengthMax: number) {}

  write(part: string): void {
    if (this.text.length + part.length > this.lengthMax) {
      this.text += part.slice(0, this.lengthMax - this.text.length);
      throw new Full();
    }
    this.text += part;
  }

  get value(): string {
    return this.text;
  }
}

/** Python's repr of a str: single quotes unless the text holds one and no double quote. */
export function pythonString(text: string): string {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let out = quote;
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0;
    if (char === quote || char === '\\') out += `\\${char}`;
    else if (char === '\n') out += '\\n';
    else if (char === '\r') out += '\\r';
    else if (char === '\t') out += '\\t';
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += char;
  }
  return out + quote;
}

/** The repr of a value that is not a list or a dict; null for those. */
function scalarRepr(value: unknown): string | null {
  if (value === null || value === undefined) return 'None';
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : 'None';
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'string') return pythonString(value);
  if (typeof value !== 'object') return 'None';
  return null;
}

function writeValue(out: ReprWriter, value: unknown, depth: number): void {
  const scalar = scalarRepr(value);
  if (scalar !== null) {
    out.write(scalar);
    return;
  }
  // What JSON.stringify would put in the body (a Date becomes its ISO string).
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') {
    writeValue(out, toJSON.call(value), depth);
  } else if (depth >= REPR_DEPTH_MAX) {
    out.write(Array.isArray(value) ? '[...]' : '{...}');
  } else if (Array.isArray(value)) {
    out.write('[');
    value.forEach((item, i) => {
      if (i > 0) out.write(', ');
      writeValue(out, item, depth + 1);
    });
    out.write(']');
  } else {
    out.write('{');
    Object.entries(value as Record<string, unknown>).forEach(([key, item], i) => {
      if (i > 0) out.write(', ');
      out.write(`${pythonString(key)}: `);
      if (isSecretKey(key)) out.write(REDACTED_REPR);
      else writeValue(out, item, depth + 1);
    });
    out.write('}');
  }
}

/**
 * Python's repr of a JSON value, at most `lengthMax` characters (a cut one ends in
 * `...`), with the values of secret-named keys redacted at every depth.
 */
export function pythonRepr(value: unknown, lengthMax = REPR_LENGTH_MAX): string {
  const out = new ReprWriter(lengthMax);
  try {
    writeValue(out, value, 0);
  } catch (error) {
    if (!(error instanceof Full)) throw error;
    return `${out.value.slice(0, lengthMax - 3)}...`;
  }
  return out.value;
}
