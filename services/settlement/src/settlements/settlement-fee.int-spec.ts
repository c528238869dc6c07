/**
 * A run prices its items in SQL (FEE_SQL, inside the claim's one statement); the rule is
 * feeFor's. Both must give the same fee for every amount, pricing and currency, on the
 * real PostgreSQL: numeric arithmetic, rounding half up, the fixed part, the cap.
 */
import fc from 'fast-check';
import { AMOUNT_MAX, feeFor, PERCENT_BPS_MAX, type Pricing } from '@clearline/ledger-core';
import { withAdminDatabase } from '@clearline/testing';
import type { Client } from 'pg';
import { FEE_SQL } from './settlement.repository';

/** Currencies of exponent 0, 2 and 3: the fee never depends on the exponent. */
const currencyArb = fc.constantFrom('JPY', 'USD', 'KWD', 'BHD', 'EUR', 'KRW');

const pricingArb: fc.Arbitrary<Pricing> = fc.record({
  percentBps: fc.oneof(
    fc.integer({ min: 0, max: PERCENT_BPS_MAX }),
    fc.constantFrom(0, 1, 290, 360, 5_000, 9_999, PERCENT_BPS_MAX),
  ),
  fixed: fc.oneof(
    fc.bigInt({ min: 0n, max: 1_000_000n }),
    fc.bigInt({ min: 0n, max: AMOUNT_MAX }),
    fc.constantFrom(0n, 30n, AMOUNT_MAX),
  ),
});

/** Payment-sized amounts, the whole ledger range, its edges and the .5 rounding cases. */
const amountArb = fc.oneof(
  fc.bigInt({ min: 1n, max: 99_999_999n }),
  fc.bigInt({ min: 1n, max: AMOUNT_MAX }),
  fc.constantFrom(1n, 2n, 50n, 5_000n, 10_000n, 15_000n, AMOUNT_MAX - 1n, AMOUNT_MAX),
);

const caseArb = fc.record({ amount: amountArb, pricing: pricingArb, currency: currencyArb });

async function sqlFees(
  client: Client,
  cases: readonly { amount: bigint; pricing: Pricing }[],
): Promise<bigint[]> {
  const { rows } = await client.query<{ fee: string }>(
    `SELECT ${FEE_SQL('t.amount', 't.bps', 't.fixed')}::text AS fee
       FROM unnest($1::bigint[], $2::int[], $3::bigint[]) WITH ORDINALITY AS t (amount, bps, fixed, n)
      ORDER BY t.n`,
    [
      cases.map((c) => c.amount.toString()),
      cases.map((c) => c.pricing.percentBps),
      cases.map((c) => c.pricing.fixed.toString()),
    ],
  );
  return rows.map((row) => BigInt(row.fee));
}

describe('FEE_SQL (the fee a run writes) against feeFor', () => {
  it('gives feeFor’s fee for every amount, pricing and currency', async () => {
    await withAdminDatabase(async (client) => {
      await fc.assert(
        fc.asyncProperty(fc.array(caseArb, { minLength: 1, maxLength: 200 }), async (cases) => {
          const fees = await sqlFees(client, cases);
          expect(fees).toEqual(cases.map((c) => feeFor(c.amount, c.pricing, c.currency)));
        }),
        { numRuns: 100 },
      );
    });
  });

  it('rounds an exact half up and caps the fee at the amount', async () => {
    await withAdminDatabase(async (client) => {
      const cases = [
        { amount: 150n, pricing: { percentBps: 100, fixed: 0n } }, // 1.5 -> 2
        { amount: 149n, pricing: { percentBps: 100, fixed: 0n } }, // 1.49 -> 1
        { amount: 10n, pricing: { percentBps: 290, fixed: 30n } }, // 0.29 + 30 -> capped at 10
        { amount: AMOUNT_MAX, pricing: { percentBps: PERCENT_BPS_MAX, fixed: AMOUNT_MAX } },
      ];
      expect(await sqlFees(client, cases)).toEqual([2n, 1n, 10n, AMOUNT_MAX]);
    });
  });
});
