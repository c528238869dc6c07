import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebhookPoster } from './webhook-post';

const CONNECT_TIMEOUT_MS = 200;
const TIMEOUT_MS = 400;
/** Room for a loaded machine's timers above a bound; the bound itself is the lower side. */
const SLACK_MS = 2_000;

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** A local endpoint whose handler each test sets. */
async function endpoint(handler: Handler): Promise<{ url: string; server: Server }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, server };
}

describe('WebhookPoster', () => {
  const poster = new WebhookPoster({ connectTimeoutMs: CONNECT_TIMEOUT_MS, timeoutMs: TIMEOUT_MS });
  const servers: Server[] = [];
  const serve = async (handler: Handler): Promise<string> => {
    const { url, server } = await endpoint(handler);
    servers.push(server);
    return url;
  };

  afterAll(async () => {
    poster.close();
    for (const server of servers) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('POSTs the body with the headers and returns the status', async () => {
    let received = '';
    const url = await serve((req, res) => {
      req.on('data', (chunk: Buffer) => (received += chunk.toString('utf8')));
      req.on('end', () => {
        res.statusCode = 204;
        res.setHeader('x-seen', String(req.headers['x-test']));
        res.end();
      });
    });
    const outcome = await poster.post(url, { 'X-Test': 'yes' }, '{"id":"evt_1"}');
    expect(outcome).toMatchObject({ statusCode: 204, error: null });
    expect(received).toBe('{"id":"evt_1"}');
  });

  it('fails an endpoint that accepts the connection and never answers, at the total timeout', async () => {
    const url = await serve(() => undefined);
    const outcome = await poster.post(url, {}, '{}');
    expect(outcome.statusCode).toBeNull();
    expect(outcome.error).toMatch(/WebhookTimeoutError: no response within 400 ms/);
    expect(outcome.durationMs).toBeGreaterThanOrEqual(TIMEOUT_MS - 5);
    expect(outcome.durationMs).toBeLessThan(TIMEOUT_MS + SLACK_MS);
  });

  it('fails a connection that does not open in time (here: a lookup that never answers)', async () => {
    const hanging = new WebhookPoster(
      { connectTimeoutMs: CONNECT_TIMEOUT_MS, timeoutMs: 10 * TIMEOUT_MS },
      () => undefined,
    );
    const outcome = await hanging.post('http://merchant.invalid/hook', {}, '{}');
    hanging.close();
    expect(outcome.statusCode).toBeNull();
    expect(outcome.error).toMatch(/WebhookTimeoutError: not connected within 200 ms/);
    expect(outcome.durationMs).toBeLessThan(10 * TIMEOUT_MS);
  });

  it('answers as soon as the headers arrive, without reading a body that never ends', async () => {
    const url = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('a body that never ends');
    });
    expect(await poster.post(url, {}, '{}')).toMatchObject({ statusCode: 200, error: null });
  });

  it('does not follow a redirect: its status is the outcome', async () => {
    const url = await serve((_req, res) => {
      res.writeHead(302, { location: 'http://127.0.0.1:1/elsewhere' });
      res.end();
    });
    expect(await poster.post(url, {}, '{}')).toMatchObject({ statusCode: 302, error: null });
  });
});
