/**
 * `npm run topology:export`: writes the task layer's RabbitMQ topology, exactly as the
 * services declare it at start-up, to infra/rabbitmq/definitions.json (importable in
 * the management UI or with `rabbitmqctl import_definitions`), and the part a Python
 * Celery app needs to send tasks to Clearline to infra/celery/clearline_topology.json
 * (read by infra/celery/clearline_celery.py; docs/celery.md), and the same topology with
 * each service's broker user as Messaging Topology Operator resources to
 * infra/rabbitmq/topology.yaml, beside the definitions (scripts/k8s-topology.ts; infra/k8s
 * includes it).
 * `--check` exits non-zero when a file is out of date.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { WORK_QUEUES } from '@clearline/contracts';
import { buildTopology, celeryTopology, toDefinitions } from '@clearline/tasks';
import { renderK8sTopology } from './k8s-topology';

export const DEFINITIONS_PATH = resolve(__dirname, '../infra/rabbitmq/definitions.json');
export const DEFINITIONS_VHOST = 'clearline';

export function renderDefinitions(): string {
  return `${JSON.stringify(toDefinitions(buildTopology(WORK_QUEUES), DEFINITIONS_VHOST), null, 2)}\n`;
}

export const CELERY_TOPOLOGY_PATH = resolve(__dirname, '../infra/celery/clearline_topology.json');

export function renderCeleryTopology(): string {
  return `${JSON.stringify(celeryTopology(WORK_QUEUES), null, 2)}\n`;
}

export const K8S_TOPOLOGY_PATH = resolve(__dirname, '../infra/rabbitmq/topology.yaml');

/** Each exported file and how to render it. */
export const EXPORTS: readonly { path: string; render: () => string }[] = [
  { path: DEFINITIONS_PATH, render: renderDefinitions },
  { path: CELERY_TOPOLOGY_PATH, render: renderCeleryTopology },
  { path: K8S_TOPOLOGY_PATH, render: renderK8sTopology },
];

if (require.main === module) {
  const check = process.argv.includes('--check');
  let stale = false;
  for (const { path, render } of EXPORTS) {
    const rendered = render();
    const name = relative(resolve(__dirname, '..'), path);
    if (!check) {
      writeFileSync(path, rendered);
      console.log(`wrote ${name}`);
    } else if (readFileSync(path, 'utf8') !== rendered) {
      console.error(`${name} is out of date: run npm run topology:export`);
      stale = true;
    } else {
      console.log(`${name} is up to date`);
    }
  }
  if (stale) process.exit(1);
}
