/**
 * The work queues of Clearline. A task is routed to the queue named by the first
 * segment of its name (`ledger.create_transfers` → `ledger`) unless it says otherwise.
 * Every service declares all of them at start-up, so a producer never publishes into
 * a queue that does not exist yet.
 */
export const QUEUE = {
  gateway: 'gateway',
  ledger: 'ledger',
  refund: 'refund',
  settlement: 'settlement',
} as const;
export type QueueName = (typeof QUEUE)[keyof typeof QUEUE];

export interface WorkQueueDefinition {
  name: string;
  deliveryLimit?: number;
  singleActiveConsumer?: boolean;
  /**
   * An ordered lane: `shards` queues behind a consistent-hash exchange, and the lane's
   * tasks with the payload field each is ordered by. Its handlers say the same with
   * `@Task(name, { orderedBy })`; a worker refuses to start when they disagree.
   */
  ordered?: { shards: number; tasks: Readonly<Record<string, string>> };
}

export const WORK_QUEUES: readonly WorkQueueDefinition[] = [
  { name: QUEUE.gateway, deliveryLimit: 5 },
  { name: QUEUE.ledger, deliveryLimit: 5 },
  { name: QUEUE.refund, deliveryLimit: 5 },
  { name: QUEUE.settlement, deliveryLimit: 5 },
];
