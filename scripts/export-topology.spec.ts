/**
 * The exported definitions file must describe the topology the services declare:
 * an operator importing it gets the same exchanges, queues and bindings.
 */
import { readFileSync } from 'node:fs';
import {
  CELERY_TOPOLOGY_PATH,
  DEFINITIONS_PATH,
  K8S_TOPOLOGY_PATH,
  renderCeleryTopology,
  renderDefinitions,
} from './export-topology';
import { renderK8sTopology } from './k8s-topology';

describe('infra/rabbitmq/definitions.json', () => {
  it('is up to date with the topology declared in code (npm run topology:export)', () => {
    expect(readFileSync(DEFINITIONS_PATH, 'utf8')).toBe(renderDefinitions());
  });

  it('infra/celery/clearline_topology.json is up to date too (what Python Celery apps route by)', () => {
    expect(readFileSync(CELERY_TOPOLOGY_PATH, 'utf8')).toBe(renderCeleryTopology());
  });

  it('infra/rabbitmq/topology.yaml is up to date too (the Messaging Topology Operator resources)', () => {
    expect(readFileSync(K8S_TOPOLOGY_PATH, 'utf8')).toBe(renderK8sTopology());
  });
});
