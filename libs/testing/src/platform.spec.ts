import { dailySettlementAwayFromNow } from './platform';

describe('dailySettlementAwayFromNow', () => {
  it('puts the daily run 12 hours from now, whatever the hour, in UTC', () => {
    for (let hour = 0; hour < 24; hour += 1) {
      const now = new Date(Date.UTC(2026, 11, 4, hour, 59, 59));
      const env = dailySettlementAwayFromNow(now);
      expect(env).toEqual({
        SETTLEMENT_HOUR: String((hour + 12) % 24),
        SETTLEMENT_TIMEZONE: 'UTC',
      });
    }
  });
});
