import { EventEmitter } from 'node:events';
import type { ChannelModel } from 'amqplib';
import type { BrokerConnection, ConnectListener } from './broker-connection';
import { BrokerUnavailableError, PublishTimeoutError, Publisher } from './publisher';

type Confirm = (error: Error | null) => void;

/** A confirm channel that keeps each publish's confirm callback for the test to call. */
class FakeChannel extends EventEmitter {
  readonly confirms: Confirm[] = [];
  closed = false;
  /** false: the socket's buffer is full, the publisher must wait for 'drain'. */
  flushes = true;

  publish(_e: string, _k: string, _c: Buffer, _p: object, confirm: Confirm): boolean {
    if (this.closed) throw new Error('Channel closed');
    this.confirms.push(confirm);
    return this.flushes;
  }

  /** The connection went away: amqplib fails every unconfirmed publish with this. */
  lose(): void {
    this.closed = true;
    this.emit('close');
    for (const confirm of this.confirms.splice(0)) confirm(new Error('channel closed'));
  }
}

/** A broker connection the test opens and loses by hand. */
class FakeConnection {
  private readonly listeners: ConnectListener[] = [];
  channel: FakeChannel | null = null;

  onConnect(listener: ConnectListener): Promise<void> {
    this.listeners.push(listener);
    return Promise.resolve();
  }

  async open(): Promise<FakeChannel> {
    const channel = new FakeChannel();
    const model = { createConfirmChannel: () => Promise.resolve(channel) };
    for (const listener of this.listeners) await listener(model as unknown as ChannelModel);
    this.channel = channel;
    return channel;
  }
}

async function started(options: ConstructorParameters<typeof Publisher>[1]) {
  const connection = new FakeConnection();
  const publisher = new Publisher(connection as unknown as BrokerConnection, options);
  await publisher.start();
  return { connection, publisher };
}

const send = (publisher: Publisher, n: number): Promise<void> =>
  publisher.publish('clearline.tasks', 'gateway', Buffer.from(String(n)), {
    messageId: `m${n}`,
  });

describe('Publisher deadlines and backlog bound', () => {
  it('rejects a written publish the broker never confirms with PublishTimeoutError, and ignores a late confirm', async () => {
    const { connection, publisher } = await started({ confirmTimeoutMs: 20 });
    const channel = await connection.open();
    const sent = send(publisher, 1);
    await expect(sent).rejects.toBeInstanceOf(PublishTimeoutError);
    expect(publisher.unconfirmedCount).toBe(0);
    // The confirm arrives after all: nothing is settled twice, nothing is published again.
    channel.confirms[0]?.(null);
    channel.confirms[0]?.(new Error('channel closed'));
    expect(channel.confirms).toHaveLength(1);
  });

  it('resolves a publish confirmed in time', async () => {
    const { connection, publisher } = await started({ confirmTimeoutMs: 60_000 });
    const channel = await connection.open();
    const sent = send(publisher, 1);
    channel.confirms[0]?.(null);
    await expect(sent).resolves.toBeUndefined();
  });

  it('while the broker is away holds at most backlogCountMax messages, refuses more at once, and ends each held one by its deadline', async () => {
    const { publisher } = await started({ confirmTimeoutMs: 60_000, backlogCountMax: 3 });
    const held = [1, 2, 3].map((n) =>
      publisher.publish(
        'x',
        'gateway',
        Buffer.from('x'),
        { messageId: `m${n}` },
        { timeoutMs: 30 },
      ),
    );
    expect(publisher.backlogCount).toBe(3);
    const refused = send(publisher, 4);
    await expect(refused).rejects.toBeInstanceOf(BrokerUnavailableError);
    expect(publisher.backlogCount).toBe(3);
    const outcomes = await Promise.allSettled(held);
    for (const outcome of outcomes) {
      expect(outcome.status).toBe('rejected');
      const reason: unknown = outcome.status === 'rejected' ? outcome.reason : null;
      expect(reason).toBeInstanceOf(BrokerUnavailableError);
      expect((reason as BrokerUnavailableError).outcomeUnknown).toBe(false);
    }
    expect(publisher.backlogCount).toBe(0);
  });

  it('keeps the bound when a lost connection hands back more unconfirmed messages than fit', async () => {
    const { connection, publisher } = await started({
      confirmTimeoutMs: 60_000,
      backlogCountMax: 2,
    });
    const channel = await connection.open();
    const sent = [1, 2, 3, 4].map((n) => send(publisher, n));
    channel.lose();
    expect(publisher.backlogCount).toBe(2);
    // Refused at once on the loss, not at their (one minute) deadline.
    const settled = await Promise.allSettled(sent.slice(2));
    for (const outcome of settled) {
      expect(outcome.status).toBe('rejected');
      const reason: unknown = outcome.status === 'rejected' ? outcome.reason : null;
      expect((reason as BrokerUnavailableError).outcomeUnknown).toBe(true);
    }
    // The two held are published again on the next connection and confirmed there.
    const next = await connection.open();
    expect(next.confirms).toHaveLength(2);
    for (const confirm of next.confirms) confirm(null);
    await expect(Promise.all(sent.slice(0, 2))).resolves.toEqual([undefined, undefined]);
    expect(publisher.backlogCount).toBe(0);
  });

  it('publishes what waited in the backlog once a channel opens', async () => {
    const { connection, publisher } = await started({ confirmTimeoutMs: 60_000 });
    const sent = send(publisher, 1);
    expect(publisher.backlogCount).toBe(1);
    const channel = await connection.open();
    expect(publisher.backlogCount).toBe(0);
    channel.confirms[0]?.(null);
    await expect(sent).resolves.toBeUndefined();
  });

  it('does not strand publishes waiting for a drain when the channel closes instead', async () => {
    const { connection, publisher } = await started({ confirmTimeoutMs: 60_000 });
    const channel = await connection.open();
    channel.flushes = false;
    const first = send(publisher, 1);
    const waiting = send(publisher, 2);
    channel.lose();
    const next = await connection.open();
    // The first comes back from the lost channel; the second, which waited for a drain
    // that never came, follows it on the new channel.
    await new Promise((resolve) => setImmediate(resolve));
    expect(next.confirms).toHaveLength(2);
    for (const confirm of next.confirms) confirm(null);
    await expect(Promise.all([first, waiting])).resolves.toEqual([undefined, undefined]);
  });
});
