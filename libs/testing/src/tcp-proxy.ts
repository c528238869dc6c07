import { connect, createServer, type Socket } from 'node:net';

/** A TCP proxy a test puts between its processes and a server, to cut them off at will. */
export interface TcpProxy {
  /** The local port to connect to instead of the server's. */
  port: number;
  /** Resets every connection through the proxy and refuses new ones until `heal()`. */
  cut(): void;
  /** Lets connections through again. */
  heal(): void;
  close(): Promise<void>;
}

/**
 * Forwards 127.0.0.1:<port> to `host:port`. An outage made with it (`cut`, later
 * `heal`) is the test's own: the server and everyone else using it see nothing, unlike
 * stopping the server, which every test run sharing it would feel.
 */
export async function tcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const open = new Set<Socket>();
  const state = { down: false };
  const server = createServer((client) => {
    if (state.down) {
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
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no port');
  const cut = (): void => {
    state.down = true;
    for (const socket of open) socket.destroy();
    open.clear();
  };
  return {
    port: address.port,
    cut,
    heal: () => {
      state.down = false;
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
