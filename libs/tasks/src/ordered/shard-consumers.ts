import { Logger } from '@nestjs/common';
import type { Channel, ChannelModel, ConsumeMessage, Message } from 'amqplib';
import { AckBatcher } from '../worker/ack-batcher';

/** Runs one delivery to its end and settles it (ack or requeue) on `acks`. */
export type DeliverFn = (
  acks: AckBatcher,
  delivery: ConsumeMessage,
  queue: string,
) => Promise<void>;

export interface ShardConsumersDeps {
  /** Unacknowledged deliveries the broker may push to each shard's consumer. */
  prefetch: number;
  deliver: DeliverFn;
  /** Registers work for graceful shutdown to wait for. */
  track: (work: Promise<void>) => void;
}

/**
 * The acknowledgements of one shard's channel. A requeue (the database or broker failed
 * under a task) starts a new generation: deliveries received before it are later tasks
 * of the shard, and must go back behind the requeued one instead of running first.
 */
class ShardAcks extends AckBatcher {
  generation = 0;

  override requeue(delivery: Message): void {
    super.requeue(delivery);
    this.generation += 1;
  }

  /** Gives back a delivery of an earlier generation, without starting another one. */
  giveBack(delivery: Message): void {
    super.requeue(delivery);
  }
}

interface Shard {
  queue: string;
  channel: Channel;
  acks: ShardAcks;
  open: boolean;
}

/**
 * Consumes the shard queues of ordered lanes: each shard on a channel of its own (so a
 * busy shard's pending acks never hold back another shard's prefetch window) and its
 * deliveries run strictly one at a time, in delivery order, whatever the prefetch and
 * the process's concurrency. Different shards run in parallel.
 *
 * Order across failures rests on the quorum queue, which puts returned messages back at
 * its head: when a worker dies or closes a shard's channel, its unacknowledged
 * deliveries return in order ahead of everything else, and the next single active
 * consumer receives them first. So a delivery that cannot run here (shutting down, its
 * channel gone) is never settled one by one; it is left for the channel's close to
 * return with the rest.
 */
export class ShardConsumers {
  private readonly log = new Logger(ShardConsumers.name);
  /** The last delivery scheduled on each shard queue, across reconnections. */
  private readonly tails = new Map<string, Promise<void>>();
  private shards: Shard[] = [];
  private closing = false;

  constructor(private readonly deps: ShardConsumersDeps) {}

  /** Opens one channel and consumer per shard queue on this connection. */
  async consume(model: ChannelModel, queues: readonly string[]): Promise<void> {
    if (this.closing) return;
    for (const shard of this.shards) shard.open = false;
    this.shards = [];
    for (const queue of queues) {
      const channel = await model.createChannel();
      const shard: Shard = { queue, channel, acks: new ShardAcks(channel), open: true };
      channel.on('error', (error: Error) =>
        this.log.warn(`shard ${queue} channel error: ${error.message}`),
      );
      channel.on('close', () => {
        shard.open = false;
      });
      await channel.prefetch(this.deps.prefetch, false);
      await channel.consume(
        queue,
        (delivery) => {
          if (delivery) this.receive(shard, delivery);
        },
        { noAck: false },
      );
      this.shards.push(shard);
    }
  }

  private receive(shard: Shard, delivery: ConsumeMessage): void {
    shard.acks.received(delivery);
    const generation = shard.acks.generation;
    const previous = this.tails.get(shard.queue) ?? Promise.resolve();
    const work = previous.then(() => this.runInTurn(shard, delivery, generation));
    this.tails.set(shard.queue, work);
    void work.finally(() => {
      if (this.tails.get(shard.queue) === work) this.tails.delete(shard.queue);
    });
    this.deps.track(work);
  }

  private async runInTurn(
    shard: Shard,
    delivery: ConsumeMessage,
    generation: number,
  ): Promise<void> {
    // Not settled: the channel's close returns it, in order, with the shard's other ones.
    if (!shard.open || this.closing) return;
    if (generation !== shard.acks.generation) {
      try {
        shard.acks.giveBack(delivery);
      } catch {
        // The channel closed: the broker returns the delivery itself.
      }
      return;
    }
    try {
      await this.deps.deliver(shard.acks, delivery, shard.queue);
    } catch (error) {
      // Never expected (delivering settles every outcome), but a rejection here would stop
      // the shard's chain for good: log it and go on with the next delivery.
      this.log.error(`shard ${shard.queue}: delivery not settled: ${String(error)}`);
    }
  }

  /**
   * Graceful shutdown, first half: no shard starts another delivery; the ones running
   * finish and are acknowledged (the caller waits for its tracked work).
   */
  stop(): void {
    this.closing = true;
  }

  /**
   * Second half: flushes the acks and closes every shard's channel, which returns the
   * deliveries not started, in order, to the head of their shard for the next consumer.
   * No consumer is cancelled first: a cancelled single active consumer may hand the
   * shard over while it still holds deliveries, and the next consumer would overtake them.
   */
  async close(): Promise<void> {
    this.closing = true;
    const shards = this.shards;
    this.shards = [];
    await Promise.all(
      shards.map(async (shard) => {
        try {
          shard.acks.flush();
        } catch {
          // The channel is gone; the broker returns what was not acknowledged.
        }
        shard.open = false;
        await shard.channel.close().catch(() => undefined);
      }),
    );
  }
}
