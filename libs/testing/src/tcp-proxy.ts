import { connect, createServer, type Socket } from 'node:net';

/** How `degrade()` spoils the link until `heal()`. */
export interface LinkFaults {
  /** Every chunk, either way, is held this long before it is passed on (order is kept). */
  latencyMs?: number;
  /**
   * The chance that a new connection is refused, and that a connection is reset at each
   * chunk it carries (0 to 1): a flapping link, which clients see as lost connections.
   */
  dropProbability?: number;
  /** Draws for the drops: a seeded generator, so a run replays (0 <= x < 1). */
  random?: () => number;
}

/** A TCP proxy a test puts between its processes and a server, to cut them off at will. */
export interface TcpProxy {
  /** The local port to connect to instead of the server's. */
  port: number;
  /** Resets every connection through the proxy and refuses new ones until `heal()`. */
  cut(): void;
  /** Slows the link down or makes it drop connections, until `heal()`. */
  degrade(faults: LinkFaults): void;
  /** Lets connections through again, on a clean link (no cut, no latency, no drops). */
  heal(): void;
  close(): Promise<void>;
}

/** The longest `latencyMs` a proxy takes: more is a stalled link, which `cut` models. */
export const PROXY_LATENCY_MS_MAX = 60_000;

interface LinkState {
  down: boolean;
  latencyMs: number;
  dropProbability: number;
  random: () => number;
}

function checkFaults(faults: LinkFaults): void {
  const latency = faults.latencyMs ?? 0;
  const drop = faults.dropProbability ?? 0;
  if (!Number.isInteger(latency) || latency < 0 || latency > PROXY_LATENCY_MS_MAX) {
    throw new RangeError(`latencyMs must be a whole number 0..${PROXY_LATENCY_MS_MAX}`);
  }
  if (!(drop >= 0 && drop <= 1)) throw new RangeError('dropProbability must be 0..1');
  if (drop > 0 && faults.random === undefined) {
    throw new RangeError('dropProbability needs a random source (a seeded generator)');
  }
}

/**
 * Passes `from`'s chunks to `to`, each after the link's latency (never overtaking an
 * earlier chunk), and resets the connection (`drop`) at a chunk the link chooses to lose.
 */
function forward(from: Socket, to: Socket, link: LinkState, drop: () => void): void {
  let releaseAt = 0;
  from.on('data', (chunk: Buffer) => {
    if (link.dropProbability > 0 && link.random() < link.dropProbability) {
      drop();
      return;
    }
    if (link.latencyMs === 0 && releaseAt <= Date.now()) {
      to.write(chunk);
      return;
    }
    releaseAt = Math.max(releaseAt, Date.now() + link.latencyMs);
    setTimeout(() => {
      if (!to.destroyed) to.write(chunk);
    }, releaseAt - Date.now());
  });
  from.on('end', () => {
    setTimeout(() => to.end(), Math.max(0, releaseAt - Date.now()));
  });
}

/**
 * Forwards 127.0.0.1:<port> to `host:port`. An outage made with it (`cut` or `degrade`,
 * later `heal`) is the test's own: the server and everyone else using it see nothing,
 * unlike stopping the server, which every test run sharing it would feel.
 */
export async function tcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const open = new Set<Socket>();
  const link: LinkState = { down: false, latencyMs: 0, dropProbability: 0, random: () => 1 };
  const server = createServer((client) => {
    if (link.down || (link.dropProbability > 0 && link.random() < link.dropProbability)) {
      client.destroy();
      return;
    }
    const upstream = connect(target.port, target.host);
    open.add(client);
    open.add(upstream);
    const end = (): void => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    for (const socket of [client, upstream]) {
      socket.on('error', end);
      socket.on('close', end);
    }
    forward(client, upstream, link, end);
    forward(upstream, client, link, end);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no port');
  const cut = (): void => {
    link.down = true;
    for (const socket of open) socket.destroy();
    open.clear();
  };
  return {
    port: address.port,
    cut,
    degrade: (faults) => {
      checkFaults(faults);
      link.latencyMs = faults.latencyMs ?? 0;
      link.dropProbability = faults.dropProbability ?? 0;
      link.random = faults.random ?? (() => 1);
    },
    heal: () => {
      link.down = false;
      link.latencyMs = 0;
      link.dropProbability = 0;
    },
    close: async () => {
      cut();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** `url` (amqp://, postgres://, …) pointed at the proxy on this machine instead. */
export function throughProxy(url: string, proxy: TcpProxy): string {
  const proxied = new URL(url);
  proxied.hostname = '127.0.0.1';
  proxied.port = String(proxy.port);
  return proxied.toString();
}
