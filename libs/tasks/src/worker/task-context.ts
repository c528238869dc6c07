import { BaseRpcContext } from '@nestjs/microservices';
import type { EntityManager } from 'typeorm';
import type { TaskMessage } from '../protocol/celery-message';

/**
 * What a handler may know about the task it runs (`@Ctx() ctx: TaskContext`).
 * For transactional tasks, `manager` is the transaction the effects must use.
 */
export class TaskContext extends BaseRpcContext<[TaskMessage, string]> {
  constructor(
    message: TaskMessage,
    queue: string,
    private readonly transaction: EntityManager | null,
  ) {
    super([message, queue]);
  }

  get message(): TaskMessage {
    return this.args[0];
  }

  get queue(): string {
    return this.args[1];
  }

  get taskId(): string {
    return this.args[0].id;
  }

  get retries(): number {
    return this.args[0].retries;
  }

  /** The handler's transaction; only transactional tasks have one. */
  get manager(): EntityManager {
    if (!this.transaction) throw new Error(`task ${this.message.task} is not transactional`);
    return this.transaction;
  }
}

/**
 * What a batch handler (`@Task(name, { batch })`) knows about its batch: the tasks, in
 * the order of the payloads it receives, and the one transaction they commit in.
 */
export class TaskBatchContext extends BaseRpcContext<[TaskMessage[], string]> {
  constructor(
    messages: TaskMessage[],
    queue: string,
    readonly manager: EntityManager,
  ) {
    super([messages, queue]);
  }

  get messages(): TaskMessage[] {
    return this.args[0];
  }

  get queue(): string {
    return this.args[1];
  }
}
