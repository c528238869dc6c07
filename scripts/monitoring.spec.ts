/**
 * The dashboard and the alerts name only what exists:
 * - every PromQL expression of `infra/grafana/clearline.json` and of the alerts in
 *   `infra/k8s/base/monitoring.yaml` names metrics the code registers (read from the
 *   Prometheus registry after importing every module that defines Clearline metrics,
 *   with the process's default ones) or an outside exporter's (`rabbitmq_`, `cnpg_`,
 *   `kube_`, `up`);
 * - every alert has a severity, a summary, a description and a runbook_url whose anchor
 *   is a heading of docs/operations.md;
 * - the base kustomization applies monitoring.yaml.
 *
 * How: pure parsing, no services: the expressions lose their strings, label matchers,
 * ranges and groupings, and what remains that is not a function or a keyword is a name.
 */
import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { collectDefaultMetrics, register } from 'prom-client';
import { parse, parseAllDocuments } from 'yaml';
import '@clearline/platform';
import '@clearline/tasks';
import '../services/gateway/src/http/http-metrics';
import '../services/gateway/src/payments/in-place-authorizations';
import '../services/gateway/src/recovery/recovery-metrics';
import '../services/gateway/src/webhooks/webhooks.service';
import '../services/ledger/src/ledger/ledger-metrics';
import '../services/settlement/src/settlements/settlement-metrics';

const ROOT = join(__dirname, '..');
const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');

/** Names of outside exporters' metrics the dashboard and alerts may use. */
const EXTERNAL = [/^rabbitmq_/, /^cnpg_/, /^kube_/, /^up$/];

const PROMQL_WORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'and',
  'or',
  'unless',
  'offset',
  'inf',
  'nan',
]);

/** The metric names an expression reads. */
export function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const match of bare.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const name = match[0];
    const next = bare.slice(match.index + name.length).trimStart();
    if (next.startsWith('(') || PROMQL_WORDS.has(name.toLowerCase())) continue;
    names.add(name);
  }
  return [...names];
}

/** Every series name the code can expose (histograms with their three suffixes). */
async function registeredNames(): Promise<Set<string>> {
  collectDefaultMetrics();
  const names = new Set<string>();
  for (const metric of await register.getMetricsAsJSON()) {
    names.add(metric.name);
    if (metric.type.toString() === 'histogram') {
      for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${metric.name}${suffix}`);
    }
  }
  return names;
}

interface Panel {
  title?: string;
  targets?: { expr?: string }[];
  panels?: Panel[];
}

function panelExpressions(panels: Panel[]): { where: string; expr: string }[] {
  return panels.flatMap((panel) => [
    ...(panel.targets ?? []).flatMap((target) =>
      target.expr ? [{ where: `panel "${panel.title ?? '?'}"`, expr: target.expr }] : [],
    ),
    ...panelExpressions(panel.panels ?? []),
  ]);
}

interface Rule {
  alert?: string;
  expr: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

function alertRules(): Rule[] {
  const docs = parseAllDocuments(read('infra/k8s/base/monitoring.yaml')).map(
    (doc) => doc.toJS() as { kind: string; spec: { groups?: { rules: Rule[] }[] } },
  );
  return docs
    .filter((doc) => doc.kind === 'PrometheusRule')
    .flatMap((doc) => (doc.spec.groups ?? []).flatMap((group) => group.rules))
    .filter((rule) => rule.alert !== undefined);
}

/** GitHub's anchor of a Markdown heading. */
function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

describe('metric names in PromQL', () => {
  it('are read from expressions, leaving functions, labels, ranges and keywords out', () => {
    expect(
      metricNames(
        'sum by (le, route) (rate(x_bucket{route=~"/v1/.*", a="b(c)"}[5m])) / on (job) group_left up > bool 2',
      ).sort(),
    ).toEqual(['up', 'x_bucket']);
  });
});

describe('the Grafana dashboard and the alerts', () => {
  let known: Set<string>;
  const unknownIn = (expr: string): string[] =>
    metricNames(expr).filter(
      (name) => !known.has(name) && !EXTERNAL.some((prefix) => prefix.test(name)),
    );

  beforeAll(async () => {
    known = await registeredNames();
  });

  it('the registry holds the metrics of every service (the imports above are complete)', () => {
    for (const name of [
      'clearline_tasks_started_total',
      'clearline_outbox_oldest_unsent_age_seconds',
      'clearline_http_request_duration_seconds_bucket',
      'clearline_webhook_deliveries_total',
      'clearline_ledger_checks_total',
      'clearline_settlement_runs_total',
      'clearline_operation_oldest_age_seconds',
      'process_resident_memory_bytes',
    ]) {
      expect(known).toContain(name);
    }
  });

  it('every panel of the dashboard names only metrics that exist', () => {
    const dashboard = JSON.parse(read('infra/grafana/clearline.json')) as { panels: Panel[] };
    const expressions = panelExpressions(dashboard.panels);
    expect(expressions.length).toBeGreaterThan(20);
    const unknown = expressions.flatMap(({ where, expr }) =>
      unknownIn(expr).map((name) => `${where}: ${name}`),
    );
    expect(unknown).toEqual([]);
  });

  it('every alert names only metrics that exist, with severity, summary, description and runbook', () => {
    const rules = alertRules();
    expect(rules.length).toBeGreaterThan(10);
    const headings = new Set(
      [...read('docs/operations.md').matchAll(/^#{1,6} (.+)$/gm)].map((m) => anchorOf(m[1] ?? '')),
    );
    for (const rule of rules) {
      const what = rule.alert ?? '?';
      expect({ what, unknown: unknownIn(rule.expr) }).toEqual({ what, unknown: [] });
      expect(`${what}: ${rule.labels?.['severity'] ?? 'no severity'}`).toMatch(
        /: (critical|warning)$/,
      );
      expect(rule.annotations?.['summary']).toEqual(expect.any(String));
      expect(rule.annotations?.['description']).toEqual(expect.any(String));
      const url = rule.annotations?.['runbook_url'] ?? '';
      expect(url).toMatch(/\/docs\/operations\.md#[a-z0-9-]+$/);
      const anchor = url.slice(url.indexOf('#') + 1);
      expect({ what, anchor, inRunbook: headings.has(anchor) }).toEqual({
        what,
        anchor,
        inRunbook: true,
      });
    }
  });

  it('the base kustomization applies monitoring.yaml', () => {
    const kustomization = parse(read('infra/k8s/base/kustomization.yaml')) as {
      resources: string[];
    };
    expect(kustomization.resources).toContain('monitoring.yaml');
  });
});
