import { Logger } from '@nestjs/common';
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import { eventClock } from './celery-events';
import {
  addressedTo,
  decodePidboxRequest,
  nok,
  PIDBOX_EXCHANGE,
  PIDBOX_EXCHANGE_OPTIONS,
  PIDBOX_QUEUE_OPTIONS,
  PIDBOX_REPLY_EXCHANGE,
  pidboxQueueName,
  runPidboxCommand,
  type PidboxRequest,
  type PidboxWorker,
} from './celery-pidbox';
import type { CeleryEventPublisher } from './event-publisher';

/**
 * One worker's node in Celery's remote control: its queue `<node>.celery.pidbox`, bound
 * to `celery.pidbox`, declared exactly as Celery declares it; the requests addressed to
 * it run their command and are answered through the event publisher (the publishing
 * connection, no confirms, dropped rather than held when the broker pushes back).
 */
export class PidboxNode {
  private readonly logger = new Logger(PidboxNode.name);
  private channel: Channel | null = null;

  constructor(
    private readonly worker: PidboxWorker,
    private readonly publisher: CeleryEventPublisher,
  ) {}

  /**
   * On every (re)connection. A failure (another application declared `celery.pidbox`
   * differently) is logged and leaves remote control off until the next connection; it
   * never stops the worker from taking tasks.
   */
  async attach(model: ChannelModel): Promise<void> {
    let channel: Channel | null = null;
    try {
      channel = await model.createChannel();
      channel.on('error', (error: Error) =>
        this.logger.warn(`Celery remote-control channel error: ${error.message}`),
      );
      const queue = pidboxQueueName(this.worker.node);
      await channel.assertExchange(PIDBOX_EXCHANGE, 'fanout', PIDBOX_EXCHANGE_OPTIONS);
      // The reply exchange too, as a Celery client would: whoever comes first, they agree.
      await channel.assertExchange(PIDBOX_REPLY_EXCHANGE, 'direct', PIDBOX_EXCHANGE_OPTIONS);
      await channel.assertQueue(queue, PIDBOX_QUEUE_OPTIONS);
      await channel.bindQueue(queue, PIDBOX_EXCHANGE, '');
      const opened = channel;
      await opened.consume(queue, (message) => message && this.onMessage(message), {
        noAck: true,
      });
      this.channel = opened;
    } catch (error) {
      this.logger.warn(`Celery remote control is off until the next connection: ${String(error)}`);
      await channel?.close().catch(() => undefined);
    }
  }

  private onMessage(message: ConsumeMessage): void {
    const request = decodePidboxRequest(message.content);
    if (!request) {
      this.logger.warn('ignored a Celery remote-control message that is not a request');
      return;
    }
    const headers: Record<string, unknown> = message.properties.headers ?? {};
    const clock = headers['clock'];
    eventClock.adjust(typeof clock === 'number' ? clock : 0);
    if (!addressedTo(request, this.worker.node)) return;
    void this.dispatch(request);
  }

  private async dispatch(request: PidboxRequest): Promise<void> {
    let answer: unknown;
    try {
      answer = await runPidboxCommand(this.worker, request.method, request.arguments);
    } catch (error) {
      this.logger.warn(`Celery remote-control command ${request.method} failed: ${String(error)}`);
      answer = nok(String(error));
    }
    const replyTo = request.replyTo;
    if (!replyTo) return;
    // Only Celery's reply exchange: a request cannot make this worker declare others.
    if (replyTo.exchange !== PIDBOX_REPLY_EXCHANGE) {
      this.logger.warn(`not answering to reply exchange ${replyTo.exchange}`);
      return;
    }
    await this.publisher.publishReply(
      replyTo.exchange,
      replyTo.routingKey,
      // kombu sends `{node: None}` for a command without an answer.
      { [this.worker.node]: answer ?? null },
      { ticket: request.ticket, clock: eventClock.forward() },
    );
  }

  /** Stops answering (the queue goes away by itself, as Celery's does). */
  async close(): Promise<void> {
    const channel = this.channel;
    this.channel = null;
    await channel?.close().catch(() => undefined);
  }
}
