/**
 * Who may move money: the ledger's money tasks run only for the services their contract
 * names (gateway, refund, settlement), as proven by the AMQP `user_id` RabbitMQ checks.
 * A message from anyone else on the vhost — a stranger with publish rights, the operator
 * user, a service the contract does not name — is dead-lettered `unauthorized-sender`
 * and changes nothing (no transfer, no result row). A forged `user_id` is refused by the
 * broker itself, and a service's user can neither consume, declare nor delete another
 * service's queues.
 *
 * How: the ledger's handlers in this process, connected as `clearline-ledger`; messages
 * published with plain amqplib connections as each user; rows counted in PostgreSQL. And
 * the same for the database: each service's PostgreSQL role, connected as directly,
 * cannot write the ledger, touch tables its contract does not name, or change the schema.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { connect, type Channel, type ChannelModel } from 'amqplib';
import { Client } from 'pg';
import { LEDGER_TASK, type TransferWire } from '@clearline/contracts';
import { TASK_EXCHANGE } from '@clearline/tasks';
import {
  amqpUrlAs,
  databaseUrlAs,
  eventually,
  isolatedInfrastructure,
  management,
  type IsolatedInfrastructure,
  type TaskApp,
} from '@clearline/testing';
import { createAccounts, startLedger } from './ledger-harness';

const EMBED = { callbacks: null, errbacks: null, chain: null, chord: null };

describe('who may send the ledger its tasks', () => {
  let infra: IsolatedInfrastructure;
  let ledger: TaskApp;
  let db: Client;
  const stranger = `stranger-${randomBytes(4).toString('hex')}`;
  const strangerPassword = randomBytes(12).toString('hex');
  const connections: ChannelModel[] = [];

  const urlAs = (user: string, password: string): string => {
    const url = new URL(infra.amqpUrl);
    url.username = encodeURIComponent(user);
    url.password = encodeURIComponent(password);
    return url.toString();
  };

  const channelFor = async (url: string): Promise<Channel> => {
    const connection = await connect(url);
    connections.push(connection);
    return connection.createChannel();
  };

  /** Publishes `ledger.create_transfers` for one transfer as the channel's user. */
  const sendTransfer = (channel: Channel, transfer: TransferWire, userId?: string): string => {
    const id = randomUUID();
    channel.publish(
      TASK_EXCHANGE,
      'ledger',
      Buffer.from(JSON.stringify([[], { transfers: [transfer] }, EMBED])),
      {
        messageId: id,
        contentType: 'application/json',
        headers: { task: LEDGER_TASK.createTransfers, id },
        ...(userId === undefined ? {} : { userId }),
      },
    );
    return id;
  };

  let seq = 0;
  const transfer = (): TransferWire => ({
    id: `senders_${(seq += 1)}`,
    debit_account_id: 'senders:a',
    credit_account_id: 'senders:b',
    amount: 100,
    currency: 'USD',
    code: 2,
  });

  const transferCount = async (id: string): Promise<number> => {
    const { rows } = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ledger_transfers WHERE id = $1`,
      [id],
    );
    return rows[0]?.n ?? 0;
  };

  const resultRows = async (taskId: string): Promise<number> => {
    const { rows } = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM task_results WHERE id = $1`,
      [taskId],
    );
    return rows[0]?.n ?? 0;
  };

  const deadLetter = (taskId: string) =>
    eventually(
      async () => (await ledger.deadLetters.list({ queue: 'ledger' })).find((l) => l.id === taskId),
      { what: `the dead letter of ${taskId}` },
    );

  beforeAll(async () => {
    infra = await isolatedInfrastructure();
    await management('PUT', `/users/${stranger}`, { password: strangerPassword, tags: '' });
    await management('PUT', `/permissions/${encodeURIComponent(infra.name)}/${stranger}`, {
      configure: '.*',
      write: '.*',
      read: '.*',
    });
    ledger = await startLedger(infra);
    db = new Client({ connectionString: infra.databaseUrl });
    await db.connect();
    const accounts = ['senders:a', 'senders:b'].map((id) => ({
      id,
      currency: 'USD',
      code: 400,
      owner: 'senders-test',
    }));
    expect(await createAccounts(ledger, accounts)).toEqual(['ok', 'ok']);
  });

  afterAll(async () => {
    await Promise.all(connections.map((c) => c.close().catch(() => undefined)));
    await db.end();
    await ledger.close();
    await management('DELETE', `/users/${stranger}`);
    await infra.destroy();
  });

  it('moves money for the gateway, a sender its contract names', async () => {
    const channel = await channelFor(amqpUrlAs(infra.amqpUrl, 'gateway'));
    const t = transfer();
    const taskId = sendTransfer(channel, t, 'clearline-gateway');
    await eventually(async () => ((await transferCount(t.id)) === 1 ? true : undefined), {
      what: 'the transfer to be written',
    });
    await expect(ledger.store.get(taskId)).resolves.toMatchObject({ state: 'SUCCESS' });
  });

  it.each([
    ['a stranger with publish rights', () => ({ user: stranger, password: strangerPassword })],
    ['the operator user', () => ({ user: '', password: '' })],
  ])('dead-letters a transfer from %s and changes nothing', async (_who, credentials) => {
    const { user, password } = credentials();
    const channel = await channelFor(user === '' ? infra.amqpUrl : urlAs(user, password));
    const t = transfer();
    const taskId = sendTransfer(channel, t);
    const letter = await deadLetter(taskId);
    expect(letter).toMatchObject({
      reason: 'unauthorized-sender',
      task: LEDGER_TASK.createTransfers,
    });
    expect(letter.error).toMatch(/may not send ledger\.create_transfers/);
    expect(await transferCount(t.id)).toBe(0);
    expect(await resultRows(taskId)).toBe(0);
  });

  it('dead-letters a task from a service its contract does not name', async () => {
    const channel = await channelFor(amqpUrlAs(infra.amqpUrl, 'refund'));
    const id = randomUUID();
    channel.publish(
      TASK_EXCHANGE,
      'ledger',
      Buffer.from(JSON.stringify([[], { merchant_id: 'mch_refund_forged' }, EMBED])),
      {
        messageId: id,
        contentType: 'application/json',
        headers: { task: LEDGER_TASK.openMerchant, id },
      },
    );
    await expect(deadLetter(id)).resolves.toMatchObject({ reason: 'unauthorized-sender' });
    const { rows } = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ledger_accounts WHERE owner = 'mch_refund_forged'`,
    );
    expect(rows[0]?.n).toBe(0);
  });

  it('lets the broker refuse a forged user_id', async () => {
    const channel = await channelFor(urlAs(stranger, strangerPassword));
    const closed = new Promise<Error>((resolve) => channel.once('error', resolve));
    const t = transfer();
    sendTransfer(channel, t, 'clearline-gateway');
    expect((await closed).message).toMatch(/PRECONDITION_FAILED/);
    expect(await transferCount(t.id)).toBe(0);
  });

  it("keeps a service's user off another service's queues", async () => {
    const url = amqpUrlAs(infra.amqpUrl, 'refund');
    for (const attempt of [
      (channel: Channel) => channel.consume('ledger', () => undefined),
      (channel: Channel) => channel.deleteQueue('ledger'),
      (channel: Channel) => channel.purgeQueue('ledger'),
      (channel: Channel) => channel.deleteExchange(TASK_EXCHANGE),
    ]) {
      const channel = await channelFor(url);
      channel.on('error', () => undefined);
      await expect(attempt(channel)).rejects.toThrow(/ACCESS_REFUSED/);
    }
    const check = await channelFor(infra.amqpUrl);
    await expect(check.checkQueue('ledger')).resolves.toMatchObject({ queue: 'ledger' });
  });
});

describe("each service's database role", () => {
  let infra: IsolatedInfrastructure;

  beforeAll(async () => {
    infra = await isolatedInfrastructure();
  });

  afterAll(async () => {
    await infra.destroy();
  });

  const asRole = async <T>(service: string, work: (client: Client) => Promise<T>): Promise<T> => {
    const client = new Client({ connectionString: databaseUrlAs(infra.databaseUrl, service) });
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end();
    }
  };

  it('keeps the gateway, refund and settlement roles from writing the ledger', async () => {
    for (const service of ['gateway', 'refund', 'settlement']) {
      await expect(
        asRole(service, (c) =>
          c.query(
            `INSERT INTO ledger_transfers (id, debit_account_id, credit_account_id, amount, currency, code)
             VALUES ('forged', 'a', 'b', 1, 'USD', 1)`,
          ),
        ),
      ).rejects.toThrow(/permission denied for table ledger_transfers/);
    }
    await expect(
      asRole('gateway', (c) => c.query(`SELECT 1 FROM ledger_transfers`)),
    ).rejects.toThrow(/permission denied/);
  });

  it('keeps each role off the tables of services it does not read', async () => {
    await expect(asRole('refund', (c) => c.query(`SELECT 1 FROM payments`))).rejects.toThrow(
      /permission denied for table payments/,
    );
    await expect(asRole('ledger', (c) => c.query(`SELECT 1 FROM merchants`))).rejects.toThrow(
      /permission denied for table merchants/,
    );
    await expect(
      asRole('settlement', (c) => c.query(`UPDATE merchants SET name = 'x'`)),
    ).rejects.toThrow(/permission denied for table merchants/);
    await expect(asRole('gateway', (c) => c.query(`DELETE FROM settlements`))).rejects.toThrow(
      /permission denied for table settlements/,
    );
  });

  it('lets the ledger role only insert and read transfers, and no role change the schema', async () => {
    await expect(
      asRole('ledger', (c) => c.query(`SELECT count(*) FROM ledger_transfers`)),
    ).resolves.toBeDefined();
    await expect(
      asRole('ledger', (c) => c.query(`UPDATE ledger_transfers SET amount = amount`)),
    ).rejects.toThrow(/permission denied/);
    await expect(asRole('ledger', (c) => c.query(`DROP TABLE ledger_transfers`))).rejects.toThrow(
      /must be owner|permission denied/,
    );
    await expect(
      asRole('gateway', (c) => c.query(`CREATE TABLE intruder (id int)`)),
    ).rejects.toThrow(/permission denied for schema public/);
  });
});
