/**
 * Events and webhooks: an event recorded in a transaction is listed to its merchant
 * only (Stripe pagination, newest first; another merchant's id is 404), and is POSTed
 * to the merchant's webhook URL by the `gateway.deliver_webhook` task with a signature
 * the merchant can verify; a failing endpoint is retried through the broker until it
 * answers 2xx, and every attempt is visible on the event; a delivery still queued when
 * the merchant's URL is removed ends without posting (skipped, not retried).
 *
 * How: events are recorded with EventsService.record inside a real transaction (the
 * routes that cause events arrive with payments). The webhook endpoint is a local HTTP
 * server in this test that checks the signature with the merchant's secret and answers
 * a scripted status per call.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DataSource } from 'typeorm';
import { eventually } from '@clearline/testing';
import { EventsService } from '../src/events/events.service';
import { verifySignature } from '../src/webhooks/webhook-signature';
import {
  anyNumber,
  startGateway,
  type CreatedMerchant,
  type ErrorReply,
  type GatewayHarness,
} from './gateway-harness';

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

interface EventObject {
  id: string;
  object: 'event';
  type: string;
  created: number;
  data: { object: Record<string, unknown> };
  delivery_attempts: {
    attempt: number;
    status_code: number | null;
    error: string | null;
    succeeded: boolean;
    url: string;
  }[];
}

interface EventList {
  object: 'list';
  url: string;
  has_more: boolean;
  data: EventObject[];
}

/** A merchant's webhook endpoint: records each call and answers the next scripted status. */
class WebhookEndpoint {
  readonly received: Received[] = [];
  private readonly server: Server;
  private script: number[] = [];
  private held: Promise<void> = Promise.resolve();

  constructor() {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        this.received.push({
          path: req.url ?? '',
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        });
        const status = this.script.shift() ?? 200;
        void this.held.then(() => {
          res.statusCode = status;
          res.end('ok');
        });
      });
    });
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  answer(...statuses: number[]): void {
    this.script = statuses;
  }

  /** Calls are recorded but not answered until the returned release is called. */
  hold(): () => void {
    let release = (): void => undefined;
    this.held = new Promise<void>((resolve) => (release = resolve));
    return () => {
      this.held = Promise.resolve();
      release();
    };
  }

  for(path: string): Received[] {
    return this.received.filter((call) => call.path === path);
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve, reject) =>
      this.server.close((error) => (error ? reject(error) : resolve())),
    );
  }
}

