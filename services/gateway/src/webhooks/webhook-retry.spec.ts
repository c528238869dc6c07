import { shouldRetry } from '@clearline/tasks';
import { WEBHOOK_RETRY, WebhookDeliveryFailed, webhookRetryScheduleMs } from './webhook-retry';

const HOUR_MS = 3_600_000;

describe('webhook retry schedule', () => {
  it('starts fast, backs off exponentially, and ends about three days after the first attempt', () => {
    const schedule = webhookRetryScheduleMs();
    expect(schedule.slice(0, 4)).toEqual([2_000, 4_000, 8_000, 16_000]);
    expect(Math.max(...schedule)).toBe(8 * HOUR_MS);
    const totalH = schedule.reduce((sum, ms) => sum + ms, 0) / HOUR_MS;
    expect(totalH).toBeGreaterThan(66);
    expect(totalH).toBeLessThan(78);
  });

  it('retries a failed delivery until the retries run out, and nothing else', () => {
    const failed = new WebhookDeliveryFailed('503');
    expect(shouldRetry(WEBHOOK_RETRY, failed, 0)).toBe(true);
    expect(shouldRetry(WEBHOOK_RETRY, failed, WEBHOOK_RETRY.retryCountMax - 1)).toBe(true);
    expect(shouldRetry(WEBHOOK_RETRY, failed, WEBHOOK_RETRY.retryCountMax)).toBe(false);
    expect(shouldRetry(WEBHOOK_RETRY, new Error('bug'), 0)).toBe(false);
  });
});
