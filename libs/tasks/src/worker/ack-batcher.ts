import type { Channel, Message } from 'amqplib';

/**
 * Acknowledges deliveries without letting a slow one hold back the others. The
 * contiguous run of settled deliveries at the front goes out as one
 * `basic.ack(N, multiple)` frame; a delivery settled behind one still running (a
 * webhook waiting for a merchant's endpoint, a task waiting for its rate token) is
 * acknowledged alone at once, so it neither waits for the slow one nor keeps its
 * prefetch slot. Nacks go out one by one, after the acks before them.
 *
 * Invariants:
 * - a multiple-ack names a delivery still unacknowledged on the broker: never a tag
 *   settled alone (acknowledged alone or requeued), which the broker refuses with a
 *   channel error;
 * - every delivery is settled on the broker exactly once: by a multiple-ack of the
 *   front run, or alone (ack behind the head, or nack).
 */
export class AckBatcher {
  /** Deliveries in tag order (the broker numbers them increasingly per channel). */
  private readonly outstanding: Message[] = [];
  private head = 0;
  /** Settled here, not yet acknowledged on the broker. */
  private readonly settled = new Set<number>();
  /** Settled on the broker already (requeued, or acknowledged alone): never a multiple-ack's tag. */
  private readonly settledAlone = new Set<number>();
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
    this.settledAlone.add(delivery.fields.deliveryTag);
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    // Acks settled in one turn of the event loop share the frames sent for them.
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

  /**
   * Sends one multiple-ack for the longest settled run at the front, then acknowledges
   * each delivery settled behind the first unsettled one alone.
   */
  flush(): void {
    let last: Message | null = null;
    while (this.head < this.outstanding.length) {
      const delivery = this.outstanding[this.head];
      if (!delivery) break;
      const tag = delivery.fields.deliveryTag;
      if (this.settledAlone.delete(tag)) {
        this.head += 1;
        continue;
      }
      if (!this.settled.delete(tag)) break;
      this.head += 1;
      last = delivery;
    }
    if (last && last !== this.lastAcked) {
      this.lastAcked = last;
      // The run ends with a delivery still unacknowledged on the broker (requeued ones and
      // ones acknowledged alone are passed over), so the ack names a tag the broker knows:
      // a multiple-ack on a requeued tag alone is refused and closes the channel.
      this.channel.ack(last, true);
    }
    // Whatever is still settled lies behind an unsettled head.
    if (this.settled.size > 0) this.ackBehindHead();
    if (this.head > 1_024) {
      this.outstanding.splice(0, this.head);
      this.head = 0;
    }
  }

  /**
   * Behind a delivery still running, acknowledges each settled delivery alone: a
   * multiple-ack would acknowledge the running one too. Each is remembered as settled
   * alone, so a later front run passes over it and never names it.
   */
  private ackBehindHead(): void {
    for (let i = this.head + 1; i < this.outstanding.length && this.settled.size > 0; i += 1) {
      const delivery = this.outstanding[i];
      if (!delivery || !this.settled.delete(delivery.fields.deliveryTag)) continue;
      this.channel.ack(delivery, false);
      this.settledAlone.add(delivery.fields.deliveryTag);
    }
  }
}
