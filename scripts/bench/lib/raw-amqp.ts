import { connect } from 'amqplib';
import { latency, paced, round, type Latency, type Throughput } from './stats';

const QUEUE = 'bench.raw';
const PUBLISH_WINDOW = 1_000;

/**
 * The machine's raw limit: plain amqplib on a quorum queue, publishing with confirms
 * (pipelined) while a consumer with prefetch 100 acks each message by hand.
 */
export async function rawAmqp(
  url: string,
  count: number,
  pacedCount: number,
): Promise<{ throughput: Throughput; paced: Latency }> {
  const producer = await connect(url, { noDelay: true });
  const consumer = await connect(url, { noDelay: true });
  const pub = await producer.createConfirmChannel();
  const sub = await consumer.createChannel();
  await pub.assertQueue(QUEUE, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
  await pub.purgeQueue(QUEUE);
  await sub.prefetch(100);
  let received = 0;
  let target = 0;
  let onDone: () => void = () => undefined;
  const samples: number[] = [];
  let sampling = false;
  await sub.consume(
    QUEUE,
    (message) => {
      if (!message) return;
      if (sampling) samples.push(performance.now() - Number(message.properties.timestamp) / 1_000);
      sub.ack(message);
      received += 1;
      if (received === target) onDone();
    },
    { noAck: false },
  );
  const publish = (): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      pub.publish(
        '',
        QUEUE,
        Buffer.from('[[],{},{}]'),
        {
          persistent: true,
          timestamp: Math.round(performance.now() * 1_000),
        },
        (error: Error | null) => (error ? reject(error) : resolve()),
      );
    });

  // Sustained maximum: producer and consumer at once.
  received = 0;
  target = count;
  const done = new Promise<void>((resolve) => (onDone = resolve));
  const started = performance.now();
  let inFlight: Promise<void>[] = [];
  for (let i = 0; i < count; i += 1) {
    inFlight.push(publish());
    if (inFlight.length >= PUBLISH_WINDOW) {
      await Promise.all(inFlight);
      inFlight = [];
    }
  }
  await Promise.all(inFlight);
  await done;
  const seconds = (performance.now() - started) / 1_000;

  // Latency at a paced 1,000/s: publish to delivery.
  received = 0;
  target = pacedCount;
  sampling = true;
  const pacedDone = new Promise<void>((resolve) => (onDone = resolve));
  await paced(pacedCount, 1_000, () => publish());
  await pacedDone;
  await pub.deleteQueue(QUEUE);
  await producer.close();
  await consumer.close();
  return {
    throughput: { perS: round(count / seconds, 0), count, seconds: round(seconds) },
    paced: latency(samples),
  };
}
