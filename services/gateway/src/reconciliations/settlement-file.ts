import { createHash, type Hash } from 'node:crypto';
import { StringDecoder } from 'node:string_decoder';
import { Transform, type TransformCallback } from 'node:stream';
import { ReconciliationError, ReconciliationErrorCode } from './reconciliations.exception';

/** The first line of every processor settlement file (the processor's format). */
export const SETTLEMENT_FILE_HEADER = 'processor_reference,type,amount,currency,date';
/** The largest settlement file a reconciliation reads: 256 MiB (about 5 million lines). */
export const SETTLEMENT_FILE_BYTES_MAX = 256 * 1024 * 1024;
/** The longest processor reference a line may carry. */
export const PROCESSOR_REFERENCE_LENGTH_MAX = 255;
/** The longest line a settlement file may hold, in characters (a real one is under 100). */
export const SETTLEMENT_LINE_LENGTH_MAX = 1_024;
/** The largest amount a line may carry: PostgreSQL's bigint, the column it is staged in. */
const AMOUNT_MAX = 9_223_372_036_854_775_807n;

const LINE_TYPES = ['charge', 'refund'] as const;
export type SettlementLineType = (typeof LINE_TYPES)[number];

/** One line of a settlement file, as read. `line` is its line number in the file (the header is 1). */
export interface SettlementLine {
  line: number;
  processorReference: string;
  type: SettlementLineType;
  amount: bigint;
  /** As the processor wrote it (upper case, usually); compared without regard to case. */
  currency: string;
  /** `YYYY-MM-DD`, a UTC date. */
  date: string;
}

const AMOUNT_PATTERN = /^[1-9][0-9]{0,18}$/;
const CURRENCY_PATTERN = /^[A-Za-z]{3}$/;
const DATE_PATTERN = /^(\d{4})-(\d{2})-(\d{2})$/;
// eslint-disable-next-line no-control-regex -- control characters are what it refuses
const CONTROL_PATTERN = /[\x00-\x1f\x7f]/;

/** Whether `text` is a real calendar date written `YYYY-MM-DD`. */
export function isIsoDate(text: string): boolean {
  const parts = DATE_PATTERN.exec(text);
  if (!parts) return false;
  const [year, month, day] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  return (
    date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day
  );
}

/**
 * The fields of one CSV record on one line (RFC 4180 quoting: `"a,b"`, `""` for a quote),
 * or null when its quotes do not close. Fields never span lines in a settlement file.
 */
export function csvFields(text: string): string[] | null {
  if (!text.includes('"')) return text.split(',');
  const fields: string[] = [];
  let at = 0;
  for (;;) {
    if (text[at] !== '"') {
      const comma = text.indexOf(',', at);
      fields.push(text.slice(at, comma === -1 ? undefined : comma));
      if (comma === -1) return fields;
      at = comma + 1;
      continue;
    }
    let value = '';
    let from = at + 1;
    for (;;) {
      const quote = text.indexOf('"', from);
      if (quote === -1) return null;
      value += text.slice(from, quote);
      if (text[quote + 1] === '"') {
        value += '"';
        from = quote + 2;
        continue;
      }
      at = quote + 1;
      break;
    }
    fields.push(value);
    if (at === text.length) return fields;
    if (text[at] !== ',') return null;
    at += 1;
  }
}

/** Why a data line cannot be read, in words (the 400's message names the line too). */
function lineFault(fields: readonly string[] | null): string | null {
  if (fields === null) return 'a quoted field does not close';
  if (fields.length !== 5) return `expected 5 fields, found ${fields.length}`;
  const [reference, type, amount, currency, date] = fields as [
    string,
    string,
    string,
    string,
    string,
  ];
  if (reference.length === 0) return 'processor_reference is empty';
  if (reference.length > PROCESSOR_REFERENCE_LENGTH_MAX) {
    return `processor_reference is longer than ${PROCESSOR_REFERENCE_LENGTH_MAX} characters`;
  }
  if (CONTROL_PATTERN.test(reference)) return 'processor_reference holds a control character';
  if (!(LINE_TYPES as readonly string[]).includes(type)) {
    return `type must be charge or refund, not "${type.slice(0, 20)}"`;
  }
  if (!AMOUNT_PATTERN.test(amount) || BigInt(amount) > AMOUNT_MAX) {
    return `amount must be a positive integer of minor units, not "${amount.slice(0, 24)}"`;
  }
  if (!CURRENCY_PATTERN.test(currency)) {
    return `currency must be a three-letter ISO code, not "${currency.slice(0, 8)}"`;
  }
  if (!isIsoDate(date)) return `date must be a date written YYYY-MM-DD, not "${date.slice(0, 20)}"`;
  return null;
}

