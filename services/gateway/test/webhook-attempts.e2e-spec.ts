/**
 * What a merchant sees of failed webhook attempts, and redirects (issue 15): an endpoint
 * that answers a redirect is not followed (the target of the redirect gets no request)
 * and the attempt shows `redirect_refused` with the status; other failures show only a
 * generic reason (`http_status`, `timeout`, `connection_failed`, `tls_error`), never the
 * network error's text, which goes to our logs.
 *
 * How: the real gateway over HTTP with local endpoints in this file, so private targets
 * and http are allowed here (WEBHOOK_ALLOW_PRIVATE=1, WEBHOOK_ALLOW_HTTP=1); events are
 * recorded with EventsService.record in a real transaction, and read back with the
 * merchant's key from GET /v1/events/{id}.
 */
import { createServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DataSource } from 'typeorm';
import { eventually } from '@clearline/testing';
import { EventsService } from '../src/events/events.service';
import { startGateway, type CreatedMerchant, type GatewayHarness } from './gateway-harness';

/** Short, so the endpoint that never answers fails its attempt soon. */
const WEBHOOK_TIMEOUT_MS = 1_000;

interface Attempt {
  attempt: number;
  status_code: number | null;
  error: string | null;
  succeeded: boolean;
}

interface Endpoint {
  url: string;
  requests: string[];
}

describe('webhook attempts: redirects and generic reasons', () => {
  let gw: GatewayHarness;
  const servers: Server[] = [];

  /** A local endpoint answering with `handler`, counting the requests it gets. */
  const serve = async (
    handler: (req: IncomingMessage, res: ServerResponse) => void,
  ): Promise<Endpoint> => {
    const requests: string[] = [];
    const server = createServer((req, res) => {
      requests.push(req.url ?? '');
      handler(req, res);
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, requests };
  };

  beforeAll(async () => {
    gw = await startGateway({
      WEBHOOK_ALLOW_HTTP: '1',
      WEBHOOK_ALLOW_PRIVATE: '1',
      WEBHOOK_CONNECT_TIMEOUT_MS: '500',
      WEBHOOK_TIMEOUT_MS: String(WEBHOOK_TIMEOUT_MS),
    });
  });

  afterAll(async () => {
    await gw.close();
    for (const server of servers) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  /** A merchant posting to `url`, one event for it, and that event's first attempt. */
  const firstAttempt = async (url: string): Promise<{ attempt: Attempt; text: string }> => {
    const merchant: CreatedMerchant = await gw.createMerchant({ webhook_url: url });
    const event = await gw.app.get(DataSource).transaction((manager) =>
      gw.app.get(EventsService).record(manager, merchant.id, 'payment.succeeded', {
        id: 'pay_attempts',
      }),
    );
    return eventually(
      async () => {
        const reply = await gw.call<{ delivery_attempts: Attempt[] }>(
          'GET',
          `/v1/events/${event.id}`,
          { key: merchant.api_key },
        );
        const [attempt] = reply.body.delivery_attempts;
        return attempt !== undefined && { attempt, text: reply.text };
      },
      { what: `the first attempt to ${url}`, timeoutMs: 15_000 },
    );
  };

  it('does not follow a redirect: redirect_refused with its status, and the target gets nothing', async () => {
    const target = await serve((_req, res) => res.end());
    const redirecting = await serve((_req, res) => {
      res.writeHead(302, { location: target.url });
      res.end();
    });
    const { attempt } = await firstAttempt(redirecting.url);
    expect(attempt).toMatchObject({
      attempt: 1,
      status_code: 302,
      error: 'redirect_refused',
      succeeded: false,
    });
    expect(redirecting.requests).toHaveLength(1);
    expect(target.requests).toEqual([]);
  });

  it('shows a status other than 2xx as http_status', async () => {
    const failing = await serve((_req, res) => {
      res.statusCode = 500;
      res.end('stack trace of the merchant');
    });
    const { attempt } = await firstAttempt(failing.url);
    expect(attempt).toMatchObject({ status_code: 500, error: 'http_status', succeeded: false });
  });

  it('shows an endpoint that never answers as timeout, with no error text', async () => {
    const silent = await serve(() => undefined);
    const { attempt, text } = await firstAttempt(silent.url);
    expect(attempt).toMatchObject({ status_code: null, error: 'timeout', succeeded: false });
    expect(text).not.toMatch(/WebhookTimeoutError|within \d+ ms/);
  });

  it('shows a refused connection as connection_failed, with no error text', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const { attempt, text } = await firstAttempt(`http://127.0.0.1:${port}/hook`);
    expect(attempt).toMatchObject({ status_code: null, error: 'connection_failed' });
    expect(text).not.toMatch(/ECONNREFUSED/);
  });

  it('shows a failed TLS handshake as tls_error, with no error text', async () => {
    // https to an endpoint that speaks plain HTTP: the handshake cannot succeed.
    const plain = await serve((_req, res) => res.end());
    const { attempt, text } = await firstAttempt(plain.url.replace('http:', 'https:'));
    expect(attempt).toMatchObject({ status_code: null, error: 'tls_error' });
    expect(text).not.toMatch(/EPROTO|SSL|openssl/i);
  });
});
