/**
 * What a service shows Prometheus, and where:
 * - with METRICS_PORT set, `/metrics` is served on that port by the process's second
 *   listener and the HTTP port's `/metrics` answers 404 (health stays on the HTTP port);
 *   unset, `/metrics` is on the HTTP port as before;
 * - tasks are counted by name and lane through their life: published and confirmed by
 *   the producer, started and finished (SUCCESS, FAILURE) by the worker, dead-lettered
 *   with task, lane and reason;
 * - the outbox lag: a committed row the relay cannot send shows in the unsent count and
 *   the oldest age, and both fall back once it is gone.
 *
 * How: a real service (`startTaskApp`, the production modules) on this file's vhost and
 * database, listening on a free HTTP port, scraped over HTTP as Prometheus would.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { MetricsServer } from '@clearline/platform';
import { Task } from '@clearline/tasks';
import {
  eventually,
  freePort,
  isolatedInfrastructure,
  startTaskApp,
  type IsolatedInfrastructure,
  type TaskApp,
} from '@clearline/testing';

@Controller()
class ProbeTasks {
  @Task('gateway.metrics_probe')
  probe(@Payload() payload: { n: number }): number {
    return payload.n;
  }

  @Task('gateway.metrics_fault', { retryCountMax: 0 })
  fault(): never {
    throw new Error('a fault the metrics must show');
  }
}

/** The value of one sample in a Prometheus text page; 0 when the series is absent. */
function sample(page: string, name: string, labels: Record<string, string>): number {
  for (const line of page.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const matches = Object.entries(labels).every(([key, value]) =>
      line.includes(`${key}="${value}"`),
    );
    if (matches) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
}

async function get(port: number, path: string): Promise<{ status: number; body: string }> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, {
    signal: AbortSignal.timeout(20_000),
  });
  return { status: response.status, body: await response.text() };
}

/** The HTTP port `app` listens on, after listening on any free one. */
async function listen(app: TaskApp): Promise<number> {
  await app.app.listen(0, '127.0.0.1');
  const server = app.app.getHttpServer() as Server;
  return (server.address() as AddressInfo).port;
}

// First: @nestjs/config copies a validated environment into process.env, so the app
// below with METRICS_PORT would leave it set for any app started after it in this file.
describe('metrics without METRICS_PORT', () => {
  let infra: IsolatedInfrastructure;
  let worker: TaskApp;

  beforeAll(async () => {
    infra = await isolatedInfrastructure();
    worker = await startTaskApp({ infra });
  });

  afterAll(async () => {
    await worker.close();
    await infra.destroy();
  });

  it('are served at /metrics on the HTTP port, as before', async () => {
    const apiPort = await listen(worker);
    const page = await get(apiPort, '/metrics');
    expect(page.status).toBe(200);
    expect(page.body).toContain('# TYPE clearline_outbox_oldest_unsent_age_seconds gauge');
    expect(worker.app.get(MetricsServer).port).toBeNull();
  });
});

describe('metrics', () => {
  let infra: IsolatedInfrastructure;
  let worker: TaskApp;
  let metricsPort: number;
  let apiPort: number;
  const scrape = async (): Promise<string> => (await get(metricsPort, '/metrics')).body;

  beforeAll(async () => {
    infra = await isolatedInfrastructure();
    metricsPort = await freePort();
    worker = await startTaskApp({
      infra,
      controllers: [ProbeTasks],
      env: { METRICS_PORT: String(metricsPort) },
    });
    apiPort = await listen(worker);
  });

  afterAll(async () => {
    await worker.close();
    await infra.destroy();
  });

  it('are served on METRICS_PORT only; the HTTP port answers 404 for them and keeps health', async () => {
    expect(worker.app.get(MetricsServer).port).toBe(metricsPort);
    const separate = await get(metricsPort, '/metrics');
    expect(separate.status).toBe(200);
    expect(separate.body).toContain('# TYPE clearline_tasks_total counter');
    expect((await get(apiPort, '/metrics')).status).toBe(404);
    expect((await get(apiPort, '/health/live')).status).toBe(200);
    // The metrics listener serves nothing else.
    expect((await get(metricsPort, '/health/live')).status).toBe(404);
  });

  it('count a task by name and lane: published, confirmed, started, succeeded', async () => {
    const labels = { task: 'gateway.metrics_probe', lane: 'realtime' };
    const before = await scrape();
    const handles = await Promise.all([1, 2, 3].map((n) => worker.client.send(labels.task, { n })));
    expect(await Promise.all(handles.map((handle) => handle.result()))).toEqual([1, 2, 3]);
    await eventually(
      async () =>
        sample(await scrape(), 'clearline_tasks_total', { ...labels, state: 'SUCCESS' }) -
          sample(before, 'clearline_tasks_total', { ...labels, state: 'SUCCESS' }) ===
        3,
      { what: 'three successes counted' },
    );
    const after = await scrape();
    for (const name of [
      'clearline_tasks_published_total',
      'clearline_tasks_confirmed_total',
      'clearline_tasks_started_total',
      'clearline_task_duration_seconds_count',
    ]) {
      expect({ name, added: sample(after, name, labels) - sample(before, name, labels) }).toEqual({
        name,
        added: 3,
      });
    }
  });

  it('count a failed task as FAILURE and as a dead letter with its task, lane and reason', async () => {
    const labels = { task: 'gateway.metrics_fault', lane: 'realtime' };
    const handle = await worker.client.send(labels.task, {});
    await expect(handle.result()).rejects.toThrow(/a fault the metrics must show/);
    await eventually(
      async () =>
        sample(await scrape(), 'clearline_task_dead_letters_total', {
          ...labels,
          queue: 'gateway',
          reason: 'failed',
        }) === 1,
      { what: 'the dead letter counted' },
    );
    expect(sample(await scrape(), 'clearline_tasks_total', { ...labels, state: 'FAILURE' })).toBe(
      1,
    );
  });

  it('show the outbox lag: an unsendable committed row counts and ages, and clears once gone', async () => {
    // Unroutable (no queue is bound to its key): the relay tries it on every pass and
    // keeps it unsent, as it would a row while the broker is away.
    await worker.db.query(
      `INSERT INTO task_outbox (task_id, task, exchange, routing_key, body, properties, created_at)
       VALUES ('metrics-lag', 'gateway.metrics_probe', 'clearline.tasks', 'no.such.queue',
               '\\x7b7d', '{"messageId": "metrics-lag"}'::jsonb, now() - interval '1 hour')`,
    );
    await eventually(
      async () => {
        const page = await scrape();
        return (
          sample(page, 'clearline_outbox_unsent_messages', {}) >= 1 &&
          sample(page, 'clearline_outbox_oldest_unsent_age_seconds', {}) >= 3_600
        );
      },
      { what: 'the unsent row in the outbox gauges' },
    );
    await worker.db.query(`DELETE FROM task_outbox WHERE task_id = 'metrics-lag'`);
    await eventually(
      async () => {
        const page = await scrape();
        return (
          sample(page, 'clearline_outbox_unsent_messages', {}) === 0 &&
          sample(page, 'clearline_outbox_oldest_unsent_age_seconds', {}) === 0
        );
      },
      { what: 'the outbox gauges back to 0' },
    );
  });
});
