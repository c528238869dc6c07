/**
 * Operator routes over the task layer and the API documentation.
 *
 * How: a task is sent through the broker to the gateway's own worker
 * (`gateway.ping`) and its stored result is read back over HTTP; a task nobody handles
 * (`gateway.no_such_task`) is dead-lettered by the worker, listed over HTTP, replayed
 * (and dead-lettered again, as nothing handles it still). /docs-json must describe the
 * routes and both bearer schemes.
 */
import { randomUUID } from 'node:crypto';
import { TaskClient } from '@clearline/tasks';
import { eventually } from '@clearline/testing';
import { startGateway, type ErrorReply, type GatewayHarness } from './gateway-harness';

interface DeadLetterObject {
  id: string;
  object: 'dead_letter';
  queue: string;
  task: string | null;
  reason: string;
}

interface DeadLetterList {
  object: 'list';
  has_more: boolean;
  data: DeadLetterObject[];
}

describe('operations', () => {
  let gw: GatewayHarness;
  let tasks: TaskClient;

  beforeAll(async () => {
    gw = await startGateway();
    tasks = gw.app.get(TaskClient);
  });

  afterAll(async () => {
    await gw.close();
  });

  it("shows a task's state and result", async () => {
    const handle = await tasks.send('gateway.ping', { note: 'hello' });
    await handle.result();
    const reply = await gw.call<Record<string, unknown>>('GET', `/v1/admin/tasks/${handle.id}`);
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({
      id: handle.id,
      object: 'task',
      task: 'gateway.ping',
      queue: 'gateway',
      state: 'SUCCESS',
      result: { service: 'gateway', note: 'hello' },
      error: null,
      retries: 0,
    });
  });

  it.each([
    ['a random id', randomUUID()],
    // Its digit groups hold a Luhn-valid run: once refused as "a card number" (400).
    ['an id whose digits look like a card number', '88dffd60-566b-4853-8120-33536d153b6b'],
  ])('shows PENDING for a task nothing was recorded for, as Celery does (%s)', async (_, id) => {
    const reply = await gw.call<Record<string, unknown>>('GET', `/v1/admin/tasks/${id}`);
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({ id, object: 'task', state: 'PENDING', task: null });
  });

  it('lists dead letters and replays one', async () => {
    const handle = await tasks.send('gateway.no_such_task', { x: 1 });
    const listed = await eventually(
      async () => {
        const reply = await gw.call<DeadLetterList>('GET', '/v1/admin/dead-letters?queue=gateway');
        return reply.body.data.some((letter) => letter.id === handle.id) && reply.body;
      },
      { what: 'the dead letter' },
    );
    expect(listed.object).toBe('list');
    expect(listed.data.find((letter) => letter.id === handle.id)).toMatchObject({
      object: 'dead_letter',
      queue: 'gateway',
      task: 'gateway.no_such_task',
      reason: 'unregistered',
    });

    const replayed = await gw.call<DeadLetterObject>(
      'POST',
      `/v1/admin/dead-letters/${handle.id}/replay`,
    );
    expect(replayed.status).toBe(200);
    expect(replayed.body).toMatchObject({
      id: handle.id,
      object: 'dead_letter',
      task: 'gateway.no_such_task',
    });
    // Still unhandled: the replay lands in the dead-letter queue again.
    await eventually(
      async () => {
        const reply = await gw.call<DeadLetterList>('GET', '/v1/admin/dead-letters?limit=100');
        return reply.body.data.some((letter) => letter.id === handle.id);
      },
      { what: 'the replayed task to be dead-lettered again' },
    );
  });

  it('answers 404 for a dead letter that does not exist, and validates the list query', async () => {
    const missing = await gw.call<ErrorReply>(
      'POST',
      `/v1/admin/dead-letters/${randomUUID()}/replay`,
    );
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('resource_missing');
    const badQueue = await gw.call<ErrorReply>('GET', '/v1/admin/dead-letters?queue=nope');
    expect(badQueue.status).toBe(400);
    expect(badQueue.body.error.param).toBe('queue');
  });

  it('serves the OpenAPI document and its UI', async () => {
    const reply = await gw.call<{
      paths: Record<string, Record<string, { security?: Record<string, unknown>[] }>>;
      components: { securitySchemes: Record<string, { type: string; scheme: string }> };
    }>('GET', '/docs-json', { key: null });
    expect(reply.status).toBe(200);
    const { paths, components } = reply.body;
    expect(Object.keys(paths)).toEqual(
      expect.arrayContaining([
        '/v1/admin/merchants',
        '/v1/admin/merchants/{id}/keys',
        '/v1/events',
        '/v1/events/{id}',
        '/v1/admin/tasks/{id}',
        '/v1/admin/dead-letters',
        '/v1/admin/dead-letters/{id}/replay',
      ]),
    );
    expect(components.securitySchemes).toMatchObject({
      merchant_key: { type: 'http', scheme: 'bearer' },
      admin_key: { type: 'http', scheme: 'bearer' },
    });
    expect(paths['/v1/events']?.['get']?.security).toEqual([{ merchant_key: [] }]);
    const ui = await fetch(`${gw.baseUrl}/docs`);
    expect(ui.status).toBe(200);
    expect(await ui.text()).toContain('swagger');
  });
});
