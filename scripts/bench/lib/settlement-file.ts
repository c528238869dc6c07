import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { request } from 'node:http';
import { createInterface } from 'node:readline';
import { Readable, type Writable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { BenchPlatform } from './platform-bench';

/** How long the download of a day's file and the reconciliation of it may take. */
const FILE_TIMEOUT_MS = 600_000;
/** One line in this many gets each kind of discrepancy (~100 of each in a million lines). */
const DISCREPANCY_EVERY = 10_007;

/** The discrepancies written into a file, by the kind the reconciliation must report. */
export interface Injected {
  /** Data lines of the file as the sandbox wrote it. */
  original: number;
  /** Data lines of the file posted. */
  lines: number;
  matched: number;
  missing_in_ours: number;
  missing_in_file: number;
  amount_mismatch: number;
  currency_mismatch: number;
  duplicate_in_file: number;
}

/** Streams the sandbox's settlement file of `date` (YYYY-MM-DD) to `path`. */
export async function downloadSettlementFile(
  platform: BenchPlatform,
  date: string,
  path: string,
): Promise<void> {
  const response = await fetch(platform.url(`/v1/admin/sandbox/settlement_file?date=${date}`), {
    headers: { authorization: `Bearer ${platform.adminKey}` },
    signal: AbortSignal.timeout(FILE_TIMEOUT_MS),
  });
  if (!response.ok || response.body === null) {
    throw new Error(`GET settlement_file: ${response.status} ${await response.text()}`);
  }
  await pipeline(
    Readable.fromWeb(response.body as WebReadableStream<Uint8Array>),
    createWriteStream(path),
  );
}

/** Writes `text` and waits for the stream to drain when its buffer is full. */
async function write(out: Writable, text: string): Promise<void> {
  if (!out.write(text)) await new Promise((resolve) => out.once('drain', resolve));
}

/**
 * Copies the file at `from` to `to`, line by line (never held whole), with discrepancies
 * at fixed lines: per DISCREPANCY_EVERY data lines, one amount changed (+1), one
 * currency changed (usd ↔ eur), one line dropped, one line written twice, and one line
 * with a reference nobody knows added. Returns what was injected, by the kind the
 * reconciliation must count (a line written twice: the first matches, the second is the
 * duplicate).
 */
export async function injectDiscrepancies(from: string, to: string): Promise<Injected> {
  const counts: Injected = {
    original: 0,
    lines: 0,
    matched: 0,
    missing_in_ours: 0,
    missing_in_file: 0,
    amount_mismatch: 0,
    currency_mismatch: 0,
    duplicate_in_file: 0,
  };
  const out = createWriteStream(to);
  const lines = createInterface({ input: createReadStream(from), crlfDelay: Infinity });
  let header = true;
  for await (const line of lines) {
    if (header || line.trim() === '') {
      if (header) await write(out, `${line}\n`);
      header = false;
      continue;
    }
    counts.original += 1;
    for (const written of discrepant(line, counts.original, counts)) {
      await write(out, `${written}\n`);
      counts.lines += 1;
    }
  }
  out.end();
  await finished(out);
  return counts;
}

/** The lines written for data line `n` (1-based), counting what it injects. */
function discrepant(line: string, n: number, counts: Injected): string[] {
  const [reference = '', type = '', amount = '0', currency = '', date = ''] = line.split(',');
  switch (n % DISCREPANCY_EVERY) {
    case 1:
      counts.amount_mismatch += 1;
      return [[reference, type, String(BigInt(amount) + 1n), currency, date].join(',')];
    case 2: {
      counts.currency_mismatch += 1;
      const other = currency.toLowerCase() === 'usd' ? 'eur' : 'usd';
      const cased = currency === currency.toUpperCase() ? other.toUpperCase() : other;
      return [[reference, type, amount, cased, date].join(',')];
    }
    case 3:
      counts.missing_in_file += 1;
      return [];
    case 4:
      counts.matched += 1;
      counts.duplicate_in_file += 1;
      return [line, line];
    case 5:
      counts.matched += 1;
      counts.missing_in_ours += 1;
      return [line, [`${reference}_unknown`, type, amount, currency, date].join(',')];
    default:
      counts.matched += 1;
      return [line];
  }
}

/** What `POST /v1/admin/reconciliations` answers. */
export interface Reconciliation {
  id: string;
  lines: number;
  counts: Omit<Injected, 'original' | 'lines'>;
}

/**
 * POSTs the file at `path` as `text/csv`, streamed from the disk (with its length, so
 * the gateway can refuse an oversized file before reading it). Resolves with the status
 * and the answer.
 */
export async function postReconciliation(
  platform: BenchPlatform,
  path: string,
): Promise<{ status: number; body: Reconciliation }> {
  const { size } = await stat(path);
  const url = new URL(platform.url('/v1/admin/reconciliations'));
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        headers: {
          authorization: `Bearer ${platform.adminKey}`,
          'content-type': 'text/csv',
          'content-length': String(size),
        },
        timeout: FILE_TIMEOUT_MS,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          const status = response.statusCode ?? 0;
          if (status !== 200 && status !== 201) {
            reject(new Error(`POST reconciliations: ${status} ${text}`));
            return;
          }
          resolve({ status, body: JSON.parse(text) as Reconciliation });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`POST reconciliations: no answer in time`)));
    req.on('error', reject);
    pipeline(createReadStream(path), req).catch(reject);
  });
}
