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
  /** Settled on the broker already (requeued, or acknowledged alone): never a multiple-ack's tag. */
  private readonly settledAlone = new Set<number>();
  /** Deliveries that wait long unsettled (a rate-limited task waiting for its token). */
  private readonly parked = new Set<number>();
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

  /**
   * This delivery will stay unsettled for long (a rate-limited task waiting for its
   * token, up to an hour at '1/h'): while it heads the line, the deliveries settled
   * behind it are acknowledged one by one, so they neither wait for it nor fill the
   * prefetch window.
   */
  park(delivery: Message): void {
    this.parked.add(delivery.fields.deliveryTag);
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
      if (!delivery) break;
      const tag = delivery.fields.deliveryTag;
      if (this.settledAlone.delete(tag)) {
        this.parked.delete(tag);
        this.head += 1;
        continue;
      }
      if (!this.settled.has(tag)) break;
      this.settled.delete(tag);
      this.parked.delete(tag);
      this.head += 1;
      last = delivery;
    }
    this.ackBehindParked(last);
    if (this.head > 1_024) {
      this.outstanding.splice(0, this.head);
      this.head = 0;
    }
    if (!last || last === this.lastAcked) return;
    this.lastAcked = last;
    // The run ends with a delivery still unacknowledged on the broker (requeued ones and
    // ones acknowledged alone are passed over), so the ack names a tag the broker knows:
    // a multiple-ack on a requeued tag alone is refused and closes the channel.
    this.channel.ack(last, true);
  }

  /** Behind a parked head, acknowledges each settled delivery alone (after the run so far). */
  private ackBehindParked(run: Message | null): void {
    const head = this.outstanding[this.head];
    if (!head || !this.parked.has(head.fields.deliveryTag)) return;
    if (run && run !== this.lastAcked) {
      this.lastAcked = run;
      this.channel.ack(run, true);
    }
    for (let i = this.head + 1; i < this.outstanding.length; i += 1) {
      const delivery = this.outstanding[i];
      if (!delivery || !this.settled.delete(delivery.fields.deliveryTag)) continue;
      this.channel.ack(delivery, false);
      this.settledAlone.add(delivery.fields.deliveryTag);
    }
  }
}
