import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  ClientProxyFactory,
  Ctx,
  RmqContext,
  MessagePattern,
  Transport,
  type ClientProxy,
  type MicroserviceOptions,
} from '@nestjs/microservices';
import { lastValueFrom } from 'rxjs';
import { latency, paced, round, windowed, type Latency, type Throughput } from './stats';

const QUEUE = 'bench.nest';

@Controller()
class NoopController {
  @MessagePattern('bench.noop')
  noop(@Ctx() context: RmqContext): boolean {
    // Manual acknowledgement, as the other two contenders do.
    const channel = context.getChannelRef() as { ack(message: unknown): void };
    channel.ack(context.getMessage());
    return true;
  }
}

@Module({ controllers: [NoopController] })
class NestBenchModule {}

/**
 * The stock `@nestjs/microservices` RMQ transport, request-response: `ClientProxy.send`
 * with 100 requests in flight, on a quorum queue with prefetch 100. It returns results
 * to the caller but stores nothing.
 */
export async function nestRmq(
  url: string,
  count: number,
  pacedCount: number,
): Promise<{ throughput: Throughput; paced: Latency }> {
  const rmq = {
    urls: [url],
    queue: QUEUE,
    prefetchCount: 100,
    queueOptions: { durable: true, arguments: { 'x-queue-type': 'quorum' } },
  };
  const server = await NestFactory.createMicroservice<MicroserviceOptions>(NestBenchModule, {
    transport: Transport.RMQ,
    options: { ...rmq, noAck: false },
    logger: ['error'],
  });
  await server.listen();
  const client: ClientProxy = ClientProxyFactory.create({ transport: Transport.RMQ, options: rmq });
  await client.connect();
  const call = (): Promise<unknown> => lastValueFrom(client.send('bench.noop', {}));

  const started = performance.now();
  await windowed(count, 100, call);
  const seconds = (performance.now() - started) / 1_000;

  const samples = await paced(pacedCount, 1_000, async () => {
    const t0 = performance.now();
    await call();
    return performance.now() - t0;
  });
  await client.close();
  await server.close();
  return {
    throughput: { perS: round(count / seconds, 0), count, seconds: round(seconds) },
    paced: latency(samples),
  };
}
