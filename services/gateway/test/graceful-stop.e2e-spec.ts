/**
 * A stopping service is not held open by clients that keep their connections alive and
 * busy. Node's `server.close()` waits for every open connection; a load balancer or a
 * merchant's pool sending request after request on kept-alive connections never lets it
 * finish, and the process never exits (seen when a benchmark's load outlived the services
 * it stopped: the gateway waited for good). With `HttpDrain`, from the first shutdown hook
 * a request is refused with the API's 503 error object and `Connection: close`, and
 * whatever is still open after `HTTP_DRAIN_TIMEOUT_MS` is closed.
 *
 * How: the gateway and the ledger (the two ways a service is bootstrapped) run as their
 * own processes. Clients on kept-alive connections ask `GET /health/live` back to back;
 * once answers flow, the service gets SIGTERM while they keep asking. It must exit, with
 * code 0, well within the deadline (without the drain it never does), and every answer
 * after the signal is either a normal one or the 503 refusal that closes its connection.
 * Then a request that never finishes (its body stops half way) with a short
 * `HTTP_DRAIN_TIMEOUT_MS`: the stop must close its connection at the deadline rather than
 * wait for Node's own request timeout (5 minutes).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import {
  eventually,
  isolatedInfrastructure,
  sleep,
  startServiceOnFreePort,
  type IsolatedInfrastructure,
  type ServiceProcess,
} from '@clearline/testing';

/** Clients asking at once, each on its own kept-alive connection. */
const CLIENTS = 8;
/** Answers that must have flowed before the signal. */
const ANSWERS_BEFORE_SIGNAL = 50;
/** Far above a drained stop (a few seconds) and below forever, which is what is tested. */
const STOP_DEADLINE_MS = 60_000;

interface Answer {
  status: number;
  connection: string | undefined;
  retryAfter: string | undefined;
  body: string;
  /** Whether SIGTERM had been sent when the request was made. */
  afterSignal: boolean;
}

/** One request on the agent's kept-alive connections. */
interface Call {
  method: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

/** `call` on the agent's kept-alive connections; null when the connection failed. */
function send(agent: Agent, port: number, call: Call): Promise<Omit<Answer, 'afterSignal'> | null> {
  return new Promise((resolve) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        agent,
        timeout: 30_000,
        method: call.method,
        path: call.path,
        headers: call.headers,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            connection: res.headers.connection,
            retryAfter: res.headers['retry-after'],
            body,
          }),
        );
        res.on('error', () => resolve(null));
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(null));
    req.end(call.body);
  });
}

/** Clients asking back to back until `stop()`; the answers they got. */
function busyClients(
  port: number,
  call: () => Call,
): {
  answers: Answer[];
  signalled(): void;
  stop(): Promise<void>;
} {
  const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS });
  const answers: Answer[] = [];
  let afterSignal = false;
  let stopped = false;
  const loops = Array.from({ length: CLIENTS }, async () => {
    while (!stopped) {
      const sentAfterSignal = afterSignal;
      const answer = await send(agent, port, call());
      if (answer) answers.push({ ...answer, afterSignal: sentAfterSignal });
      // Refused connections (the server is gone) are retried gently, not in a spin.
      else await sleep(20);
    }
  });
  return {
    answers,
    signalled: () => {
      afterSignal = true;
    },
    stop: async () => {
      stopped = true;
      await Promise.all(loops);
      agent.destroy();
    },
  };
}

