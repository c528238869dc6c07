/**
 * The Kubernetes manifests as `kubectl apply -k` would send them: both overlays are
 * rendered with `kubectl kustomize` and every object is checked against its schema —
 * Kubernetes' own and KEDA's, the Prometheus Operator's and the External Secrets
 * Operator's through kubernetes-models, and the RabbitMQ and CloudNativePG resources
 * through Clearline's schemas in infra/k8s/schemas — then against the rules the
 * deployment depends on: every lane of every work queue has a Deployment, workers scale
 * on their queue's depth, a pod's grace period covers its drain, each pod reaches only
 * what it needs, no secret is in git, and production names where money goes.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import Ajv, { type ValidateFunction } from 'ajv';
import { parseAllDocuments } from 'yaml';
import * as apps from 'kubernetes-models/apps/v1';
import * as autoscaling from 'kubernetes-models/autoscaling/v2';
import * as batch from 'kubernetes-models/batch/v1';
import * as core from 'kubernetes-models/v1';
import * as networking from 'kubernetes-models/networking.k8s.io/v1';
import * as policy from 'kubernetes-models/policy/v1';
import * as keda from '@kubernetes-models/keda/keda.sh/v1alpha1';
import * as monitoring from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import * as externalSecrets from '@kubernetes-models/external-secrets/external-secrets.io/v1';
import { WORK_QUEUES } from '@clearline/contracts';

const K8S = resolve(__dirname, '../infra/k8s');

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
}

type ModelClass = new (data: unknown) => { validate(): void };
const MODELS: Record<string, object> = {
  v1: core,
  'apps/v1': apps,
  'autoscaling/v2': autoscaling,
  'batch/v1': batch,
  'networking.k8s.io/v1': networking,
  'policy/v1': policy,
  'keda.sh/v1alpha1': keda,
  'monitoring.coreos.com/v1': monitoring,
  'external-secrets.io/v1': externalSecrets,
};

function crdValidators(file: string): Record<string, ValidateFunction> {
  const schemas = JSON.parse(readFileSync(resolve(K8S, 'schemas', file), 'utf8')) as Record<
    string,
    object
  >;
  const ajv = new Ajv({ allErrors: true, strict: false });
  return Object.fromEntries(
    Object.entries(schemas)
      .filter(([kind]) => !kind.startsWith('$'))
      .map(([kind, schema]) => [kind, ajv.compile(schema)]),
  );
}
const CRDS: Record<string, Record<string, ValidateFunction>> = {
  'rabbitmq.com/v1beta1': crdValidators('rabbitmq.com.json'),
  'postgresql.cnpg.io/v1': crdValidators('postgresql.cnpg.io.json'),
};

function parseYaml(text: string): K8sObject[] {
  return parseAllDocuments(text)
    .map((document) => document.toJS() as K8sObject | null)
    .filter((object): object is K8sObject => object !== null);
}

function render(overlay: string): K8sObject[] {
  return parseYaml(
    execFileSync('kubectl', ['kustomize', resolve(K8S, 'overlays', overlay)], {
      encoding: 'utf8',
    }),
  );
}

/** Problems of one object against its schema; an object of an unknown kind is one. */
function schemaProblems(object: K8sObject): string[] {
  const where = `${object.kind}/${object.metadata.name}`;
  const crd = CRDS[object.apiVersion]?.[object.kind];
  if (crd) {
    return crd(object) ? [] : [`${where}: ${JSON.stringify(crd.errors)}`];
  }
  const model = (MODELS[object.apiVersion] as Record<string, ModelClass | undefined> | undefined)?.[
    object.kind
  ];
  if (!model) return [`${where}: no schema for ${object.apiVersion} ${object.kind}`];
  try {
    new model(object).validate();
    return [];
  } catch (error) {
    return [`${where}: ${String(error)}`];
  }
}

const ofKind = <T = K8sObject>(objects: K8sObject[], kind: string): T[] =>
  objects.filter((o) => o.kind === kind) as T[];

interface Container {
  name: string;
  env?: { name: string; value?: string }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  resources?: { requests?: object; limits?: object };
  readinessProbe?: object;
  livenessProbe?: object;
  lifecycle?: { preStop?: { exec?: { command: string[] } } };
}
interface PodTemplate {
  metadata: { labels: Record<string, string> };
  spec: { containers: Container[]; terminationGracePeriodSeconds?: number };
}
interface Workload extends K8sObject {
  spec: { template: PodTemplate };
}

function envOf(container: Container, config: Record<string, string>, name: string): string {
  const own = container.env?.find((e) => e.name === name)?.value;
  const value = own ?? config[name];
  if (value === undefined) throw new Error(`${container.name}: ${name} is not set`);
  return value;
}

function configOf(objects: K8sObject[]): Record<string, string> {
  const config = ofKind(objects, 'ConfigMap').find((c) => c.metadata.name === 'clearline-config');
  if (!config?.data) throw new Error('no ConfigMap clearline-config');
  return config.data;
}

