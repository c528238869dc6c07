import type { Publisher } from '../broker/publisher';
import { ORIGIN } from '../client/task-message-factory';
import { encodeTask, type TaskMessage } from '../protocol/celery-message';
import { delayRoute } from '../topology';
import {
  retryDelayMs,
  RETRY_COUNT_MAX_DEFAULT,
  type TaskHandlerOptions,
} from '../worker/task-options';
import { MaxRetriesExceededError, type RetryRequested } from './control-errors';

/** What a `ctx.retry()` leads to: another attempt after a delay, or the end of the task. */
export type RetryDecision = { retry: true; delayMs: number } | { retry: false; error: Error };

/**
 * Decides a handler's own retry request (Celery's `self.retry`): the countdown it asked
 * for, or the task's backoff; once its retries are spent, the task ends with the error it
 * gave or `MaxRetriesExceededError` (dead letter `retries-exhausted`).
 */
export function decideRequestedRetry(
  request: RetryRequested,
  options: TaskHandlerOptions,
  retries: number,
): RetryDecision {
  const retryCountMax = options.retryCountMax ?? RETRY_COUNT_MAX_DEFAULT;
  if (retries >= retryCountMax) {
    return {
      retry: false,
      error:
        request.reason ??
        new MaxRetriesExceededError(`retry requested after ${retries} of ${retryCountMax} retries`),
    };
  }
  return { retry: true, delayMs: request.countdownMs ?? retryDelayMs(options, retries) };
}

/** Publishes the next attempt (retries + 1) through the delay levels to its queue. */
export async function publishRetry(
  publisher: Publisher,
  message: TaskMessage,
  queue: string,
  delayMs: number,
): Promise<void> {
  const retry = encodeTask({
    ...message,
    retries: message.retries + 1,
    eta: new Date(Date.now() + delayMs),
    origin: ORIGIN,
    embed: message.embed,
  });
  const route = delayRoute(queue, delayMs);
  await publisher.publish(route.exchange, route.routingKey, retry.content, retry.properties);
}