/** One data line, read and checked; a `ReconciliationError` naming the line when it is malformed. */
export function parseSettlementLine(text: string, line: number): SettlementLine {
  const fields = csvFields(text);
  const fault = lineFault(fields);
  if (fault !== null || fields === null) {
    throw new ReconciliationError(
      `Line ${line} of the settlement file is malformed: ${fault ?? 'unreadable'}`,
      ReconciliationErrorCode.LineMalformed,
    );
  }
  const [processorReference, type, amount, currency, date] = fields as [
    string,
    SettlementLineType,
    string,
    string,
    string,
  ];
  return { line, processorReference, type, amount: BigInt(amount), currency, date };
}

/**
 * A line as a row of COPY's text format: tab-separated, in the staging table's column
 * order. A reference can hold a backslash (escaped); tabs and newlines were refused.
 */
export function copyRow(line: SettlementLine): string {
  const reference = line.processorReference.replaceAll('\\', '\\\\');
  return `${line.line}\t${reference}\t${line.type}\t${line.amount}\t${line.currency}\t${line.date}\n`;
}

/**
 * Reads a settlement file as it streams, and writes its data lines as COPY rows: the
 * request body goes in, the staging table's COPY comes out, one chunk per chunk, so
 * memory holds one chunk and never the file (backpressure comes from COPY through
 * `pipeline`). On the way it hashes the bytes (sha256), counts them against the cap,
 * checks the header and every line. The first fault ends the stream with a
 * `ReconciliationError` that names it. Line endings `\n` or `\r\n`; a UTF-8 BOM before
 * the header and one final line ending are allowed.
 */
export class SettlementFileReader extends Transform {
  private readonly hash: Hash = createHash('sha256');
  private readonly decoder = new StringDecoder('utf8');
  private bytes = 0;
  private pending = '';
  /** Lines read so far, the header included. */
  private lineNumber = 0;
  private digest: string | null = null;

  constructor(private readonly bytesMax: number = SETTLEMENT_FILE_BYTES_MAX) {
    super({ readableObjectMode: false, writableObjectMode: false });
  }

  /** The data lines read (the header not counted). */
  get lines(): number {
    return Math.max(0, this.lineNumber - 1);
  }

  /** The file's sha256 in hex, once the whole file was read. */
  sha256(): string {
    if (this.digest === null) throw new Error('the settlement file has not been read to its end');
    return this.digest;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.bytesMax) {
      done(
        new ReconciliationError(
          `The settlement file is larger than ${this.bytesMax} bytes`,
          ReconciliationErrorCode.FileTooLarge,
        ),
      );
      return;
    }
    this.hash.update(chunk);
    this.read_(this.decoder.write(chunk), false, done);
  }

  override _flush(done: TransformCallback): void {
    this.read_(this.decoder.end(), true, (error) => {
      if (error) {
        done(error);
      } else if (this.lineNumber === 0) {
        done(
          new ReconciliationError(
            'The settlement file is empty: it needs at least its header line',
            ReconciliationErrorCode.FileEmpty,
          ),
        );
      } else {
        this.digest = this.hash.digest('hex');
        done();
      }
    });
  }

  /** Reads the complete lines of `text` (and the last one too at the end of the file). */
  private read_(text: string, last: boolean, done: TransformCallback): void {
    const all = this.pending + text;
    const lines = all.split('\n');
    this.pending = last ? '' : (lines.pop() ?? '');
    if (this.pending.length > SETTLEMENT_LINE_LENGTH_MAX) {
      done(this.tooLong(this.lineNumber + lines.length + 1));
      return;
    }
    // A final line ending leaves an empty last piece, which is no line.
    if (last && lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
    let out = '';
    try {
      for (const raw of lines) out += this.readLine(raw.endsWith('\r') ? raw.slice(0, -1) : raw);
    } catch (error) {
      done(error as Error);
      return;
    }
    done(null, out.length > 0 ? out : undefined);
  }

  private tooLong(line: number): ReconciliationError {
    return new ReconciliationError(
      `Line ${line} of the settlement file is malformed: longer than ${SETTLEMENT_LINE_LENGTH_MAX} characters`,
      ReconciliationErrorCode.LineMalformed,
    );
  }

  private readLine(text: string): string {
    this.lineNumber += 1;
    if (text.length > SETTLEMENT_LINE_LENGTH_MAX) throw this.tooLong(this.lineNumber);
    if (this.lineNumber === 1) {
      const header = text.startsWith('\uFEFF') ? text.slice(1) : text;
      if (header !== SETTLEMENT_FILE_HEADER) {
        throw new ReconciliationError(
          `The settlement file's header must be "${SETTLEMENT_FILE_HEADER}"`,
          ReconciliationErrorCode.HeaderInvalid,
        );
      }
      return '';
    }
    return copyRow(parseSettlementLine(text, this.lineNumber));
  }
}
