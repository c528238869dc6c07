import type { Channel, Message } from 'amqplib';

/**
 * Acknowledges deliveries in batches with `multiple`: once every delivery up to tag N
 * is settled, one `basic.ack(N, multiple)` frame acknowledges them all. Tasks finish
 * out of order, so an ack only ever covers a contiguous run of settled deliveries; a
 * delivery still running holds back the acks behind it. Nacks go out one by one, after
 * the acks before them.
 */
export class AckBatcher {
  /** Deliveries in tag order (the broker numbers them increasingly per channel). */
  private readonly outstanding: Message[] = [];
  private head = 0;
  private readonly settled = new Set<number>();
  private lastAcked: Message | null = null;
  private scheduled = false;

  constructor(private readonly channel: Channel) {}

  received(delivery: Message): void {
    this.outstanding.push(delivery);
  }

  ack(delivery: Message): void {
    this.settled.add(delivery.fields.deliveryTag);
    this.schedule();
  }

  /** Returns the delivery to its queue (after acknowledging the settled ones before it). */
  requeue(delivery: Message): void {
    this.flush();
    this.channel.nack(delivery, false, true);
    this.settled.add(delivery.fields.deliveryTag);
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      try {
        this.flush();
      } catch {
        // The channel closed (connection lost): the broker redelivers whatever was not
        // acknowledged, and the inbox keeps the effects from applying twice.
      }
    });
  }

  /** Sends one multiple-ack for the longest settled run at the front. */
  flush(): void {
    let last: Message | null = null;
    while (this.head < this.outstanding.length) {
      const delivery = this.outstanding[this.head];
      if (!delivery || !this.settled.has(delivery.fields.deliveryTag)) break;
      this.settled.delete(delivery.fields.deliveryTag);
      this.head += 1;
      last = delivery;
    }
    if (this.head > 1_024) {
      this.outstanding.splice(0, this.head);
      this.head = 0;
    }
    if (!last || last === this.lastAcked) return;
    this.lastAcked = last;
    // A requeued delivery in the run is no longer outstanding on the broker; `multiple`
    // covers only deliveries still unacknowledged, so including its tag is harmless.
    this.channel.ack(last, true);
  }
}
