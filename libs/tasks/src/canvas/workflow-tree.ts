import type { DataSource } from 'typeorm';
import type { TaskState } from '../results/task-state';

/** One task of a workflow tree. */
export interface WorkflowNode {
  id: string;
  task: string;
  state: TaskState;
  /** The group (or chord) the task is a member of, and its position there. */
  group: string | null;
  groupIndex: number | null;
  children: WorkflowNode[];
}

/** A workflow as operators read it: its top tasks, each with the tasks it led to. */
export interface WorkflowTree {
  rootId: string;
  /**
   * The tasks with no parent in the workflow: the root task, or for a group or chord
   * sent from outside any task (whose root id is the group id), its members and callback.
   */
  nodes: WorkflowNode[];
  /** How many tasks were read (at most the node cap). */
  count: number;
  /** More tasks than the cap belong to the workflow; the earliest ones are shown. */
  truncated: boolean;
}

/** The most tasks a tree shows unless told; a chord of 100,000 members is summarised by it. */
export const TREE_NODE_COUNT_MAX_DEFAULT = 1_000;
/** The most tasks a tree shows at all. */
export const TREE_NODE_COUNT_MAX = 100_000;

interface NodeRow {
  id: string;
  task: string;
  state: TaskState;
  parent_id: string | null;
  group_id: string | null;
  group_index: number | null;
}

/** Reads the tasks of `rootId`'s workflow (by the `task_results_root_idx` index) into a tree. */
export async function readTree(
  dataSource: DataSource,
  rootId: string,
  nodeCountMax = TREE_NODE_COUNT_MAX_DEFAULT,
): Promise<WorkflowTree> {
  const cap = Math.min(Math.max(1, Math.floor(nodeCountMax)), TREE_NODE_COUNT_MAX);
  const rows: NodeRow[] = await dataSource.query(
    `SELECT id, task, state, parent_id, group_id, group_index FROM task_results
      WHERE root_id = $1 OR id = $1
      ORDER BY created_at, group_index NULLS FIRST, id
      LIMIT $2`,
    [rootId, cap + 1],
  );
  const truncated = rows.length > cap;
  const kept = truncated ? rows.slice(0, cap) : rows;
  const nodes = new Map<string, WorkflowNode>();
  for (const row of kept) {
    nodes.set(row.id, {
      id: row.id,
      task: row.task,
      state: row.state,
      group: row.group_id,
      groupIndex: row.group_index,
      children: [],
    });
  }
  const top: WorkflowNode[] = [];
  for (const row of kept) {
    const node = nodes.get(row.id);
    if (!node) continue;
    const parent =
      row.parent_id !== null && row.id !== rootId ? nodes.get(row.parent_id) : undefined;
    if (parent) parent.children.push(node);
    else top.push(node);
  }
  return { rootId, nodes: top, count: kept.length, truncated };
}
