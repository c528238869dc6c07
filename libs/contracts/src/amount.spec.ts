import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { isMinorUnits, MINOR_UNITS_MAX } from './amount';
import { ProcessRefundPayload } from './refund';

describe('minor-unit amounts on the wire', () => {
  it('takes positive strings of digits up to the bigint maximum', () => {
    expect(isMinorUnits('1')).toBe(true);
    expect(isMinorUnits(MINOR_UNITS_MAX.toString())).toBe(true);
  });

  it('refuses what a bigint column cannot hold, and anything that is not a string of digits', () => {
    expect(isMinorUnits((MINOR_UNITS_MAX + 1n).toString())).toBe(false);
    expect(isMinorUnits('9999999999999999999')).toBe(false);
    for (const bad of ['0', '-1', '01', '1.5', '1e3', ' 1', '', 1, 1.5, null]) {
      expect(isMinorUnits(bad)).toBe(false);
    }
  });

  it('makes a refund task with an amount above the bigint maximum an invalid payload', () => {
    const payload = plainToInstance(ProcessRefundPayload, {
      refund_id: 're_1',
      payment_id: 'pay_1',
      merchant_id: 'mer_1',
      amount: '9999999999999999999',
      currency: 'usd',
      source: 'tok_visa',
    });
    const errors = validateSync(payload, { whitelist: true, forbidNonWhitelisted: true });
    expect(errors.map((error) => error.property)).toEqual(['amount']);
  });
});
