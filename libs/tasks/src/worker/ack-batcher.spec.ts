import type { Channel, Message } from 'amqplib';
import { AckBatcher } from './ack-batcher';

function delivery(tag: number): Message {
  return { fields: { deliveryTag: tag } } as Message;
}

function fakeChannel(): { channel: Channel; frames: string[] } {
  const frames: string[] = [];
  const channel = {
    ack: (m: Message, multiple?: boolean) =>
      frames.push(`ack ${m.fields.deliveryTag}${multiple ? '+' : ''}`),
    nack: (m: Message) => frames.push(`nack ${m.fields.deliveryTag}`),
  } as unknown as Channel;
  return { channel, frames };
}

describe('AckBatcher', () => {
  it('acknowledges a settled run with one multiple-ack, never past a delivery still running', () => {
    const { channel, frames } = fakeChannel();
    const batcher = new AckBatcher(channel);
    const d = [1, 2, 3, 4].map(delivery);
    d.forEach((m) => batcher.received(m));
    batcher.ack(d[0]!);
    batcher.ack(d[1]!);
    batcher.flush();
    expect(frames).toEqual(['ack 2+']);
    batcher.ack(d[2]!);
    batcher.ack(d[3]!);
    batcher.flush();
    expect(frames).toEqual(['ack 2+', 'ack 4+']);
  });

  it('acknowledges a delivery settled behind a running one at once, alone', () => {
    const { channel, frames } = fakeChannel();
    const batcher = new AckBatcher(channel);
    const d = [1, 2, 3, 4].map(delivery);
    d.forEach((m) => batcher.received(m));
    batcher.ack(d[0]!);
    batcher.ack(d[1]!);
    batcher.ack(d[3]!);
    batcher.flush();
    // 3 is still running (a slow webhook): 4 neither waits for it nor keeps its prefetch slot.
    expect(frames).toEqual(['ack 2+', 'ack 4']);
    batcher.flush();
    expect(frames).toEqual(['ack 2+', 'ack 4']);
  });

  it('resumes multiple-acks once the slow head settles, and never names a tag acknowledged alone', () => {
    const { channel, frames } = fakeChannel();
    const batcher = new AckBatcher(channel);
    const d = [1, 2, 3, 4, 5].map(delivery);
    d.forEach((m) => batcher.received(m));
    batcher.ack(d[1]!);
    batcher.ack(d[2]!);
    batcher.flush();
    expect(frames).toEqual(['ack 2', 'ack 3']);
    // 1 settles: the front run is 1 (2 and 3 are passed over), then 4 and 5 behind nothing.
    batcher.ack(d[0]!);
    batcher.flush();
    expect(frames).toEqual(['ack 2', 'ack 3', 'ack 1+']);
    batcher.ack(d[3]!);
    batcher.ack(d[4]!);
    batcher.flush();
    expect(frames).toEqual(['ack 2', 'ack 3', 'ack 1+', 'ack 5+']);
  });

  it('ends a front run on the last delivery still unacknowledged, not on one acknowledged alone', () => {
    const { channel, frames } = fakeChannel();
    const batcher = new AckBatcher(channel);
    const d = [1, 2, 3].map(delivery);
    d.forEach((m) => batcher.received(m));
    batcher.ack(d[2]!);
    batcher.flush();
    batcher.ack(d[0]!);
    batcher.ack(d[1]!);
    batcher.flush();
    expect(frames).toEqual(['ack 3', 'ack 2+']);
  });

  it('acknowledges what came before a requeue first, then nacks it alone', () => {
    const { channel, frames } = fakeChannel();
    const batcher = new AckBatcher(channel);
    const d = [1, 2, 3].map(delivery);
    d.forEach((m) => batcher.received(m));
    batcher.ack(d[0]!);
    batcher.requeue(d[1]!);
    batcher.ack(d[2]!);
    batcher.flush();
    expect(frames).toEqual(['ack 1+', 'nack 2', 'ack 3+']);
  });

  it('never names a requeued tag alone in a multiple-ack (the broker would close the channel)', () => {
    const { channel, frames } = fakeChannel();
    const batcher = new AckBatcher(channel);
    const d = [1, 2].map(delivery);
    d.forEach((m) => batcher.received(m));
    batcher.ack(d[0]!);
    batcher.flush();
    batcher.requeue(d[1]!);
    batcher.flush();
    expect(frames).toEqual(['ack 1+', 'nack 2']);
  });
});
