/**
 * The test proxy's link faults: latency holds every chunk (in order), drops reset
 * connections, `heal` restores a clean link. How: an echo server on loopback behind the
 * proxy; the drops draw from a generator the test controls.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tcpProxy, type TcpProxy } from './tcp-proxy';

describe('tcpProxy link faults', () => {
  let echo: Server;
  let proxy: TcpProxy;

  beforeAll(async () => {
    echo = createServer((socket) => socket.pipe(socket));
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    const address = echo.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    proxy = await tcpProxy({ host: '127.0.0.1', port: address.port });
  });

  afterAll(async () => {
    await proxy.close();
    await new Promise<void>((resolve) => echo.close(() => resolve()));
  });

  afterEach(() => proxy.heal());

  const open = async (): Promise<Socket> => {
    const socket = connect(proxy.port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return socket;
  };

  /** Sends `text` and resolves with what came back, once it is all back. */
  const roundTrip = (socket: Socket, text: string): Promise<string> =>
    new Promise((resolve, reject) => {
      let got = '';
      const onData = (chunk: Buffer): void => {
        got += chunk.toString();
        if (got.length >= text.length) {
          socket.off('data', onData);
          resolve(got);
        }
      };
      socket.on('data', onData);
      socket.once('close', () => reject(new Error(`closed after ${JSON.stringify(got)}`)));
      socket.write(text);
    });

  it('holds each chunk for the latency, both ways, and keeps their order', async () => {
    proxy.degrade({ latencyMs: 150 });
    const socket = await open();
    const started = Date.now();
    const back = roundTrip(socket, 'abcdef');
    expect(await back).toBe('abcdef');
    // There and back again: at least twice the latency.
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    proxy.heal();
    expect(await roundTrip(socket, 'xyz')).toBe('xyz');
    socket.destroy();
  });

  it('resets connections at a drawn chunk and refuses new ones as drawn; heal ends it', async () => {
    const socket = await open();
    const draws = [0.9, 0.1];
    proxy.degrade({ dropProbability: 0.5, random: () => draws.shift() ?? 0 });
    // The first chunk passes (0.9), its echo is dropped (0.1): the connection is reset.
    await expect(roundTrip(socket, 'hello')).rejects.toThrow('closed');
    // Every later draw is 0: a new connection is refused at once.
    const refused = connect(proxy.port, '127.0.0.1');
    await new Promise<void>((resolve) => refused.once('close', () => resolve()));
    proxy.heal();
    const again = await open();
    expect(await roundTrip(again, 'back')).toBe('back');
    again.destroy();
  });

  it('refuses drops without a random source and latency out of range', () => {
    expect(() => proxy.degrade({ dropProbability: 0.2 })).toThrow('random');
    expect(() => proxy.degrade({ latencyMs: -1 })).toThrow('latencyMs');
  });
});
