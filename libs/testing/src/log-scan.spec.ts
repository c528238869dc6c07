import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeFindings, findCardNumbers, scanLogFiles } from './log-scan';

const line = (fields: Record<string, unknown>): string =>
  JSON.stringify({ level: 30, time: 1764767000003, pid: 41234, service: 'gateway', ...fields });

describe('the log scanner', () => {
  it.each([
    ['a plain number in a URL', line({ req: { url: '/v1/payments/4242424242424242' } })],
    ['a spaced number in a message', line({ msg: 'card 4111 1111 1111 1111 refused' })],
    ['a dashed number in a header', line({ req: { headers: { 'x-id': '5555-5555-5555-4444' } } })],
    ['a JSON number', line({ amount: 378282246310005 })],
    ['URL-encoded spaces', line({ req: { url: '/v1/payments?q=4242%204242%204242%204242' } })],
    ['plus signs for spaces', line({ req: { url: '/v1/payments?q=6011+1111+1111+1117' } })],
    ['a JSON-escaped space', '{"msg":"4242\\u00204242\\u00204242\\u00204242"}'],
    ['13 digits (Visa)', line({ msg: 'x 4222222222222 y' })],
    ['19 digits (Visa)', line({ msg: 'x 4000000000000000006' })],
    ['a first digit of 1 (UATP, 15 digits)', line({ msg: 'ref 135410014004955' })],
    ['a first digit of 8 (RuPay)', line({ reqId: '8171999927660000' })],
    ['a first digit of 9 (Troy)', line({ msg: '9792-0000-0000-0003' })],
    ['a plain-text stderr line', 'Error: could not parse 3530 1113 3330 0000 as an amount'],
  ])('flags %s', (_, text) => {
    const found = findCardNumbers(text);
    expect(found.count).toBeGreaterThan(0);
    expect(found.masked).toContain('[CARD NUMBER]');
    expect(findCardNumbers(found.masked).count).toBe(0);
  });

  it.each([
    ['a millisecond timestamp (Luhn-valid)', line({ msg: 'request completed' })],
    ['amounts, durations, ports', line({ amount: 2000, responseTime: 12, port: 40123 })],
    [
      'an ISO time and a date range',
      line({ msg: '2025-12-03T10:11:12.345Z 2025-12-01 - 2025-12-31' }),
    ],
    [
      'a UUID whose last groups are Luhn-valid digits',
      line({ task: '5f0e8400-e29b-41d4-8123-123456789010' }),
    ],
    ['digits glued to letters (a hex digest)', line({ sig: 'v1=ab4242424242424242cd0e' })],
    [
      'a base62 id',
      line({ id: 'pay_4242424242424242Ab9x0Qz1', task: 'pay_x1:authorize:resume:2' }),
    ],
    ['a Luhn-invalid 16-digit number', line({ msg: 'order 4242424242424241' })],
    ['12 and 20 digits', line({ msg: '424242424242 and 42424242424242424242' })],
  ])('does not flag %s', (_, text) => {
    expect(findCardNumbers(text)).toEqual({
      count: 0,
      masked: text.replace(/[0-9a-f-]{36}/, 'uuid'),
    });
  });

  it('names the file and line of each finding, masked', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'clearline-log-scan-'));
    try {
      const file = join(directory, 'gateway.log');
      const lines = [line({ msg: 'ok' }), line({ msg: 'card 4242-4242-4242-4242' }), 'plain'];
      await writeFile(file, `${lines.join('\n')}\n`);
      const findings = await scanLogFiles([file]);
      expect(findings).toEqual([
        { file, line: 2, masked: expect.stringContaining('card [CARD NUMBER]') as string },
      ]);
      const message = describeFindings(findings);
      expect(message).toContain(`${file}:2:`);
      expect(message).not.toContain('4242-4242');
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});
