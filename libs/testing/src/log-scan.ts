/**
 * Card numbers are never logged (issue 15): every service process a test starts writes
 * its whole output (stdout and stderr) to a file of the run's log directory as well, and
 * this scans log lines for anything that looks like a card number.
 *
 * The scanner's rule is stricter than the masking the services apply
 * (`maskCardNumbers`), so it finds what slips past the masking, and loose enough that
 * Clearline's own ids and figures never trip it. A line holds a card number when, after
 * undoing the encodings a client's text travels in inside a log line (URL encoding:
 * `%20`, `%2D`, `+`; JSON escapes `\u0020`, `\u002d`), it has a run of 13–19 digits,
 * alone or in groups split by single spaces or dashes, that passes the Luhn check,
 * whatever its first digit, except:
 *
 * - exactly 13 digits starting with 1: a millisecond timestamp (2001 to 2033), as every
 *   line's `time` is;
 * - digits inside a UUID, or glued to a letter on either side (`a716-446655440000`, a
 *   hex digest, a base62 id): part of an identifier, not a number anyone typed.
 */
import { createReadStream } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const DIGITS_MIN = 13;
const DIGITS_MAX = 19;
/** What a finding shows in place of the look-alike. */
const MASK = '[CARD NUMBER]';
/** A finding's line is cut to this many characters. */
const FINDING_LINE_LENGTH_MAX = 400;
/** Findings listed in a failure message; the rest are counted. */
const FINDINGS_SHOWN_MAX = 20;

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;
/** A run of digit groups split by single spaces or dashes, not glued to a letter or digit. */
const RUN = /(?<![0-9A-Za-z])\d+(?:[ -]\d+)*(?![0-9A-Za-z])/g;
const ENCODED_SEPARATORS: [RegExp, string][] = [
  [/%20|\+|\\u0020/gi, ' '],
  [/%2d|\\u002d/gi, '-'],
];

/** `line` as a client's text reads once the URL and JSON escapes of a space or dash are undone. */
function decoded(line: string): string {
  let text = line;
  for (const [encoded, plain] of ENCODED_SEPARATORS) text = text.replace(encoded, plain);
  return text.replace(UUID, 'uuid');
}

/**
 * The Luhn check. Not `luhnValid` of @clearline/contracts: Jest's global teardown, which
 * runs this, loads modules without the `@clearline/*` path aliases.
 */
function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = digits.length - 1, double = false; i >= 0; i -= 1, double = !double) {
    const digit = (digits.charCodeAt(i) - 48) * (double ? 2 : 1);
    sum += digit > 9 ? digit - 9 : digit;
  }
  return sum % 10 === 0;
}

function looksLikeCard(digits: string): boolean {
  if (digits.length < DIGITS_MIN || digits.length > DIGITS_MAX) return false;
  if (digits.length === DIGITS_MIN && digits.startsWith('1')) return false;
  return luhnValid(digits);
}

/** The spans `[from, to)` of `text` (already decoded) that look like card numbers. */
function cardSpans(text: string): [number, number][] {
  const spans: [number, number][] = [];
  for (const run of text.matchAll(RUN)) {
    const groups = [...run[0].matchAll(/\d+/g)].map((group) => ({
      from: run.index + group.index,
      digits: group[0],
    }));
    groups.forEach((first, i) => {
      let digits = '';
      for (const group of groups.slice(i)) {
        digits += group.digits;
        if (digits.length > DIGITS_MAX) break;
        if (looksLikeCard(digits)) spans.push([first.from, group.from + group.digits.length]);
      }
    });
  }
  return spans;
}

/**
 * The card-number look-alikes in one log line, by the rule above, each with the line
 * (decoded) masked, so a failure can name the line without repeating the number.
 */
export function findCardNumbers(line: string): { count: number; masked: string } {
  const text = decoded(line);
  const spans = cardSpans(text).sort((a, b) => a[0] - b[0]);
  let masked = '';
  let at = 0;
  for (const [from, to] of spans) {
    if (to <= at) continue;
    masked += text.slice(at, Math.max(at, from)) + MASK;
    at = to;
  }
  return { count: spans.length, masked: masked + text.slice(at) };
}

/** A log line that holds a card-number look-alike: where, and the line masked. */
export interface LogFinding {
  file: string;
  /** 1-based. */
  line: number;
  masked: string;
}

/** Every finding in the files given, line by line (a file of any size, read as a stream). */
export async function scanLogFiles(files: readonly string[]): Promise<LogFinding[]> {
  const findings: LogFinding[] = [];
  for (const file of files) {
    const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
    let number = 0;
    for await (const line of lines) {
      number += 1;
      if (line.length < DIGITS_MIN) continue;
      const found = findCardNumbers(line);
      if (found.count > 0) {
        findings.push({
          file,
          line: number,
          masked: found.masked.slice(0, FINDING_LINE_LENGTH_MAX),
        });
      }
    }
  }
  return findings;
}

/** A failure message naming each finding's file and line (masked). */
export function describeFindings(findings: readonly LogFinding[]): string {
  const shown = findings
    .slice(0, FINDINGS_SHOWN_MAX)
    .map((finding) => `  ${finding.file}:${finding.line}: ${finding.masked}`);
  const more = findings.length - shown.length;
  return [
    `${findings.length} log line(s) hold a card-number look-alike:`,
    ...shown,
    ...(more > 0 ? [`  … and ${more} more`] : []),
  ].join('\n');
}

/** The directory all log files of the run `run` go to (`os.tmpdir()/clearline-test-logs/<run>`). */
export function runLogDirectory(run: string): string {
  return join(tmpdir(), 'clearline-test-logs', run);
}

/** The run's log directory, made if missing. */
export async function ensureRunLogDirectory(run: string): Promise<string> {
  const directory = runLogDirectory(run);
  await mkdir(directory, { recursive: true });
  return directory;
}

/** Every log file of the run, or none when no service process ran. */
export async function runLogFiles(run: string): Promise<string[]> {
  const directory = runLogDirectory(run);
  const names = await readdir(directory).catch(() => [] as string[]);
  return names.sort().map((name) => join(directory, name));
}

/** Deletes the run's log directory. */
export async function removeRunLogs(run: string): Promise<void> {
  await rm(runLogDirectory(run), { recursive: true, force: true });
}
