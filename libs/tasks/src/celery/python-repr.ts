/**
 * Python's `repr` of a JSON-like value, as Celery's events and inspect replies carry
 * results, arguments and exceptions: `{'amount': 100, 'ok': True, 'note': None}`.
 * Celery cuts these at 1,024 characters (`resultrepr_maxsize`); so does this, and it
 * stops walking a large value as soon as the text is that long.
 */

/** Celery's `resultrepr_maxsize`. */
export const REPR_LENGTH_MAX = 1_024;
/** Nesting deeper than this is shown as `...` (a value is never walked without a bound). */
const DEPTH_MAX = 16;

const ESCAPES: Readonly<Record<string, string>> = {
  '\\': '\\\\',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
};

/** A Python string literal: single quotes, unless the text has one and no double quote. */
export function pythonString(text: string): string {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let out = quote;
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0;
    const escaped = ESCAPES[char];
    if (escaped !== undefined) out += escaped;
    else if (char === quote) out += `\\${quote}`;
    else if (code < 0x20 || (code >= 0x7f && code < 0xa0)) {
      out += `\\x${code.toString(16).padStart(2, '0')}`;
    } else if (code >= 0xd800 && code <= 0xdfff) {
      out += `\\u${code.toString(16)}`;
    } else out += char;
  }
  return out + quote;
}

function pythonNumber(value: number): string {
  if (Number.isNaN(value)) return 'nan';
  if (!Number.isFinite(value)) return value > 0 ? 'inf' : '-inf';
  return String(value);
}

/** Collects text until it is longer than the limit, then refuses more. */
class Budget {
  private readonly parts: string[] = [];
  private length = 0;

  constructor(private readonly lengthMax: number) {}

  /** A method, not a getter: walking a value changes it between two reads. */
  full(): boolean {
    return this.length > this.lengthMax;
  }

  push(text: string): void {
    if (this.full()) return;
    this.parts.push(text);
    this.length += text.length;
  }

  text(): string {
    const whole = this.parts.join('');
    return whole.length > this.lengthMax ? `${whole.slice(0, this.lengthMax)}...` : whole;
  }
}

/** The repr of a value that is not a container, or null for one that is. */
function scalarRepr(value: unknown): string | null {
  if (value === null || value === undefined) return 'None';
  switch (typeof value) {
    case 'boolean':
      return value ? 'True' : 'False';
    case 'number':
      return pythonNumber(value);
    case 'bigint':
      return value.toString();
    case 'string':
      return pythonString(value);
    case 'symbol':
      return pythonString(value.toString());
    case 'function':
      return pythonString(`<function ${value.name}>`);
    case 'undefined':
    case 'object':
      // An object or an array: the walk opens it.
      break;
  }
  return null;
}

function walk(value: unknown, out: Budget, depth: number, seen: Set<object>): void {
  if (out.full()) return;
  const scalar = scalarRepr(value);
  if (scalar !== null) {
    out.push(scalar);
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  const json = (value as { toJSON?: unknown }).toJSON;
  if (typeof json === 'function') {
    walk(json.call(value) as unknown, out, depth, seen);
    return;
  }
  if (depth >= DEPTH_MAX || seen.has(value)) {
    out.push('...');
    return;
  }
  seen.add(value);
  // Loops that stop once the text is long enough: a million-item result costs no more.
  if (Array.isArray(value)) {
    out.push('[');
    for (let index = 0; index < value.length && !out.full(); index += 1) {
      if (index > 0) out.push(', ');
      walk(value[index] as unknown, out, depth + 1, seen);
    }
    out.push(']');
  } else {
    out.push('{');
    let first = true;
    for (const key in value) {
      if (out.full()) break;
      if (!Object.hasOwn(value, key)) continue;
      if (!first) out.push(', ');
      first = false;
      out.push(`${pythonString(key)}: `);
      walk((value as Record<string, unknown>)[key], out, depth + 1, seen);
    }
    out.push('}');
  }
  seen.delete(value);
}

/** `repr(value)` as Python prints the same JSON value, cut at `lengthMax` with `...`. */
export function pythonRepr(value: unknown, lengthMax: number = REPR_LENGTH_MAX): string {
  const out = new Budget(lengthMax);
  walk(value, out, 0, new Set());
  return out.text();
}

/** `repr(exc)` of a Python exception: `ValueError('amount must be positive')`. */
export function exceptionRepr(type: string, message: string): string {
  return `${type}(${pythonString(message)})`;
}
