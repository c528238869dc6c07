import { TaskContext, type TaskMessage } from '@clearline/tasks';
import { WEBHOOK_RETRY, webhookRetryScheduleMs } from './webhook-retry';
import { WebhookError, WebhookErrorCode } from './webhooks.exception';

const HOUR_MS = 3_600_000;

/** The context a delivery's handler sees on attempt `retries + 1`. */
function attempt(retries: number): TaskContext {
  const message: TaskMessage = {
    id: 'evt_test:deliver',
    task: 'gateway.deliver_webhook',
    args: [],
    kwargs: { event_id: 'evt_test' },
    embed: { callbacks: null, errbacks: null, chain: null, chord: null },
    retries,
    eta: null,
    expires: null,
    rootId: 'evt_test:deliver',
    parentId: null,
    group: null,
    groupIndex: null,
    timeLimitSoftS: null,
    timeLimitHardS: null,
    origin: 'test',
    ignoreResult: false,
    replyTo: null,
    correlationId: 'evt_test:deliver',
  };
  return new TaskContext(message, 'gateway', null, WEBHOOK_RETRY);
}

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
    const failed = new WebhookError('503', WebhookErrorCode.DeliveryFailed);
    expect(attempt(0).willRetry(failed)).toBe(true);
    expect(attempt(WEBHOOK_RETRY.retryCountMax - 1).willRetry(failed)).toBe(true);
    expect(attempt(WEBHOOK_RETRY.retryCountMax).willRetry(failed)).toBe(false);
    expect(attempt(WEBHOOK_RETRY.retryCountMax).isLastAttempt).toBe(true);
    expect(attempt(0).willRetry(new Error('bug'))).toBe(false);
    expect(attempt(0).willRetry(new WebhookError('gone', WebhookErrorCode.EventNotFound))).toBe(
      false,
    );
  });
});
