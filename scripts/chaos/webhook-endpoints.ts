import { createServer, type ServerResponse } from 'node:http';

/** The merchants' webhook endpoints of a chaos run, on loopback. */
export interface WebhookEndpoints {
  /** The URL of the endpoint that hangs during a `webhook` fault. */
  hangingUrl: string;
  /** The URL of an endpoint that always answers 200 at once. */
  normalUrl: string;
  /** While set, the hanging endpoint accepts requests and never answers them. */
  setHanging(hanging: boolean): void;
  /** Requests received, answered or not. */
  received(): number;
  close(): Promise<void>;
}

export async function webhookEndpoints(): Promise<WebhookEndpoints> {
  const state = { hanging: false, received: 0 };
  const held = new Set<ServerResponse>();
  const server = createServer((request, response) => {
    state.received += 1;
    request.resume();
    if (request.url === '/hanging' && state.hanging) {
      // Accepted, read, never answered: the gateway's attempt times out.
      held.add(response);
      response.on('close', () => held.delete(response));
      return;
    }
    response.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port for webhooks');
  const base = `http://127.0.0.1:${address.port}`;
  return {
    hangingUrl: `${base}/hanging`,
    normalUrl: `${base}/normal`,
    setHanging: (hanging) => {
      state.hanging = hanging;
    },
    received: () => state.received,
    close: async () => {
      for (const response of held) response.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
