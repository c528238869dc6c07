import type { LookupAddress } from 'node:dns';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebhookPoster } from './webhook-post';
import type { ResolveAll, WebhookTargetPolicy } from './webhook-target';

const CONNECT_TIMEOUT_MS = 200;
const TIMEOUT_MS = 400;
/** Room for a loaded machine's timers above a bound; the bound itself is the lower side. */
const SLACK_MS = 2_000;
const LOCAL: WebhookTargetPolicy = { allowHttp: true, allowPrivate: true };
const PUBLIC_ONLY: WebhookTargetPolicy = { allowHttp: true, allowPrivate: false };
const TIMEOUTS = { connectTimeoutMs: CONNECT_TIMEOUT_MS, timeoutMs: TIMEOUT_MS };

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** A local endpoint whose handler each test sets; counts the requests it received. */
interface Endpoint {
  url: string;
  port: number;
  requests: IncomingMessage[];
}

/** A resolver that answers `answers` in turn (the last one again), counting its calls. */
function scriptedResolver(...answers: LookupAddress[][]): ResolveAll & { calls: string[] } {
  const calls: string[] = [];
  const resolve = (name: string): Promise<LookupAddress[]> => {
    calls.push(name);
    return Promise.resolve(answers[Math.min(calls.length, answers.length) - 1] ?? []);
  };
  return Object.assign(resolve, { calls });
}

const loopback: LookupAddress = { address: '127.0.0.1', family: 4 };

describe('WebhookPoster', () => {
  const poster = new WebhookPoster(TIMEOUTS, LOCAL);
  const servers: Server[] = [];
  const serve = async (handler: Handler): Promise<Endpoint> => {
    const requests: IncomingMessage[] = [];
    const server = createServer((req, res) => {
      requests.push(req);
      handler(req, res);
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    return { url: `http://127.0.0.1:${port}/hook`, port, requests };
  };
  const answering = (status: number): Handler => {
    return (_req, res) => {
      res.statusCode = status;
      res.end();
    };
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
    const { url } = await serve((req, res) => {
      req.on('data', (chunk: Buffer) => (received += chunk.toString('utf8')));
      req.on('end', () => {
        res.statusCode = 204;
        res.end();
      });
    });
    const outcome = await poster.post(url, { 'X-Test': 'yes' }, '{"id":"evt_1"}');
    expect(outcome).toMatchObject({ statusCode: 204, failure: null, detail: null });
    expect(received).toBe('{"id":"evt_1"}');
  });

  it('fails an endpoint that accepts the connection and never answers, at the total timeout', async () => {
    const { url } = await serve(() => undefined);
    const outcome = await poster.post(url, {}, '{}');
    expect(outcome).toMatchObject({ statusCode: null, failure: 'timeout' });
    expect(outcome.detail).toMatch(/WebhookTimeoutError: no response within 400 ms/);
    expect(outcome.durationMs).toBeGreaterThanOrEqual(TIMEOUT_MS - 5);
    expect(outcome.durationMs).toBeLessThan(TIMEOUT_MS + SLACK_MS);
  });

  it('fails a connection that does not open in time (here: a lookup that never answers)', async () => {
    const hanging = new WebhookPoster(
      { connectTimeoutMs: CONNECT_TIMEOUT_MS, timeoutMs: 10 * TIMEOUT_MS },
      PUBLIC_ONLY,
      () => new Promise<LookupAddress[]>(() => undefined),
    );
    const outcome = await hanging.post('https://merchant.example/hook', {}, '{}');
    hanging.close();
    expect(outcome).toMatchObject({ statusCode: null, failure: 'timeout' });
    expect(outcome.detail).toMatch(/WebhookTimeoutError: not connected within 200 ms/);
    expect(outcome.durationMs).toBeLessThan(10 * TIMEOUT_MS);
  });

  it('answers as soon as the headers arrive, without reading a body that never ends', async () => {
    const { url } = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('a body that never ends');
    });
    expect(await poster.post(url, {}, '{}')).toMatchObject({ statusCode: 200, failure: null });
  });

  it('does not follow a redirect: a failed attempt, redirect_refused, and the target sees nothing', async () => {
    const elsewhere = await serve(answering(200));
    const { url } = await serve((_req, res) => {
      res.writeHead(302, { location: elsewhere.url });
      res.end();
    });
    expect(await poster.post(url, {}, '{}')).toMatchObject({
      statusCode: 302,
      failure: 'redirect_refused',
      detail: 'HTTP 302',
    });
    expect(elsewhere.requests).toHaveLength(0);
  });

  it('records another status as http_status', async () => {
    const { url } = await serve(answering(500));
    expect(await poster.post(url, {}, '{}')).toMatchObject({
      statusCode: 500,
      failure: 'http_status',
    });
  });

  it('tells a refused connection, a name that does not resolve and a TLS failure apart', async () => {
    const closed = await serve(answering(200));
    const [server] = servers.slice(-1);
    await new Promise((resolve) => server!.close(resolve));
    expect(await poster.post(closed.url, {}, '{}')).toMatchObject({
      failure: 'connection_failed',
      detail: expect.stringMatching(/ECONNREFUSED/) as unknown,
    });
    const unknown = new WebhookPoster(TIMEOUTS, PUBLIC_ONLY, () =>
      Promise.reject(Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' })),
    );
    expect(await unknown.post('https://nowhere.example/hook', {}, '{}')).toMatchObject({
      failure: 'dns_failed',
    });
    unknown.close();
    // TLS to an endpoint that speaks plain HTTP: the handshake fails.
    const plain = await serve(answering(200));
    expect(await poster.post(plain.url.replace('http:', 'https:'), {}, '{}')).toMatchObject({
      statusCode: null,
      failure: 'tls_error',
    });
  });
});

