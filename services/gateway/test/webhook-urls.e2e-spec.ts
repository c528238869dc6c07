/**
 * Webhook URLs cannot reach inside (issue 15), with the production policy
 * (WEBHOOK_ALLOW_HTTP and WEBHOOK_ALLOW_PRIVATE unset): creating or patching a merchant
 * with a URL that is not https, carries credentials, names a privileged port, or whose
 * host is or resolves to a loopback, private, link-local, CGNAT, unspecified, multicast,
 * broadcast, documentation or metadata address (IPv4-mapped and other IPv6 forms
 * included) answers 400 `parameter_invalid` on `webhook_url` and changes nothing; public
 * URLs are accepted. At delivery the target is checked again: a URL whose name now
 * resolves to 127.0.0.1 is refused without a connection, and the attempt shows
 * `address_refused`, nothing more.
 *
 * How: the real gateway over HTTP. `localhost` is the name that resolves to 127.0.0.1
 * (from /etc/hosts, no network needed). No API accepts such a URL, so the delivery case
 * sets it in the merchant's row, as a DNS record changed after registration would (a
 * rebinding); the local endpoint it points at counts the requests it gets: none.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DataSource } from 'typeorm';
import { eventually } from '@clearline/testing';
import { EventsService } from '../src/events/events.service';
import { startGateway, type ErrorReply, type GatewayHarness } from './gateway-harness';

/** Refused URLs, and what the message must say. */
const REFUSED: [url: string, message: RegExp][] = [
  ['https://hooks.merchant.example/with space', /absolute http\(s\) URL/],
  ['https://hooks.merchant.example/\ttab', /absolute http\(s\) URL/],
  ['gopher://hooks.merchant.example/', /absolute http\(s\) URL/],
  ['http://hooks.merchant.example/clearline', /must be an https:\/\/ URL/],
  ['https://user:hunter2@hooks.merchant.example/clearline', /user name or password/],
  ['https://hooks.merchant.example:22/clearline', /port must be 80, 443 or 1024-65535/],
  ['https://127.0.0.1/hooks', /is a loopback address/],
  ['https://127.1/hooks', /is a loopback address/],
  ['https://2130706433/hooks', /is a loopback address/],
  ['https://0x7f000001/hooks', /is a loopback address/],
  ['https://localhost/hooks', /resolves to a loopback address/],
  ['https://api.localhost/hooks', /internal name/],
  ['https://[::1]/hooks', /is a loopback address/],
  ['https://[::ffff:127.0.0.1]/hooks', /is a loopback address/],
  ['https://[::127.0.0.1]/hooks', /is a loopback address/],
  ['https://[64:ff9b::7f00:1]/hooks', /is a loopback address/],
  ['https://10.1.2.3/hooks', /is a private address/],
  ['https://172.16.0.1/hooks', /is a private address/],
  ['https://192.168.1.1/hooks', /is a private address/],
  ['https://[fc00::1]/hooks', /is a private address/],
  ['https://[fd12:3456::1]/hooks', /is a private address/],
  ['https://[::ffff:10.0.0.1]/hooks', /is a private address/],
  ['https://100.64.0.1/hooks', /is a shared \(CGNAT\) address/],
  ['https://169.254.10.10/hooks', /is a link-local address/],
  ['https://[fe80::1]/hooks', /is a link-local address/],
  ['https://169.254.169.254/latest/meta-data/', /is a cloud metadata address/],
  ['https://[::ffff:a9fe:a9fe]/latest/meta-data/', /is a cloud metadata address/],
  ['https://[fd00:ec2::254]/latest/meta-data/', /is a cloud metadata address/],
  ['https://metadata.google.internal/computeMetadata/v1/', /cloud metadata service/],
  ['https://0.0.0.0/hooks', /is an unspecified address/],
  ['https://[::]/hooks', /is an unspecified address/],
  ['https://224.0.0.1/hooks', /is a multicast address/],
  ['https://[ff02::1]/hooks', /is a multicast address/],
  ['https://255.255.255.255/hooks', /is a broadcast address/],
  ['https://192.0.2.10/hooks', /is a documentation address/],
  ['https://[2001:db8::1]/hooks', /is a documentation address/],
  ['https://intranet/hooks', /internal name/],
  ['https://billing.internal/hooks', /internal name/],
];

/** Accepted without any network: literal public addresses, and a name not (yet) in DNS. */
const ACCEPTED = [
  'https://hooks.merchant.example/clearline',
  'https://hooks.merchant.example:8443/clearline?account=7',
  'https://93.184.215.14/hooks',
  'https://[2606:4700:4700::1111]:8443/hooks',
];

interface AttemptsShown {
  delivery_attempts: {
    attempt: number;
    status_code: number | null;
    error: string | null;
    succeeded: boolean;
  }[];
}

