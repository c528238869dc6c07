import fc from 'fast-check';
import { looksLikeCardNumber, luhnValid, maskCardNumbers } from './card-number';

/** A Luhn-valid number of `length` digits starting with `first`. */
function card(first: string, length: number, seed: number): string {
  let body = first;
  let x = seed;
  while (body.length < length - 1) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    body += String(x % 10);
  }
  for (let check = 0; check <= 9; check += 1) {
    if (luhnValid(body + String(check))) return body + String(check);
  }
  throw new Error('unreachable');
}

describe('card numbers', () => {
  it.each([
    '4242424242424242',
    '4242 4242 4242 4242',
    '4242-4242-4242-4242',
    '5555555555554444',
    '378282246310005',
    '6011111111111117',
    ' 4000056655665556 ',
  ])('finds %s as a whole value', (value) => {
    expect(looksLikeCardNumber(value)).toBe(true);
  });

  it('finds a card number inside text, and as a JSON number', () => {
    expect(looksLikeCardNumber('my card is 4242 4242 4242 4242, thanks')).toBe(true);
    expect(looksLikeCardNumber(4242424242424242)).toBe(true);
  });

  it.each([
    '4242424242424241', // fails Luhn
    '424242424242', // 12 digits
    '42424242424242424242', // 20 digits
    'tok_visa',
    'order 1764767000009 shipped', // a ms timestamp in text (starts with 1)
    '4242  4242 4242 4242', // double space: not one number
  ])('does not take %s for a card number', (value) => {
    expect(looksLikeCardNumber(value)).toBe(false);
  });

  it('finds every Luhn-valid number of 13-19 digits, whole or grouped by spaces or dashes', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 13, max: 19 }),
        fc.constantFrom('2', '3', '4', '5', '6'),
        fc.integer({ min: 0, max: 2 ** 30 }),
        fc.constantFrom('', ' ', '-'),
        (length, first, seed, separator) => {
          const digits = card(first, length, seed);
          const grouped = digits.replace(/(\d{4})(?=\d)/g, `$1${separator}`);
          expect(looksLikeCardNumber(grouped)).toBe(true);
          expect(looksLikeCardNumber(`note: ${grouped}.`)).toBe(true);
          expect(maskCardNumbers(`x ${grouped} y`)).not.toContain(digits.slice(0, 12));
        },
      ),
    );
  });

  it('masks card numbers in log text and leaves the rest', () => {
    expect(maskCardNumbers('GET /v1/payments?q=4242424242424242 200')).toBe(
      'GET /v1/payments?q=[card number removed] 200',
    );
    expect(maskCardNumbers('pay_123 took 12 ms')).toBe('pay_123 took 12 ms');
  });

  it('takes numbers of any first digit in text, and URL-encoded ones, but not a ms timestamp', () => {
    // UATP (1), RuPay (8), Troy (9).
    for (const number of ['135410014004955', '8171 9999 2766 0000', '9792-0000-0000-0003']) {
      expect(looksLikeCardNumber(`ref ${number} ok`)).toBe(true);
      expect(maskCardNumbers(`{"msg":"ref ${number} ok"}`)).toBe(
        '{"msg":"ref [card number removed] ok"}',
      );
    }
    expect(
      maskCardNumbers('GET /v1/payments/4242%204242%204242%204242?q=6011+1111+1111+1117'),
    ).toBe('GET /v1/payments/[card number removed]?q=[card number removed]');
    expect(maskCardNumbers('{"time":1764767000003,"msg":"a%2014 b"}')).toBe(
      '{"time":1764767000003,"msg":"a%2014 b"}',
    );
  });

  it('never takes a UUID for a card number, though its digit groups may pass Luhn', () => {
    // Its groups 33536…, 8120-33536… hold Luhn-valid runs: refused as a path id before.
    const lookalike = '88dffd60-566b-4853-8120-33536d153b6b';
    expect(looksLikeCardNumber(lookalike)).toBe(false);
    expect(maskCardNumbers(`task ${lookalike} retry 1`)).toBe(`task ${lookalike} retry 1`);
    // A card number beside a UUID is still found.
    expect(maskCardNumbers(`task ${lookalike} card 4242 4242 4242 4242`)).toBe(
      `task ${lookalike} card [card number removed]`,
    );
    fc.assert(
      fc.property(fc.uuid(), fc.boolean(), (uuid, upper) => {
        const id = upper ? uuid.toUpperCase() : uuid;
        expect(looksLikeCardNumber(id)).toBe(false);
        expect(maskCardNumbers(`GET /v1/admin/tasks/${id} 200`)).toContain(id);
      }),
      { numRuns: 5_000 },
    );
  });
});
