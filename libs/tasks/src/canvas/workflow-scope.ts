import { AsyncLocalStorage } from 'node:async_hooks';

/** The task a handler is running, as the tasks it sends see it. */
export interface RunningTask {
  id: string;
  rootId: string;
}

const running = new AsyncLocalStorage<RunningTask>();

/**
 * Runs `work` (a handler call) as `task`: every task sent meanwhile, by any means
 * (`TaskClient.send`, `enqueueTask(s)`, a workflow), inherits the task's `root_id` and
 * gets it as `parent_id`, so a workflow is one tree without anyone passing ids along.
 */
export function runAsTask<T>(task: RunningTask, work: () => T): T {
  return running.run(task, work);
}

/** The task whose handler is running here, if any. */
export function runningTask(): RunningTask | undefined {
  return running.getStore();
}

/**
 * Runs `work` as no task: for the layer's own machinery (a result flush started while a
 * handler ran), whose messages carry ids chosen explicitly.
 */
export function outsideTask<T>(work: () => T): T {
  return running.exit(work);
}