describe('webhook URLs with the production policy', () => {
  let gw: GatewayHarness;
  let db: DataSource;
  let endpoint: Server;
  let port: number;
  const requests: string[] = [];

  beforeAll(async () => {
    endpoint = createServer((req, res) => {
      requests.push(req.url ?? '');
      res.end();
    });
    await new Promise<void>((resolve) => endpoint.listen(0, '127.0.0.1', resolve));
    port = (endpoint.address() as AddressInfo).port;
    gw = await startGateway({ WEBHOOK_ALLOW_HTTP: '0', WEBHOOK_ALLOW_PRIVATE: '0' });
    db = gw.db;
  });

  afterAll(async () => {
    await gw.close();
    endpoint.closeAllConnections();
    await new Promise((resolve) => endpoint.close(resolve));
  });

  const merchantCount = async (): Promise<number> => {
    const [row] = await db.query<{ n: number }[]>(`SELECT count(*)::int AS n FROM merchants`);
    return row!.n;
  };

  it('refuses every such URL at creation: 400 parameter_invalid on webhook_url, nothing created', async () => {
    const before = await merchantCount();
    for (const [url, message] of REFUSED) {
      const reply = await gw.call<ErrorReply>('POST', '/v1/admin/merchants', {
        body: { name: 'Inside Job Ltd', webhook_url: url },
      });
      expect({ url, status: reply.status, error: reply.body.error }).toEqual({
        url,
        status: 400,
        error: {
          type: 'invalid_request_error',
          code: 'parameter_invalid',
          param: 'webhook_url',
          message: expect.stringMatching(message) as unknown,
        },
      });
      expect(reply.text).not.toContain('hunter2');
    }
    expect(await merchantCount()).toBe(before);
  });

  it('refuses every such URL at patch, keeping the URL the merchant had', async () => {
    const merchant = await gw.createMerchant({ webhook_url: ACCEPTED[0] });
    for (const [url, message] of REFUSED) {
      const reply = await gw.call<ErrorReply>('PATCH', `/v1/admin/merchants/${merchant.id}`, {
        body: { webhook_url: url },
      });
      expect({ url, status: reply.status, param: reply.body.error.param }).toEqual({
        url,
        status: 400,
        param: 'webhook_url',
      });
      expect(reply.body.error.message).toMatch(message);
    }
    const shown = await gw.call<{ webhook_url: string }>(
      'GET',
      `/v1/admin/merchants/${merchant.id}`,
    );
    expect(shown.body.webhook_url).toBe(ACCEPTED[0]);
  });

  it('accepts public URLs, at creation and at patch', async () => {
    for (const url of ACCEPTED) {
      const created = await gw.createMerchant({ webhook_url: url });
      expect(created.webhook_url).toBe(url);
      const patched = await gw.call<{ webhook_url: string }>(
        'PATCH',
        `/v1/admin/merchants/${created.id}`,
        { body: { webhook_url: ACCEPTED[(ACCEPTED.indexOf(url) + 1) % ACCEPTED.length] } },
      );
      expect(patched.status).toBe(200);
    }
  });

  it('refuses at delivery a name that now resolves to 127.0.0.1, or a scheme no longer allowed: no request, a generic reason', async () => {
    const rebound = await gw.createMerchant({ webhook_url: ACCEPTED[0] });
    const plain = await gw.createMerchant({ webhook_url: ACCEPTED[0] });
    // What DNS or an older policy did after registration; no API accepts these URLs.
    await db.query(`UPDATE merchants SET webhook_url = $2 WHERE id = $1`, [
      rebound.id,
      `https://localhost:${port}/rebound`,
    ]);
    await db.query(`UPDATE merchants SET webhook_url = $2 WHERE id = $1`, [
      plain.id,
      `http://93.184.215.14:${port}/plain`,
    ]);
    const events = gw.app.get(EventsService);
    const [first, second] = await db.transaction((manager) =>
      Promise.all([
        events.record(manager, rebound.id, 'payment.succeeded', { id: 'pay_rebound' }),
        events.record(manager, plain.id, 'payment.succeeded', { id: 'pay_plain' }),
      ]),
    );
    const attemptOf = async (key: string, eventId: string) =>
      eventually(
        async () => {
          const reply = await gw.call<AttemptsShown>('GET', `/v1/events/${eventId}`, { key });
          return reply.body.delivery_attempts[0] ?? false;
        },
        { what: `the first attempt of ${eventId}` },
      );
    expect(await attemptOf(rebound.api_key, first.id)).toEqual(
      expect.objectContaining({
        attempt: 1,
        status_code: null,
        error: 'address_refused',
        succeeded: false,
      }),
    );
    expect(await attemptOf(plain.api_key, second.id)).toEqual(
      expect.objectContaining({ status_code: null, error: 'url_refused', succeeded: false }),
    );
    expect(requests).toEqual([]);
  });
});
