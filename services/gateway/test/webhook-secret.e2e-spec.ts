/**
 * Merchants roll their webhook signing secret (issue 15): `POST /v1/webhook_secret/roll`
 * with the merchant's key answers the new secret once; deliveries after the roll are
 * signed with it and no longer with the old one, unless a grace period was asked for
 * (`previous_secret_expires_in`), during which each delivery carries both signatures;
 * another merchant's secret is untouched. A replay with the same Idempotency-Key shows
 * the same secret, and the stored answer holds it sealed, never in clear (so does the
 * stored answer of a merchant's creation, with its webhook secret).
 *
 * How: the real gateway over HTTP; a local endpoint records each delivery's body and
 * `Clearline-Signature`, checked with the receiver's own verifySignature; events are
 * recorded with EventsService.record in a real transaction; the idempotency rows are
 * read from PostgreSQL.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DataSource } from 'typeorm';
import { eventually } from '@clearline/testing';
import { EventsService } from '../src/events/events.service';
import { verifySignature } from '../src/webhooks/webhook-signature';
import {
  anyNumber,
  matching,
  startGateway,
  type CreatedMerchant,
  type ErrorReply,
  type GatewayHarness,
} from './gateway-harness';

interface RolledSecret {
  object: 'webhook_secret';
  merchant: string;
  secret: string;
  previous_secret_expires: number | null;
  created: number;
}

interface Delivery {
  body: string;
  signature: string;
}

const HOUR_S = 3_600;

describe('rolling the webhook secret', () => {
  let gw: GatewayHarness;
  let db: DataSource;
  let endpoint: Server;
  let endpointUrl: string;
  const deliveries = new Map<string, Delivery[]>();

  beforeAll(async () => {
    endpoint = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const path = req.url ?? '';
        const received = deliveries.get(path) ?? [];
        received.push({
          body: Buffer.concat(chunks).toString('utf8'),
          signature: String(req.headers['clearline-signature']),
        });
        deliveries.set(path, received);
        res.end();
      });
    });
    await new Promise<void>((resolve) => endpoint.listen(0, '127.0.0.1', resolve));
    endpointUrl = `http://127.0.0.1:${(endpoint.address() as AddressInfo).port}`;
    // The endpoint is local: http on 127.0.0.1, which production refuses.
    gw = await startGateway({ WEBHOOK_ALLOW_HTTP: '1', WEBHOOK_ALLOW_PRIVATE: '1' });
    db = gw.db;
  });

  afterAll(async () => {
    await gw.close();
    endpoint.closeAllConnections();
    await new Promise((resolve) => endpoint.close(resolve));
  });

  const roll = (merchant: CreatedMerchant, body: unknown = {}, idempotencyKey?: string) =>
    gw.call<RolledSecret & ErrorReply>('POST', '/v1/webhook_secret/roll', {
      key: merchant.api_key,
      body,
      ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
    });

  /** Records an event for the merchant and waits for its delivery at `path`. */
  const delivered = async (merchant: CreatedMerchant, path: string): Promise<Delivery> => {
    const seen = deliveries.get(path)?.length ?? 0;
    await db.transaction((manager) =>
      gw.app.get(EventsService).record(manager, merchant.id, 'payment.succeeded', { id: path }),
    );
    return eventually(() => deliveries.get(path)?.[seen] ?? false, {
      what: `a delivery to ${path}`,
    });
  };

  const signatures = (delivery: Delivery): number =>
    delivery.signature.split(',').filter((part) => part.startsWith('v1=')).length;

  it('answers a new secret once; later deliveries are signed with it, not with the old one', async () => {
    const merchant = await gw.createMerchant({ webhook_url: `${endpointUrl}/shop` });
    const bystander = await gw.createMerchant({ webhook_url: `${endpointUrl}/bystander` });
    const reply = await roll(merchant);
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({
      object: 'webhook_secret',
      merchant: merchant.id,
      secret: matching(/^whsec_[A-Za-z0-9]{32}$/),
      previous_secret_expires: null,
      created: anyNumber(),
    });
    expect(reply.body.secret).not.toBe(merchant.webhook_secret);

    const after = await delivered(merchant, '/shop');
    expect(signatures(after)).toBe(1);
    expect(verifySignature(after.signature, after.body, reply.body.secret)).toBe(true);
    expect(verifySignature(after.signature, after.body, merchant.webhook_secret)).toBe(false);
    // Another merchant's secret is its own.
    const theirs = await delivered(bystander, '/bystander');
    expect(verifySignature(theirs.signature, theirs.body, bystander.webhook_secret)).toBe(true);
  });

  it('with a grace period, signs with both secrets until it ends; a roll without one drops it', async () => {
    const merchant = await gw.createMerchant({ webhook_url: `${endpointUrl}/grace` });
    const graceful = await roll(merchant, { previous_secret_expires_in: HOUR_S });
    expect(graceful.status).toBe(200);
    expect(graceful.body.previous_secret_expires! - graceful.body.created).toBeGreaterThanOrEqual(
      HOUR_S - 1,
    );
    expect(graceful.body.previous_secret_expires! - graceful.body.created).toBeLessThanOrEqual(
      HOUR_S + 1,
    );
    const during = await delivered(merchant, '/grace');
    expect(signatures(during)).toBe(2);
    expect(verifySignature(during.signature, during.body, graceful.body.secret)).toBe(true);
    expect(verifySignature(during.signature, during.body, merchant.webhook_secret)).toBe(true);

    const abrupt = await roll(merchant, { previous_secret_expires_in: 0 });
    expect(abrupt.body.previous_secret_expires).toBeNull();
    const afterwards = await delivered(merchant, '/grace');
    expect(signatures(afterwards)).toBe(1);
    expect(verifySignature(afterwards.signature, afterwards.body, abrupt.body.secret)).toBe(true);
    for (const old of [graceful.body.secret, merchant.webhook_secret]) {
      expect(verifySignature(afterwards.signature, afterwards.body, old)).toBe(false);
    }
  });

  it('replays the same secret for the same Idempotency-Key, kept sealed at rest', async () => {
    const merchant = await gw.createMerchant({ webhook_url: `${endpointUrl}/replayed` });
    const first = await roll(merchant, {}, 'roll-once');
    const again = await roll(merchant, {}, 'roll-once');
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(first.body);
    const stored = await db.query<{ response_body: string }[]>(
      `SELECT response_body FROM idempotency_keys WHERE key = 'roll-once'`,
    );
    expect(stored).toHaveLength(1);
    expect(stored[0]!.response_body).toMatch(/^sb1\./);
    expect(stored[0]!.response_body).not.toContain(first.body.secret);
    // The replay rolled nothing: deliveries are signed with the secret it showed.
    const delivery = await delivered(merchant, '/replayed');
    expect(verifySignature(delivery.signature, delivery.body, first.body.secret)).toBe(true);
  });

  it("keeps a new merchant's webhook secret sealed in its creation's stored answer", async () => {
    const reply = await gw.call<CreatedMerchant>('POST', '/v1/admin/merchants', {
      body: { name: 'Sealed Ltd' },
      idempotencyKey: 'create-sealed',
    });
    expect(reply.status).toBe(201);
    const [stored] = await db.query<{ response_body: string }[]>(
      `SELECT response_body FROM idempotency_keys WHERE key = 'create-sealed'`,
    );
    expect(stored!.response_body).not.toContain(reply.body.webhook_secret);
    const replay = await gw.call<CreatedMerchant>('POST', '/v1/admin/merchants', {
      body: { name: 'Sealed Ltd' },
      idempotencyKey: 'create-sealed',
    });
    expect(replay.body.webhook_secret).toBe(reply.body.webhook_secret);
  });

  it('refuses a grace period out of range, and anyone but a merchant', async () => {
    const merchant = await gw.createMerchant({ webhook_url: `${endpointUrl}/refused` });
    for (const expiresIn of [-1, HOUR_S * 24 + 1, 1.5, '60', null]) {
      const reply = await roll(merchant, { previous_secret_expires_in: expiresIn });
      expect({ expiresIn, status: reply.status, param: reply.body.error.param }).toEqual({
        expiresIn,
        status: 400,
        param: 'previous_secret_expires_in',
      });
    }
    const unknown = await roll(merchant, { secret: 'whsec_chosen' });
    expect(unknown.status).toBe(400);
    const operator = await gw.call('POST', '/v1/webhook_secret/roll', { body: {} });
    expect(operator.status).toBe(401);
    // Nothing was rolled: deliveries are still signed with the first secret.
    const delivery = await delivered(merchant, '/refused');
    expect(verifySignature(delivery.signature, delivery.body, merchant.webhook_secret)).toBe(true);
  });
});
