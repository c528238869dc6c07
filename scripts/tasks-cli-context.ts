/**
 * What the operator's tool talks to: the task layer's own providers (TasksModule on a
 * Nest standalone application context), pointed at the deployment by AMQP_URL and
 * DATABASE_URL with the defaults `npm start` uses. It publishes and reads; it runs no
 * consumer, no outbox relay, no scheduler and no retention sweep.
 */
import { Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { connect } from 'amqplib';
import { DataSource } from 'typeorm';
import { WORK_QUEUES } from '@clearline/contracts';
import { dataSourceOptions } from '@clearline/persistence';
import { CommonEnvironment, validateEnvironment } from '@clearline/platform';
import {
  DeadLetterAdmin,
  ResultStore,
  TaskClient,
  TasksModule,
  shardQueues,
  type TasksModuleOptions,
} from '@clearline/tasks';

/** The deployment's queues as an operator names them, with the broker queues behind each. */
export interface QueueInfo {
  name: string;
  /** The queue itself, or an ordered lane's shard queues. */
  brokerQueues: string[];
}

export function knownQueues(): QueueInfo[] {
  return WORK_QUEUES.map((q) => ({
    name: q.name,
    brokerQueues: q.ordered ? shardQueues(q.name, q.ordered.shards) : [q.name],
  }));
}

/** The providers a command uses; the application context is created on first use. */
export class CliContext {
  private app: INestApplicationContext | null = null;
  readonly env = validateEnvironment(CommonEnvironment, process.env);

  private async context(): Promise<INestApplicationContext> {
    if (this.app) return this.app;
    const env = this.env;
    const options: TasksModuleOptions = {
      amqpUrl: env.AMQP_URL,
      databaseUrl: env.DATABASE_URL,
      serviceName: 'tasks-cli',
      workQueues: WORK_QUEUES,
      outboxRelay: false,
      // A one-shot tool never leads a schedule or sweeps results.
      beat: false,
      retention: false,
    };
    @Module({
      imports: [
        TypeOrmModule.forRoot(
          dataSourceOptions({
            url: env.DATABASE_URL,
            applicationName: 'clearline-tasks-cli',
            poolSize: 2,
          }),
        ),
        TasksModule.forRootAsync({ useFactory: () => options }),
      ],
    })
    class TasksCliModule {}
    // Errors only, on stderr: stdout is the command's output, parsed by scripts.
    this.app = await NestFactory.createApplicationContext(TasksCliModule, { logger: ['error'] });
    await this.app.init();
    return this.app;
  }

  async get<T>(token: abstract new (...args: never[]) => T): Promise<T> {
    return (await this.context()).get(token);
  }

  client(): Promise<TaskClient> {
    return this.get(TaskClient);
  }

  store(): Promise<ResultStore> {
    return this.get(ResultStore);
  }

  deadLetters(): Promise<DeadLetterAdmin> {
    return this.get(DeadLetterAdmin);
  }

  dataSource(): Promise<DataSource> {
    return this.get(DataSource);
  }

  /** Purges broker queues; returns how many messages each held. */
  async purge(queues: readonly string[]): Promise<Map<string, number>> {
    const connection = await connect(this.env.AMQP_URL, {
      clientProperties: { connection_name: 'clearline-tasks-cli' },
    });
    try {
      const channel = await connection.createChannel();
      const purged = new Map<string, number>();
      for (const queue of queues) {
        purged.set(queue, (await channel.purgeQueue(queue)).messageCount);
      }
      await channel.close();
      return purged;
    } finally {
      await connection.close().catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    await this.app?.close();
    this.app = null;
  }
}
