/**
 * A connection lost while its setup runs (the topology being declared, the publisher
 * and consumers opening channels) is reconnected, never fatal. Found by `npm run chaos`:
 * amqplib's recovery binds its listeners to a new connection only after our setup
 * ends, so the socket's `error` during setup had no listener and the service process
 * died on it ("Unexpected close"); and a setup that ended on a dead connection would
 * have been kept as the live one.
 *
 * How: a `BrokerConnection` reaches RabbitMQ through the test's TCP proxy. Its first
 * setup is held inside a listener (as a consumer opening its channel would be) while
 * the proxy resets the connection and lets new ones through again; then the listener
 * goes on. The process must live, and the connection must set up again on a new
 * connection and report itself connected.
 */
import {
  eventually,
  Gate,
  isolatedInfrastructure,
  tcpProxy,
  throughProxy,
} from '@clearline/testing';
import type { IsolatedInfrastructure, TcpProxy } from '@clearline/testing';
import type { ChannelModel } from 'amqplib';
import { BrokerConnection } from '../src/broker/broker-connection';

describe('a broker connection lost during its setup', () => {
  let infra: IsolatedInfrastructure;
  let proxy: TcpProxy;
  let connection: BrokerConnection | null = null;

  beforeAll(async () => {
    infra = await isolatedInfrastructure();
    const broker = new URL(infra.amqpUrl);
    proxy = await tcpProxy({ host: broker.hostname, port: Number(broker.port || 5672) });
  });

  afterAll(async () => {
    await connection?.close();
    await proxy.close();
    await infra.destroy();
  });

  it('reconnects and sets up again instead of dying or keeping the dead connection', async () => {
    const held = new Gate();
    held.close();
    const setups: ChannelModel[] = [];
    const entered = { first: false, closed: false };
    connection = new BrokerConnection({
      url: throughProxy(infra.amqpUrl, proxy),
      connectionName: 'clearline-test-setup-lost',
      topology: { exchanges: [], queues: [], bindings: [] },
    });
    await connection.onConnect(async (model) => {
      setups.push(model);
      if (setups.length === 1) {
        // Only 'close': an 'error' listener here would hide what the test looks for.
        model.once('close', () => (entered.closed = true));
        entered.first = true;
        await held.opened;
      }
    });
    const connecting = connection.connect();
    await eventually(() => entered.first, { what: 'the first setup to reach the listener' });
    proxy.cut();
    proxy.heal();
    await eventually(() => entered.closed, { what: 'the first connection to close' });
    held.open();
    await connecting;
    await eventually(() => setups.length >= 2 && connection?.connected === true, {
      what: 'a second setup on a new connection',
    });
    // The live connection is the new one: a channel opens on it.
    const live = setups.at(-1);
    await (await live?.createChannel())?.close();
  });
});