describe('events and webhooks', () => {
  let gw: GatewayHarness;
  let endpoint: WebhookEndpoint;
  let endpointUrl: string;

  beforeAll(async () => {
    endpoint = new WebhookEndpoint();
    endpointUrl = await endpoint.start();
    // The endpoints are local: http on 127.0.0.1, which production refuses.
    gw = await startGateway({ WEBHOOK_ALLOW_HTTP: '1', WEBHOOK_ALLOW_PRIVATE: '1' });
  });

  afterAll(async () => {
    await gw.close();
    await endpoint.stop();
  });

  const record = (merchantId: string, type: string, object: Record<string, unknown>) =>
    gw.app
      .get(DataSource)
      .transaction((manager) =>
        gw.app.get(EventsService).record(manager, merchantId, type, object),
      );

  const getEvent = (merchant: CreatedMerchant, id: string) =>
    gw.call<EventObject>('GET', `/v1/events/${id}`, { key: merchant.api_key });

  describe('listing', () => {
    let merchant: CreatedMerchant;
    let other: CreatedMerchant;
    const ids: string[] = [];

    beforeAll(async () => {
      merchant = await gw.createMerchant();
      other = await gw.createMerchant();
      for (let i = 0; i < 5; i += 1) {
        const type = i % 2 === 0 ? 'payment.succeeded' : 'payment.failed';
        ids.push(
          (await record(merchant.id, type, { id: `pay_${i}`, object: 'payment', amount: 100 + i }))
            .id,
        );
      }
      await record(other.id, 'payment.succeeded', { id: 'pay_other', object: 'payment' });
    });

    const list = (query: string, key = merchant.api_key) =>
      gw.call<EventList>('GET', `/v1/events${query}`, { key });

    it('lists newest first as a Stripe list object, with the event data', async () => {
      const reply = await list('');
      expect(reply.status).toBe(200);
      expect(reply.body).toMatchObject({ object: 'list', url: '/v1/events', has_more: false });
      expect(reply.body.data.map((event) => event.id)).toEqual([...ids].reverse());
      expect(reply.body.data[0]).toEqual({
        id: ids[4],
        object: 'event',
        type: 'payment.succeeded',
        created: anyNumber(),
        data: { object: { id: 'pay_4', object: 'payment', amount: 104 } },
        delivery_attempts: [],
      });
    });

    it('pages forward with starting_after and back with ending_before', async () => {
      const first = await list('?limit=2');
      expect(first.body.data.map((e) => e.id)).toEqual([ids[4], ids[3]]);
      expect(first.body.has_more).toBe(true);
      const second = await list(`?limit=2&starting_after=${ids[3]}`);
      expect(second.body.data.map((e) => e.id)).toEqual([ids[2], ids[1]]);
      expect(second.body.has_more).toBe(true);
      const last = await list(`?limit=2&starting_after=${ids[1]}`);
      expect(last.body.data.map((e) => e.id)).toEqual([ids[0]]);
      expect(last.body.has_more).toBe(false);
      const back = await list(`?limit=2&ending_before=${ids[1]}`);
      expect(back.body.data.map((e) => e.id)).toEqual([ids[3], ids[2]]);
      expect(back.body.has_more).toBe(true);
      const top = await list(`?limit=2&ending_before=${ids[3]}`);
      expect(top.body.data.map((e) => e.id)).toEqual([ids[4]]);
      expect(top.body.has_more).toBe(false);
    });

    it('filters by type', async () => {
      const failed = await list('?type=payment.failed');
      expect(failed.body.data.map((e) => e.id)).toEqual([ids[3], ids[1]]);
    });

    it("answers 404 for another merchant's event, as an id and as a cursor", async () => {
      const mine = await getEvent(merchant, ids[0]!);
      expect(mine.status).toBe(200);
      const theirs = await getEvent(other, ids[0]!);
      expect(theirs.status).toBe(404);
      expect((theirs.body as unknown as ErrorReply).error).toMatchObject({
        code: 'resource_missing',
        param: 'id',
      });
      const cursor = await list(`?starting_after=${ids[0]}`, other.api_key);
      expect(cursor.status).toBe(404);
      const otherList = await list('', other.api_key);
      expect(otherList.body.data.map((e) => e.data.object['id'])).toEqual(['pay_other']);
    });
  });

  it('records no delivery for a merchant without a webhook URL', async () => {
    const merchant = await gw.createMerchant();
    const event = await record(merchant.id, 'payment.succeeded', { id: 'pay_quiet' });
    const db = gw.db;
    const tasks = await db.query<unknown[]>(
      `SELECT 1 FROM task_outbox WHERE task = 'gateway.deliver_webhook' AND convert_from(body, 'UTF8') LIKE $1`,
      [`%${event.id}%`],
    );
    expect(tasks).toEqual([]);
  });

  it('POSTs the event to the webhook URL, signed with the merchant secret', async () => {
    const merchant = await gw.createMerchant({ webhook_url: `${endpointUrl}/signed` });
    endpoint.answer(200);
    const event = await record(merchant.id, 'payment.succeeded', { id: 'pay_signed', amount: 500 });
    const [call] = await eventually(
      () => endpoint.for('/signed').length > 0 && endpoint.for('/signed'),
      {
        what: 'the webhook',
      },
    );
    const header = call!.headers['clearline-signature'];
    expect(header).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(verifySignature(String(header), call!.body, merchant.webhook_secret)).toBe(true);
    expect(verifySignature(String(header), call!.body, 'whsec_not_theirs')).toBe(false);
    expect(call!.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(call!.body)).toEqual({
      id: event.id,
      object: 'event',
      type: 'payment.succeeded',
      created: anyNumber(),
      data: { object: { id: 'pay_signed', amount: 500 } },
    });
    const shown = await eventually(async () => {
      const reply = await getEvent(merchant, event.id);
      return reply.body.delivery_attempts.length > 0 && reply.body;
    });
    expect(shown.delivery_attempts).toEqual([
      {
        object: 'webhook_attempt',
        attempt: 1,
        url: `${endpointUrl}/signed`,
        status_code: 200,
        error: null,
        succeeded: true,
        duration_ms: anyNumber(),
        created: anyNumber(),
      },
    ]);
  });

  it('retries a failing endpoint with backoff until it answers 2xx; every attempt is visible', async () => {
    const merchant = await gw.createMerchant({ webhook_url: `${endpointUrl}/flaky` });
    endpoint.answer(503, 500);
    const event = await record(merchant.id, 'payment.failed', { id: 'pay_flaky' });
    const shown = await eventually(
      async () => {
        const reply = await getEvent(merchant, event.id);
        return reply.body.delivery_attempts.some((attempt) => attempt.succeeded) && reply.body;
      },
      { timeoutMs: 30_000, intervalMs: 200, what: 'a successful delivery after retries' },
    );
    expect(shown.delivery_attempts.map((a) => [a.attempt, a.status_code, a.succeeded])).toEqual([
      [1, 503, false],
      [2, 500, false],
      [3, 200, true],
    ]);
    const calls = endpoint.for('/flaky');
    expect(calls).toHaveLength(3);
    // Every attempt is signed afresh, over the same body.
    expect(new Set(calls.map((call) => call.body)).size).toBe(1);
    for (const call of calls) {
      expect(
        verifySignature(
          String(call.headers['clearline-signature']),
          call.body,
          merchant.webhook_secret,
        ),
      ).toBe(true);
    }
  });

  it('ends a queued delivery without posting once the URL is removed: skipped, not retried', async () => {
    const merchant = await gw.createMerchant({ webhook_url: `${endpointUrl}/removed` });
    endpoint.answer(503);
    // The first attempt is held at the endpoint until the URL is gone: its retry, queued
    // when it fails, finds no URL however slow the machine.
    const release = endpoint.hold();
    let event;
    try {
      event = await record(merchant.id, 'payment.succeeded', { id: 'pay_removed' });
      await eventually(() => endpoint.for('/removed').length === 1, {
        what: 'the first attempt to reach the endpoint',
      });
      const removed = await gw.call('PATCH', `/v1/admin/merchants/${merchant.id}`, {
        body: { webhook_url: null },
      });
      expect(removed.status).toBe(200);
    } finally {
      release();
    }
    const [outbox] = await gw.app
      .get(DataSource)
      .query<{ task_id: string }[]>(
        `SELECT task_id FROM task_outbox WHERE task = 'gateway.deliver_webhook' AND convert_from(body, 'UTF8') LIKE $1`,
        [`%${event.id}%`],
      );
    const task = await eventually(
      async () => {
        const reply = await gw.call<{ state: string; retries: number; result: unknown }>(
          'GET',
          `/v1/admin/tasks/${outbox!.task_id}`,
        );
        return reply.body.state === 'SUCCESS' && reply.body;
      },
      { what: 'the retried delivery to end' },
    );
    expect(task).toMatchObject({
      retries: 1,
      result: { event_id: event.id, outcome: 'skipped', attempt: null, status_code: null },
    });
    expect(endpoint.for('/removed')).toHaveLength(1);
    expect((await getEvent(merchant, event.id)).body.delivery_attempts).toHaveLength(1);
  });

  it('records an endpoint that cannot be reached as a failed attempt with a generic reason', async () => {
    // A port that was just free: nothing listens there.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const merchant = await gw.createMerchant({ webhook_url: `http://127.0.0.1:${port}/closed` });
    const event = await record(merchant.id, 'payment.succeeded', { id: 'pay_unreachable' });
    const shown = await eventually(async () => {
      const reply = await getEvent(merchant, event.id);
      return reply.body.delivery_attempts.length > 0 && reply.body;
    });
    expect(shown.delivery_attempts[0]).toMatchObject({
      attempt: 1,
      status_code: null,
      succeeded: false,
      error: 'connection_failed',
    });
  });
});
