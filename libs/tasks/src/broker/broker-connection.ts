import { Logger } from '@nestjs/common';
import { connect, type ChannelModel, type RecoveringChannelModel } from 'amqplib';
import { serviceOfUser } from '@clearline/contracts';
import { declareTopology, type Topology } from '../topology';
import { ownTopology } from '../topology/broker-permissions';

export type ConnectListener = (model: ChannelModel) => Promise<void>;

export interface BrokerConnectionOptions {
  url: string;
  /** Shown in the management UI's connection list. */
  connectionName: string;
  topology: Topology;
  /** Attempts before the first connection; afterwards reconnects never stop. */
  connectRetryCountMax?: number;
  heartbeatS?: number;
}

/**
 * One AMQP connection that comes back after the broker restarts.
 *
 * amqplib's recovery reconnects with backoff and runs our setup on every new
 * connection: the topology is declared again, then each listener (publisher,
 * consumers) recreates its channels, so consuming resumes by itself.
 */
export class BrokerConnection {
  private readonly logger: Logger;
  private readonly listeners: ConnectListener[] = [];
  private connection: RecoveringChannelModel | null = null;
  private current: ChannelModel | null = null;
  private closing = false;

  constructor(private readonly options: BrokerConnectionOptions) {
    this.logger = new Logger(`Broker(${options.connectionName})`);
  }

  /** Registers a listener; if already connected it runs at once. */
  async onConnect(listener: ConnectListener): Promise<void> {
    this.listeners.push(listener);
    if (this.current) await listener(this.current);
  }

  get connected(): boolean {
    return this.current !== null;
  }

  /**
   * The user this connection logs in as (the URL's, else amqplib's default, guest): what
   * RabbitMQ accepts as the `user_id` of everything published on it.
   */
  get user(): string {
    return decodeURIComponent(new URL(this.options.url).username) || 'guest';
  }

  async connect(): Promise<void> {
    if (this.connection) return;
    const url = new URL(this.options.url);
    url.searchParams.set('heartbeat', String(this.options.heartbeatS ?? 10));
    this.connection = await connect(url.toString(), {
      // Nagle's algorithm would hold small frames for ~40 ms; every task is a small frame.
      noDelay: true,
      clientProperties: { connection_name: this.options.connectionName },
      recovery: {
        initialDelay: 100,
        maxDelay: 5_000,
        initialMaxRetries: this.options.connectRetryCountMax ?? 20,
        setup: (model: ChannelModel) => this.setup(model),
      },
    });
    this.connection.on('disconnect', (error: Error) => {
      this.current = null;
      if (!this.closing) this.logger.warn(`connection lost: ${error.message}; reconnecting`);
    });
    this.connection.on('error', (error: Error) =>
      this.logger.warn(`connection error: ${error.message}`),
    );
    this.connection.on('reconnect-failed', (error: Error) =>
      this.logger.error(`giving up reconnecting: ${error.message}`),
    );
  }

  /**
   * amqplib's recovery listens to a new connection only once this setup has ended: a
   * socket lost meanwhile (the broker stopping, a flapping link) emitted `error` with no
   * listener, which ended the process (found by `npm run chaos`). So the setup listens
   * itself, and a setup that ends on a closed connection fails: recovery connects again
   * rather than keeping a dead connection as the live one.
   */
  private async setup(model: ChannelModel): Promise<void> {
    const lost: { error: Error | null } = { error: null };
    model.on('error', (error: Error) => {
      lost.error ??= error;
    });
    model.once('close', () => {
      lost.error ??= new Error('connection closed');
    });
    const channel = await model.createChannel();
    await declareTopology(channel, this.declaredTopology());
    await channel.close();
    for (const listener of this.listeners) await listener(model);
    if (lost.error) {
      this.logger.warn(`connection lost during setup: ${lost.error.message}; reconnecting`);
      throw lost.error;
    }
    this.current = model;
    this.logger.log('connected');
  }

  /**
   * What this connection declares: a service's own broker user (`clearline-<service>`)
   * may only declare its own queues (broker-permissions.ts), so it declares those and
   * relies on the rest having been declared by an operator; any other user (an operator,
   * a developer's guest) declares the whole topology.
   */
  private declaredTopology(): Topology {
    const service = serviceOfUser(this.user);
    return service === null ? this.options.topology : ownTopology(this.options.topology, service);
  }

  async close(): Promise<void> {
    this.closing = true;
    const connection = this.connection;
    this.connection = null;
    this.current = null;
    if (connection) await connection.close().catch(() => undefined);
  }
}