function matches(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.entries(selector).every(([key, value]) => labels[key] === value);
}

interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}
function selects(selector: LabelSelector, labels: Record<string, string>): boolean {
  return (
    matches(selector.matchLabels ?? {}, labels) &&
    (selector.matchExpressions ?? []).every((e) =>
      e.operator === 'Exists'
        ? e.key in labels
        : e.operator === 'In'
          ? (e.values ?? []).includes(labels[e.key] ?? '')
          : false,
    )
  );
}

interface NetworkPolicySpec {
  podSelector: LabelSelector;
  policyTypes: string[];
  egress?: { to?: { podSelector?: LabelSelector }[]; ports?: { port: number }[] }[];
}

/** The ports a pod with `labels` may reach, by the egress rules that select it. */
function egressPorts(policies: K8sObject[], labels: Record<string, string>): Set<number> {
  const ports = new Set<number>();
  for (const policy of policies) {
    const spec = policy.spec as unknown as NetworkPolicySpec;
    if (!selects(spec.podSelector, labels)) continue;
    for (const rule of spec.egress ?? []) for (const p of rule.ports ?? []) ports.add(p.port);
  }
  return ports;
}

/** Memory in MiB of a Kubernetes quantity (Mi or Gi). */
function mebibytes(quantity: string): number {
  const match = /^(\d+)(Mi|Gi)$/.exec(quantity);
  if (!match) throw new Error(`unexpected memory quantity ${quantity}`);
  return Number(match[1]) * (match[2] === 'Gi' ? 1024 : 1);
}

/** V8's old space is capped at half the container's memory limit at most. */
function heapProblems(name: string, app: Container, config: Record<string, string>): string[] {
  const limit = (app.resources?.limits as { memory?: string } | undefined)?.memory;
  const heap = /--max-old-space-size=(\d+)/.exec(envOf(app, config, 'NODE_OPTIONS'))?.[1];
  if (!limit || !heap) return [`${name}: no memory limit or no heap cap`];
  return Number(heap) <= mebibytes(limit) / 2
    ? []
    : [`${name}: heap ${heap} MiB > half of ${limit}`];
}

describe.each(['dev', 'prod'])('infra/k8s/overlays/%s', (overlay) => {
  let objects: K8sObject[];
  let config: Record<string, string>;
  let workloads: Workload[];

  beforeAll(() => {
    objects = render(overlay);
    config = configOf(objects);
    workloads = ofKind<Workload>(objects, 'Deployment');
  });

  it('renders objects that all match their Kubernetes or CRD schema', () => {
    expect(objects.length).toBeGreaterThan(100);
    expect(objects.flatMap(schemaProblems)).toEqual([]);
  });

  it('holds no Secret: credentials never live in git', () => {
    expect(ofKind(objects, 'Secret')).toEqual([]);
  });

  it('runs every lane of every work queue in a Deployment of its service, with TASK_LANES', () => {
    const consumed = new Set(
      workloads.flatMap((w) => {
        const service = w.spec.template.metadata.labels['clearline.dev/service'];
        const [app] = w.spec.template.spec.containers;
        if (!service || !app) return [];
        return envOf(app, config, 'TASK_LANES')
          .split(',')
          .map((lane) => `${service}/${lane}`);
      }),
    );
    for (const queue of WORK_QUEUES) {
      const service = queue.name.split('.')[0];
      expect(consumed).toContain(`${service}/${queue.lane}`);
    }
  });

  it('gives every pod a grace period that covers its preStop pause, its drain and closing', () => {
    const problems = workloads.flatMap((workload) => {
      const { spec } = workload.spec.template;
      const [app] = spec.containers;
      if (!app) return [`${workload.metadata.name}: no container`];
      const pauseS = Number(app.lifecycle?.preStop?.exec?.command[1] ?? 0);
      const drainS = Number(envOf(app, config, 'TASK_DRAIN_TIMEOUT_MS')) / 1000;
      const graceS = spec.terminationGracePeriodSeconds ?? 30;
      return [
        ...(graceS < pauseS + drainS + 10
          ? [`${workload.metadata.name}: grace ${graceS} s < ${pauseS} + ${drainS} + 10 s`]
          : []),
        ...(app.resources?.requests && app.resources.limits
          ? []
          : [`${workload.metadata.name}: resources`]),
        ...(app.readinessProbe && app.livenessProbe ? [] : [`${workload.metadata.name}: probes`]),
        ...heapProblems(workload.metadata.name, app, config),
      ];
    });
    expect(problems).toEqual([]);
  });

  it('names the secrets it reads, and every one is in the examples', () => {
    const examples = parseYaml(
      readFileSync(resolve(K8S, 'base/examples/secrets.example.yaml'), 'utf8'),
    );
    const documented = new Set(examples.map((s) => s.metadata.name));
    const read = new Set(
      [...workloads, ...ofKind<Workload>(objects, 'Job').map((j) => j)].flatMap((w) =>
        w.spec.template.spec.containers.flatMap((c) =>
          (c.envFrom ?? []).flatMap((from) => (from.secretRef ? [from.secretRef.name] : [])),
        ),
      ),
    );
    expect(read.size).toBeGreaterThan(0);
    for (const name of read) expect(documented).toContain(name);
  });

  it('lets every service pod reach the broker and the database, and only the gateway Redis', () => {
    const policies = ofKind(objects, 'NetworkPolicy');
    const denyAll = policies.find((p) => {
      const spec = p.spec as unknown as NetworkPolicySpec;
      return Object.keys(spec.podSelector).length === 0 && spec.policyTypes.length === 2;
    });
    expect(denyAll).toBeDefined();
    for (const workload of workloads) {
      const labels = workload.spec.template.metadata.labels;
      const ports = egressPorts(policies, labels);
      expect({
        workload: workload.metadata.name,
        amqp: ports.has(5672),
        pg: ports.has(5432),
      }).toEqual({ workload: workload.metadata.name, amqp: true, pg: true });
      expect(ports.has(6379)).toBe(labels['clearline.dev/service'] === 'gateway');
    }
  });

  it('routes every Service to the pods of a workload', () => {
    const pods = [...workloads, ...ofKind<Workload>(objects, 'StatefulSet')].map(
      (w) => w.spec.template.metadata.labels,
    );
    for (const service of ofKind(objects, 'Service')) {
      const selector = (service.spec as { selector: Record<string, string> }).selector;
      expect(pods.some((labels) => matches(selector, labels))).toBe(true);
    }
  });
});