describe('graceful stop under kept-alive, busy connections', () => {
  let infra: IsolatedInfrastructure;
  let ledger: ServiceProcess | null = null;
  const adminKey = `sk_admin_${randomBytes(16).toString('hex')}`;

  beforeAll(async () => {
    infra = await isolatedInfrastructure();
    ledger = await startServiceOnFreePort('ledger', {
      ...infra.env,
      // Long: the stop must not depend on the deadline that closes what is left.
      HTTP_DRAIN_TIMEOUT_MS: '30000',
    });
  });

  afterAll(async () => {
    await ledger?.stop();
    await infra.destroy();
  });

  /** Stops `service` under busy clients: how it exited, and the answers after the signal. */
  async function stopUnderLoad(
    service: ServiceProcess,
    call: () => Call,
  ): Promise<{ code: number | null; signal: string | null; after: Answer[] }> {
    const clients = busyClients(service.port, call);
    try {
      await eventually(() => clients.answers.length >= ANSWERS_BEFORE_SIGNAL, {
        what: 'answers flowing',
      });
      clients.signalled();
      const outcome = await Promise.race([
        service.stop().then(() => 'exited' as const),
        sleep(STOP_DEADLINE_MS).then(() => 'still running' as const),
      ]);
      if (outcome !== 'exited') await service.kill();
      expect(outcome).toBe('exited');
      return {
        code: service.child.exitCode,
        signal: service.child.signalCode,
        after: clients.answers.filter((a) => a.afterSignal),
      };
    } finally {
      await clients.stop();
    }
  }

  function expectStopped(stopped: {
    code: number | null;
    signal: string | null;
    after: Answer[];
  }): void {
    expect({ code: stopped.code, signal: stopped.signal }).toEqual({ code: 0, signal: null });
    expect(stopped.after.some((a) => a.status === 503)).toBe(true);
    // Each answer after the signal is an ordinary one (a request in flight, or one taken
    // before the shutdown hooks ran) or the refusal that closes its connection.
    for (const answer of stopped.after) {
      if (answer.status < 300) continue;
      expect(answer).toMatchObject({ status: 503, connection: 'close', retryAfter: '2' });
      expect(JSON.parse(answer.body)).toEqual({
        error: {
          type: 'api_error',
          code: 'service_unavailable',
          message: expect.any(String) as string,
          param: null,
        },
      });
    }
  }

  it('the gateway exits on SIGTERM while clients keep sending payments on busy connections', async () => {
    const gateway = await startServiceOnFreePort('gateway', {
      ...infra.env,
      ADMIN_API_KEY: adminKey,
      RATE_LIMIT_PER_S: '1000000',
      HTTP_DRAIN_TIMEOUT_MS: '30000',
    });
    const base = `http://127.0.0.1:${gateway.port}`;
    const merchant = (await (
      await fetch(`${base}/v1/admin/merchants`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'graceful stop' }),
      })
    ).json()) as { api_key: string };
    const payment = (): Call => ({
      method: 'POST',
      path: '/v1/payments',
      headers: {
        authorization: `Bearer ${merchant.api_key}`,
        'content-type': 'application/json',
        'idempotency-key': randomUUID(),
      },
      body: JSON.stringify({ amount: 1_000, currency: 'usd', source: 'tok_visa' }),
    });
    // The merchant's ledger accounts open asynchronously: payments succeed once they are.
    await eventually(
      async () =>
        (await fetch(`${base}${payment().path}`, { ...payment(), method: 'POST' })).status === 200,
      { what: "the merchant's first payment" },
    );
    expectStopped(await stopUnderLoad(gateway, payment));
  });

  it('a service started by bootstrapService (the ledger) exits on SIGTERM under busy clients', async () => {
    const service = ledger;
    ledger = null;
    if (service === null) throw new Error('the ledger did not start');
    expectStopped(await stopUnderLoad(service, () => ({ method: 'GET', path: '/health/live' })));
  });

  it('closes a request still in flight at HTTP_DRAIN_TIMEOUT_MS, and exits', async () => {
    const service = await startServiceOnFreePort('ledger', {
      ...infra.env,
      HTTP_DRAIN_TIMEOUT_MS: '1000',
    });
    // Headers and half a JSON body: the body parser waits for the rest, which never comes.
    const socket = connect({ host: '127.0.0.1', port: service.port });
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => undefined);
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write(
      'POST /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
        'Content-Length: 100\r\n\r\n{"half":',
    );
    // Enough for the request to reach the server; had it not, the connection would be idle
    // and closed at once, which this test could not tell from the deadline.
    await sleep(500);
    const outcome = await Promise.race([
      service.stop().then(() => 'exited' as const),
      sleep(STOP_DEADLINE_MS).then(() => 'still running' as const),
    ]);
    if (outcome !== 'exited') await service.kill();
    expect(outcome).toBe('exited');
    expect({ code: service.child.exitCode, signal: service.child.signalCode }).toEqual({
      code: 0,
      signal: null,
    });
    await closed;
  });
});
