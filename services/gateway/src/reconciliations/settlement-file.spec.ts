import { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import { text } from 'node:stream/consumers';
import {
  csvFields,
  isIsoDate,
  SETTLEMENT_FILE_HEADER,
  SettlementFileReader,
} from './settlement-file';

/** The COPY rows a reader writes for `chunks`, and its line count and hash. */
async function read(chunks: string[], bytesMax?: number) {
  const reader = new SettlementFileReader(bytesMax);
  const rows = await text(Readable.from(chunks.map((c) => Buffer.from(c))).pipe(reader));
  return { rows, lines: reader.lines, sha256: reader.sha256() };
}

describe('settlement file', () => {
  it('reads lines split anywhere across chunks, with CRLF, a BOM and quotes', async () => {
    const file = `\uFEFF${SETTLEMENT_FILE_HEADER}\r\nref_1,charge,100,USD,2026-01-02\r\n"ref,\\2",refund,5,eur,2026-01-03\r\n`;
    const chunks = [file.slice(0, 7), file.slice(7, 50), file.slice(50, 51), file.slice(51)];
    const result = await read(chunks);
    expect(result.rows).toBe(
      '2\tref_1\tcharge\t100\tUSD\t2026-01-02\n3\tref,\\\\2\trefund\t5\teur\t2026-01-03\n',
    );
    expect(result.lines).toBe(2);
    expect(result.sha256).toBe(createHash('sha256').update(file).digest('hex'));
  });

  it('takes a last line without a line ending, and a header alone', async () => {
    expect((await read([`${SETTLEMENT_FILE_HEADER}\nr,charge,1,USD,2026-01-02`])).lines).toBe(1);
    expect((await read([SETTLEMENT_FILE_HEADER])).lines).toBe(0);
  });

  it('names the line of the first fault', async () => {
    await expect(
      read([`${SETTLEMENT_FILE_HEADER}\nr,charge,1,USD,2026-01-02\nr,charge,1.0,USD,2026-01-02\n`]),
    ).rejects.toThrow(/^Line 3 .*amount/);
    await expect(read(['a,b,c\n'])).rejects.toThrow(/header/);
    await expect(read([''])).rejects.toThrow(/empty/);
  });

  it('refuses a file above its cap', async () => {
    await expect(
      read([`${SETTLEMENT_FILE_HEADER}\n`, 'r,charge,1,USD,2026-01-02\n'], 60),
    ).rejects.toThrow(/larger than 60 bytes/);
  });

  it('splits quoted CSV fields and checks calendar dates', () => {
    expect(csvFields('a,"b,""c""",d')).toEqual(['a', 'b,"c"', 'd']);
    expect(csvFields('a,"b')).toBeNull();
    expect(isIsoDate('2024-02-29')).toBe(true);
    expect(isIsoDate('2026-02-29')).toBe(false);
    expect(isIsoDate('2026-1-02')).toBe(false);
  });
});