describe('WebhookPoster: where it connects', () => {
  const servers: Server[] = [];
  const posters: WebhookPoster[] = [];
  const endpoint = async (): Promise<Endpoint> => {
    const requests: IncomingMessage[] = [];
    const server = createServer((req, res) => {
      requests.push(req);
      res.end();
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    return { url: `http://127.0.0.1:${port}/hook`, port, requests };
  };
  const posterWith = (policy: WebhookTargetPolicy, resolveAll?: ResolveAll): WebhookPoster => {
    const poster = new WebhookPoster(TIMEOUTS, policy, resolveAll);
    posters.push(poster);
    return poster;
  };

  afterAll(async () => {
    for (const poster of posters) poster.close();
    for (const server of servers) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('refuses a private address, literal or resolved, without connecting', async () => {
    const target = await endpoint();
    const poster = posterWith(PUBLIC_ONLY, scriptedResolver([loopback]));
    const literal = await poster.post(target.url, {}, '{}');
    expect(literal).toMatchObject({ statusCode: null, failure: 'address_refused' });
    expect(literal.detail).toMatch(/is a loopback address/);
    const named = await poster.post(`http://merchant.example:${target.port}/hook`, {}, '{}');
    expect(named).toMatchObject({ statusCode: null, failure: 'address_refused' });
    expect(named.detail).toMatch(/resolves to a loopback address/);
    expect(target.requests).toHaveLength(0);
  });

  it('refuses a name when any of its addresses is refused', async () => {
    const target = await endpoint();
    const poster = posterWith(
      PUBLIC_ONLY,
      scriptedResolver([
        { address: '8.8.8.8', family: 4 },
        { address: '::ffff:169.254.169.254', family: 6 },
      ]),
    );
    const outcome = await poster.post(`http://merchant.example:${target.port}/hook`, {}, '{}');
    expect(outcome).toMatchObject({ failure: 'address_refused' });
    expect(outcome.detail).toMatch(/cloud metadata/);
  });

  it('refuses metadata even where private targets are allowed', async () => {
    const poster = posterWith(LOCAL, scriptedResolver([{ address: '169.254.169.254', family: 4 }]));
    for (const url of [
      'http://169.254.169.254/latest/meta-data/',
      'http://metadata.google.internal/computeMetadata/v1/',
      'http://via-dns.example/latest/meta-data/',
      'http://[fd00:ec2::254]/latest/meta-data/',
    ]) {
      expect(await poster.post(url, {}, '{}')).toMatchObject({ failure: 'address_refused' });
    }
  });

  it('refuses a URL the policy does not allow, without connecting: scheme, credentials, port', async () => {
    const target = await endpoint();
    const httpsOnly = posterWith({ allowHttp: false, allowPrivate: true });
    expect(await httpsOnly.post(target.url, {}, '{}')).toMatchObject({ failure: 'url_refused' });
    const poster = posterWith(LOCAL);
    const withUser = target.url.replace('http://', 'http://user:pass@');
    expect(await poster.post(withUser, {}, '{}')).toMatchObject({ failure: 'url_refused' });
    expect(await poster.post('http://127.0.0.1:25/hook', {}, '{}')).toMatchObject({
      failure: 'url_refused',
    });
    expect(target.requests).toHaveLength(0);
  });

  it('resolves once and connects to the address it checked, keeping the name for Host (no rebinding)', async () => {
    const target = await endpoint();
    // A second lookup would answer an address nothing listens on: the attempt would fail.
    const resolver = scriptedResolver([loopback], [{ address: '10.255.255.1', family: 4 }]);
    const poster = posterWith(LOCAL, resolver);
    const url = `http://merchant.example:${target.port}/hook`;
    expect(await poster.post(url, {}, '{}')).toMatchObject({ statusCode: 200, failure: null });
    expect(resolver.calls).toEqual(['merchant.example']);
    expect(target.requests[0]?.headers.host).toBe(`merchant.example:${target.port}`);
  });
});
