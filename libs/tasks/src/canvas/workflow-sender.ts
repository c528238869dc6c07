import type { DataSource, EntityManager } from 'typeorm';
import type { Publisher } from '../broker/publisher';
import { buildTask } from '../client/task-message-factory';
import { OUTBOX_BATCH_MAX, OutboxStatement } from '../outbox/task-outbox';
import type { ResultWaiter } from '../results/result-waiter';
import type { Chain, Chord, Group, Signature, Workflow } from './signature';
import {
  chordParameters,
  INSERT_CHORD_SQL,
  planWorkflow,
  type WorkflowPlan,
  type WorkflowTask,
} from './workflow-plan';

/**
 * Tasks published (or written to the outbox) at a time: a chord of 100,000 members
 * never has more than this many encoded messages in memory.
 */
export const WORKFLOW_CHUNK_SIZE = 1_000;

/** What was sent: the id to wait on, or a group's id and members. */
export type SentWorkflow =
  { kind: 'task'; id: string } | { kind: 'group'; id: string; ids: readonly string[] };

function sent(plan: WorkflowPlan): SentWorkflow {
  if (plan.group) return { kind: 'group', id: plan.group.id, ids: plan.group.ids };
  return { kind: 'task', id: plan.handleId ?? '' };
}

/** Publishes workflows, confirmed by the broker, a bounded chunk at a time. */
export class WorkflowSender {
  constructor(
    private readonly publisher: Publisher,
    private readonly dataSource: DataSource,
    private readonly waiter: ResultWaiter,
  ) {}

  async apply(workflow: Workflow): Promise<SentWorkflow> {
    const plan = planWorkflow(workflow);
    const outcome = sent(plan);
    // Fresh ids have no history: their outcomes can only arrive by notification.
    if (outcome.kind === 'task') this.waiter.expect(outcome.id);
    else for (const id of outcome.ids) this.waiter.expect(id);
    // The chord's row exists before any member can finish and look for it.
    if (plan.chord) await this.dataSource.query(INSERT_CHORD_SQL, chordParameters(plan.chord));
    for (let from = 0; from < plan.size; from += WORKFLOW_CHUNK_SIZE) {
      await Promise.all(
        plan.tasks(from, from + WORKFLOW_CHUNK_SIZE).map((task) => this.publish(task)),
      );
    }
    return outcome;
  }

  private async publish(task: WorkflowTask): Promise<void> {
    const routed = buildTask(task.task, task.payload, { ...task.options, embed: task.embed ?? {} });
    await this.publisher.publish(
      routed.exchange,
      routed.routingKey,
      routed.encoded.content,
      routed.encoded.properties,
    );
  }
}

/**
 * Writes a workflow into the transactional outbox in the caller's transaction: the
 * chord row (if any) and every starting task commit with the caller's own rows, and
 * the outbox relay publishes them after the commit.
 */
export async function enqueuePlannedWorkflow(
  manager: EntityManager,
  workflow: Workflow,
): Promise<SentWorkflow> {
  const plan = planWorkflow(workflow);
  if (plan.chord) await manager.query(INSERT_CHORD_SQL, chordParameters(plan.chord));
  const chunk = Math.min(WORKFLOW_CHUNK_SIZE * 10, OUTBOX_BATCH_MAX);
  for (let from = 0; from < plan.size; from += chunk) {
    const outbox = OutboxStatement.of(plan.tasks(from, from + chunk), { firstParameter: 1 });
    await manager.query(
      `WITH queued AS (${outbox.insert(outbox.rows('o'))}) SELECT ${outbox.notifyAfter('queued')}`,
      outbox.parameters,
    );
  }
  return sent(plan);
}

/** A group as sent: its id and its members' ids, in order. */
export interface GroupIds {
  id: string;
  ids: readonly string[];
}

/**
 * Writes `workflow` into the transactional outbox inside the caller's transaction (the
 * workflow starts only if the transaction commits). Returns the id to wait on (the
 * task, the last of a chain, a chord's callback) or, for a group, its ids:
 * `client.handle(id)` and `client.groupHandle(ids)` wait for them.
 */
export function enqueueWorkflow(manager: EntityManager, workflow: Group): Promise<GroupIds>;
export function enqueueWorkflow(
  manager: EntityManager,
  workflow: Signature | Chain | Chord,
): Promise<string>;
export async function enqueueWorkflow(
  manager: EntityManager,
  workflow: Workflow,
): Promise<string | GroupIds> {
  const outcome = await enqueuePlannedWorkflow(manager, workflow);
  return outcome.kind === 'group' ? { id: outcome.id, ids: outcome.ids } : outcome.id;
}
