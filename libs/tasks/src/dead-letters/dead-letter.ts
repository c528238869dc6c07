import type { Message } from 'amqplib';
import type { Publisher } from '../broker/publisher';
import { DEAD_LETTER_EXCHANGE } from '../topology';

/** Why a message was dead-lettered; stored in its `x-clearline-reason` header. */
export type DeadLetterReason =
  | 'malformed'
  | 'unregistered'
  | 'invalid-payload'
  | 'failed'
  | 'retries-exhausted'
  | 'delivery-limit'
  | 'unauthorized-sender';

export const DEAD_LETTER_HEADERS = {
  reason: 'x-clearline-reason',
  error: 'x-clearline-error',
  errorType: 'x-clearline-error-type',
  queue: 'x-clearline-queue',
  originalExchange: 'x-clearline-original-exchange',
  originalRoutingKey: 'x-clearline-original-routing-key',
  failedAt: 'x-clearline-failed-at',
  /** The broker user that sent the original (its `user_id`); the copy is sent by the worker. */
  sender: 'x-clearline-sender',
} as const;

const ERROR_TEXT_MAX = 4_096;

/**
 * Sends a copy of `message` to the dead-letter queue of `queue`, with the reason,
 * the error and the original routing in its headers; resolves once confirmed.
 */
export async function publishDeadLetter(
  publisher: Publisher,
  message: Message,
  queue: string,
  reason: DeadLetterReason,
  error: { name?: string; message: string },
): Promise<void> {
  const headers: Record<string, unknown> = {
    ...(message.properties.headers ?? {}),
    [DEAD_LETTER_HEADERS.reason]: reason,
    [DEAD_LETTER_HEADERS.error]: error.message.slice(0, ERROR_TEXT_MAX),
    [DEAD_LETTER_HEADERS.errorType]: error.name ?? 'Error',
    [DEAD_LETTER_HEADERS.queue]: queue,
    [DEAD_LETTER_HEADERS.originalExchange]: message.fields.exchange,
    [DEAD_LETTER_HEADERS.originalRoutingKey]: message.fields.routingKey,
    [DEAD_LETTER_HEADERS.failedAt]: new Date().toISOString(),
    [DEAD_LETTER_HEADERS.sender]: (message.properties.userId as string | undefined) ?? null,
  };
  const { properties } = message;
  await publisher.publish(DEAD_LETTER_EXCHANGE, queue, message.content, {
    messageId: properties.messageId as string | undefined,
    correlationId: properties.correlationId as string | undefined,
    contentType: properties.contentType as string | undefined,
    contentEncoding: properties.contentEncoding as string | undefined,
    headers,
  });
}
