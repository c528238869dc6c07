import { strict as assert } from 'node:assert';
import type { SendOptions } from '../client/send-options';
import { newTaskId, type CeleryEmbed } from '../protocol/celery-message';
import { sendOptionsOf, toDict, type SignatureDict } from './signature-dict';
import type { Signature, Workflow } from './signature';
import { runningTask } from './workflow-scope';

/** One task of a workflow, ready for `buildTask`: what an outbox row or a publish needs. */
export interface WorkflowTask {
  task: string;
  payload: Record<string, unknown>;
  options: SendOptions;
  embed?: Partial<CeleryEmbed>;
}

/** The `task_chords` row a chord needs before any member is published. */
export interface ChordRow {
  id: string;
  size: number;
  callback: SignatureDict;
  rootId: string;
}

/** A workflow with every id chosen; its tasks are built a chunk at a time. */
export interface WorkflowPlan {
  /** The task whose outcome is the workflow's: the last of a chain, a chord's callback. */
  handleId: string | null;
  /** For a group: its id and its members' ids, in order. */
  group: { id: string; ids: string[] } | null;
  chord: ChordRow | null;
  /** How many tasks are published to start the workflow. */
  size: number;
  /** Tasks `[from, to)` of those, built only when asked for (a chord may have 100,000). */
  tasks(from: number, to: number): WorkflowTask[];
}

/** Ids and lineage the workflow is sent under: those of the running handler, if any. */
interface Lineage {
  rootId: string | undefined;
  parentId: string | undefined;
}

const idOf = (sig: Signature): string => sig.options.id ?? newTaskId();

/**
 * A follow-up task from a serialised signature: `result` (when given and the signature
 * is not immutable) goes in front of its positional args, as Celery does.
 */
export function followUp(
  d: SignatureDict,
  lineage: { rootId: string; parentId: string | null },
  extra: {
    result?: { value: unknown };
    chain?: SignatureDict[];
    group?: string;
    index?: number;
  } = {},
): WorkflowTask {
  const args = extra.result && !d.immutable ? [extra.result.value, ...d.args] : d.args;
  const options: SendOptions = { ...sendOptionsOf(d), args, rootId: lineage.rootId };
  if (lineage.parentId !== null) options.parentId = lineage.parentId;
  if (extra.group !== undefined) options.group = extra.group;
  if (extra.index !== undefined) options.groupIndex = extra.index;
  const embed: Partial<CeleryEmbed> = {};
  if (d.options.link?.length) embed.callbacks = d.options.link;
  if (d.options.link_error?.length) embed.errbacks = d.options.link_error;
  if (extra.chain?.length) embed.chain = extra.chain;
  return { task: d.task, payload: d.kwargs, options, embed };
}

function lineageNow(): Lineage {
  const running = runningTask();
  return { rootId: running?.rootId, parentId: running?.id };
}

function planChain(sigs: readonly Signature[], lineage: Lineage): WorkflowPlan {
  const ids = sigs.map(idOf);
  const [firstId] = ids;
  assert(firstId !== undefined, 'a chain has a first task');
  const rootId = lineage.rootId ?? firstId;
  const dicts = sigs.map((sig, i) => toDict(sig, ids[i] ?? idOf(sig), idOf));
  const [first, ...rest] = dicts;
  assert(first !== undefined, 'a chain has a first task');
  // Protocol 2 carries the rest of a chain reversed: the next task is the list's last.
  const task = followUp(
    first,
    { rootId, parentId: lineage.parentId ?? null },
    { chain: rest.reverse() },
  );
  return {
    handleId: ids[ids.length - 1] ?? firstId,
    group: null,
    chord: null,
    size: 1,
    tasks: (from, to) => (from === 0 && to > 0 ? [task] : []),
  };
}

function planGroup(
  sigs: readonly Signature[],
  groupId: string,
  lineage: Lineage,
  chordCallback: SignatureDict | null,
): Pick<WorkflowPlan, 'tasks' | 'size'> & { ids: string[] } {
  // A group of a workflow's root has none: its id names the tree (tree(groupId)).
  const rootId = lineage.rootId ?? groupId;
  const ids = sigs.map(idOf);
  return {
    ids,
    size: sigs.length,
    tasks: (from, to) =>
      sigs.slice(from, to).map((sig, i) => {
        const index = from + i;
        const task = followUp(
          toDict(sig, ids[index] ?? idOf(sig), idOf),
          { rootId, parentId: lineage.parentId ?? null },
          { group: groupId, index },
        );
        if (chordCallback) task.embed = { ...task.embed, chord: chordCallback };
        return task;
      }),
  };
}

/** Chooses every id of `workflow` (the running handler's root and parent, if any). */
export function planWorkflow(workflow: Workflow): WorkflowPlan {
  const lineage = lineageNow();
  switch (workflow.kind) {
    case 'signature':
      return planChain([workflow], lineage);
    case 'chain':
      return planChain(workflow.tasks, lineage);
    case 'group': {
      const id = workflow.id ?? newTaskId();
      const members = planGroup(workflow.tasks, id, lineage, null);
      return { handleId: null, group: { id, ids: members.ids }, chord: null, ...members };
    }
    case 'chord': {
      const id = workflow.header.id ?? newTaskId();
      const callbackId = idOf(workflow.body);
      const callback = toDict(workflow.body, callbackId, idOf);
      if (lineage.parentId !== undefined) callback.options.parent_id = lineage.parentId;
      const members = planGroup(workflow.header.tasks, id, lineage, callback);
      const rootId = lineage.rootId ?? id;
      return {
        handleId: callbackId,
        group: null,
        chord: { id, size: members.size, callback, rootId },
        size: members.size,
        tasks: members.tasks,
      };
    }
  }
}

/** `INSERT` of a chord's row; the producer writes it before publishing any member. */
export const INSERT_CHORD_SQL = `INSERT INTO task_chords (id, size, callback, root_id) VALUES ($1, $2, $3::jsonb, $4)`;

export function chordParameters(row: ChordRow): unknown[] {
  return [row.id, row.size, JSON.stringify(row.callback), row.rootId];
}
