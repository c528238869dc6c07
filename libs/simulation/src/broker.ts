import type { Options } from 'amqplib';
import type { EncodedTask } from '../../tasks/src/protocol/celery-message';
import type { Scheduler } from './scheduler';

/** A message in a simulated queue. */
export interface SimMessage {
  /** The task id (Celery's `id` header), for checks and the trace. */
  taskId: string;
  content: Buffer;
  properties: Options.Publish;
  /** Times it came back to its queue unacknowledged (quorum queues' delivery count). */
  returns: number;
}

/** A message handed to a consumer; acknowledged on the channel it came on, or not at all. */
export interface Delivery {
  tag: number;
  queue: string;
  message: SimMessage;
  redelivered: boolean;
  consumer: Consumer;
  channel: number;
  /** How the worker settled it, set just before its ack (checked: durable before the ack). */
  outcome?: DeliveryOutcome;
}

export type DeliveryOutcome = 'success' | 'retry' | 'dead-letter' | 'revoked' | 'sent-round';

/** A dead-lettered message and why. */
export interface DeadLetter {
  queue: string;
  taskId: string;
  reason: string;
  error: string;
}

export interface Consumer {
  readonly worker: string;
  readonly queue: string;
  readonly prefetch: number;
  channel: number;
  open: boolean;
  readonly unacked: Map<number, Delivery>;
  onDelivery: (delivery: Delivery) => void;
}

export interface BrokerHooks {
  /** Network latency of one hop (publish, delivery, confirm). */
  latencyMs(): number;
  trace(actor: string, what: string): void;
  /** Called before an ack takes effect; the simulation checks the outcome is durable. */
  beforeAck(delivery: Delivery): void;
}

/**
 * A RabbitMQ with the semantics the task layer relies on: quorum queues (FIFO; a
 * closed channel's unacknowledged deliveries go back to the head, in order, marked
 * redelivered, and a message returned more than `deliveryLimit` times is dead-lettered
 * `delivery-limit`), consumers with a prefetch window, manual acks that count only on
 * the channel the delivery came on, confirmed publishes, and delayed publishes (the delay
 * levels). Reordering comes from what real brokers do: publishes that take different
 * times, several consumers, and redeliveries.
 */
export class SimBroker {
  readonly queues = new Map<string, SimMessage[]>();
  readonly deadLetters: DeadLetter[] = [];
  /** Every task id ever published to a work queue. */
  readonly published = new Set<string>();
  /** The first message published under each task id (what its producer sent). */
  readonly firstMessages = new Map<string, EncodedTask>();
  private readonly consumers: Consumer[] = [];
  private tag = 0;
  private channelSeq = 0;
  private roundRobin = 0;

  constructor(
    private readonly scheduler: Scheduler,
    private readonly hooks: BrokerHooks,
    private readonly deliveryLimits: ReadonlyMap<string, number>,
  ) {
    for (const queue of deliveryLimits.keys()) this.queues.set(queue, []);
  }

  /**
   * Publishes to `queue` (after `delayMs`, through the delay levels); calls `confirmed`
   * when the broker has it, one network hop later. The message lands after its own
   * latency, so two publishes can overtake each other.
   */
  publish(queue: string, task: EncodedTask, delayMs: number, confirmed: () => void): void {
    const taskId = String(task.properties.messageId);
    const message: SimMessage = {
      taskId,
      content: task.content,
      properties: task.properties,
      returns: 0,
    };
    this.published.add(taskId);
    if (!this.firstMessages.has(taskId)) this.firstMessages.set(taskId, task);
    this.scheduler.at(this.hooks.latencyMs() + delayMs, () => {
      this.queueOf(queue).push(message);
      this.dispatch(queue);
    });
    this.scheduler.at(this.hooks.latencyMs(), confirmed);
  }

  /** A worker's explicit dead letter (`publishDeadLetter`): confirmed one hop later. */
  deadLetter(letter: DeadLetter, confirmed: () => void): void {
    this.scheduler.at(this.hooks.latencyMs(), () => {
      this.deadLetters.push(letter);
      confirmed();
    });
  }

  subscribe(
    worker: string,
    queue: string,
    prefetch: number,
    onDelivery: (delivery: Delivery) => void,
  ): Consumer {
    const consumer: Consumer = {
      worker,
      queue,
      prefetch,
      channel: (this.channelSeq += 1),
      open: true,
      unacked: new Map(),
      onDelivery,
    };
    this.consumers.push(consumer);
    this.dispatch(queue);
    return consumer;
  }

  ack(delivery: Delivery): void {
    const { consumer } = delivery;
    if (!consumer.open || consumer.channel !== delivery.channel) {
      this.hooks.trace(consumer.worker, `ack lost ${delivery.message.taskId} (channel closed)`);
      return;
    }
    this.hooks.beforeAck(delivery);
    consumer.unacked.delete(delivery.tag);
    this.dispatch(delivery.queue);
  }

  /**
   * The channel is gone (the worker died or its connection dropped): its unacknowledged
   * deliveries return to the head of the queue in order, redelivered.
   */
  close(consumer: Consumer): void {
    if (!consumer.open) return;
    consumer.open = false;
    this.consumers.splice(this.consumers.indexOf(consumer), 1);
    const returned = [...consumer.unacked.values()].map((d) => d.message);
    consumer.unacked.clear();
    const queue = this.queueOf(consumer.queue);
    const limit = this.deliveryLimits.get(consumer.queue) ?? Number.POSITIVE_INFINITY;
    const back: SimMessage[] = [];
    for (const message of returned) {
      message.returns += 1;
      if (message.returns > limit) {
        this.deadLetters.push({
          queue: consumer.queue,
          taskId: message.taskId,
          reason: 'delivery-limit',
          error: `returned ${message.returns} times`,
        });
        this.hooks.trace('broker', `dead-letter ${message.taskId} delivery-limit`);
      } else {
        back.push(message);
      }
    }
    queue.unshift(...back);
    this.dispatch(consumer.queue);
  }

  /** Messages ready or unacknowledged in the work queues. */
  backlog(): number {
    let count = 0;
    for (const queue of this.queues.values()) count += queue.length;
    for (const consumer of this.consumers) count += consumer.unacked.size;
    return count;
  }

  private queueOf(name: string): SimMessage[] {
    const queue = this.queues.get(name);
    if (!queue) throw new Error(`no queue ${name} (unroutable)`);
    return queue;
  }

  /** Hands ready messages to consumers with room in their window, round robin. */
  private dispatch(queueName: string): void {
    const queue = this.queueOf(queueName);
    const candidates = this.consumers.filter((c) => c.queue === queueName);
    while (queue.length > 0) {
      const free = candidates.filter((c) => c.open && c.unacked.size < c.prefetch);
      if (free.length === 0) return;
      const consumer = free[this.roundRobin++ % free.length] as Consumer;
      const message = queue.shift() as SimMessage;
      const delivery: Delivery = {
        tag: (this.tag += 1),
        queue: queueName,
        message,
        redelivered: message.returns > 0,
        consumer,
        channel: consumer.channel,
      };
      consumer.unacked.set(delivery.tag, delivery);
      this.scheduler.at(this.hooks.latencyMs(), () => {
        if (consumer.open && consumer.channel === delivery.channel) consumer.onDelivery(delivery);
      });
    }
  }
}