describe('autoscaling (prod)', () => {
  const objects = (): K8sObject[] => render('prod');

  it('scales every worker on its own queue with KEDA, and the API on CPU', () => {
    const all = objects();
    const config = configOf(all);
    const workloads = ofKind<Workload>(all, 'Deployment');
    const scaled = ofKind<
      K8sObject & {
        spec: {
          scaleTargetRef: { name: string };
          triggers: { type: string; metadata: Record<string, string> }[];
        };
      }
    >(all, 'ScaledObject');
    const queues = new Map(WORK_QUEUES.map((q) => [q.name, q.lane]));
    for (const workload of workloads.filter((w) => w.metadata.name !== 'gateway')) {
      const scaler = scaled.find((s) => s.spec.scaleTargetRef.name === workload.metadata.name);
      if (!scaler) throw new Error(`${workload.metadata.name} has no ScaledObject`);
      const [trigger] = scaler.spec.triggers;
      expect(trigger?.type).toBe('rabbitmq');
      const queue = trigger?.metadata['queueName'] ?? '';
      const [app] = workload.spec.template.spec.containers;
      if (!app) throw new Error('no container');
      // The queue it scales on is one the workload consumes (its lane, its service).
      expect(envOf(app, config, 'TASK_LANES').split(',')).toContain(queues.get(queue));
      expect(queue.split('.')[0]).toBe(
        workload.spec.template.metadata.labels['clearline.dev/service'],
      );
    }
    const hpas = ofKind<K8sObject & { spec: { metrics: { type: string }[] } }>(
      all,
      'HorizontalPodAutoscaler',
    );
    expect(hpas.map((h) => h.metadata.name)).toEqual(['gateway']);
    expect(hpas.flatMap((h) => h.spec.metrics.map((m) => m.type))).toEqual(['Resource']);
  });

  it('names its processor and payout rail, which the base leaves unset', () => {
    const base = parseYaml(
      execFileSync('kubectl', ['kustomize', resolve(K8S, 'base')], { encoding: 'utf8' }),
    );
    expect(configOf(base)['PAYMENT_PROCESSOR']).toBeUndefined();
    const config = configOf(objects());
    expect(config['PAYMENT_PROCESSOR']).toEqual(expect.any(String));
    expect(config['PAYOUT_RAIL']).toEqual(expect.any(String));
  });
});

describe('infra/k8s/base/examples', () => {
  it.each(['secrets.example.yaml', 'external-secrets.example.yaml'])(
    '%s matches its schemas',
    (file) => {
      const examples = parseYaml(readFileSync(resolve(K8S, 'base/examples', file), 'utf8'));
      expect(examples.length).toBeGreaterThan(0);
      expect(examples.flatMap(schemaProblems)).toEqual([]);
    },
  );

  it('the CRD schemas refuse a field they do not know, so a typo fails here', () => {
    const queue = {
      apiVersion: 'rabbitmq.com/v1beta1',
      kind: 'Queue',
      metadata: { name: 'queue-x' },
      spec: { name: 'x', durabel: true, rabbitmqClusterReference: { name: 'rabbitmq' } },
    };
    expect(schemaProblems(queue)).toHaveLength(1);
    expect(
      schemaProblems({ ...queue, spec: { name: 'x', rabbitmqClusterReference: { name: 'r' } } }),
    ).toEqual([]);
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'd' },
      spec: { replicas: 'two' },
    };
    expect(schemaProblems(deployment)).toHaveLength(1);
  });
});
