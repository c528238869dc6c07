import type { Publisher } from '../broker/publisher';
import type { ResultStore } from '../results/result-store';
import type { ResultWaiter } from '../results/result-waiter';
import { buildTask } from './task-message-factory';
import { TaskHandle } from './task-handle';
import type { SendOptions } from './send-options';

/**
 * The producer side: `send` publishes one task, confirmed by the broker, and
 * returns a handle on its outcome.
 */
export class TaskClient {
  constructor(
    private readonly publisher: Publisher,
    private readonly store: ResultStore,
    private readonly waiter: ResultWaiter,
  ) {}

  /** Resolves once the broker confirmed the message; rejects if it is unroutable or refused. */
  async send<T = unknown>(
    task: string,
    payload: unknown,
    options: SendOptions = {},
  ): Promise<TaskHandle<T>> {
    const routed = buildTask(task, payload, options);
    // A fresh id has no history, so its outcome can only arrive by notification. A
    // caller-chosen id may have finished before (an idempotent resend): read it instead.
    if (options.id === undefined) this.waiter.expect(routed.id);
    await this.publisher.publish(
      routed.exchange,
      routed.routingKey,
      routed.encoded.content,
      routed.encoded.properties,
    );
    return this.handle<T>(routed.id);
  }

  /**
   * The publishing connection, for health checks: whether it is up, and how many
   * publishes await the broker's confirm.
   */
  brokerStatus(): { connected: boolean; unconfirmed: number } {
    return { connected: this.publisher.connected, unconfirmed: this.publisher.unconfirmedCount };
  }

  /** A handle on a task sent earlier (or through the outbox). */
  handle<T = unknown>(taskId: string): TaskHandle<T> {
    return new TaskHandle<T>(taskId, this.store, this.waiter);
  }
}
