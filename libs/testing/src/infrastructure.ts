import { Client } from 'pg';

/** Where the test run's servers are; the same defaults as `infra/local/up.sh` creates. */
export const TEST_INFRA = {
  databaseAdminUrl:
    process.env['TEST_DATABASE_ADMIN_URL'] ??
    'postgres://clearline:clearline@127.0.0.1:5432/postgres',
  amqpBaseUrl: process.env['TEST_AMQP_BASE_URL'] ?? 'amqp://clearline:clearline@127.0.0.1:5672',
  managementUrl:
    process.env['RABBITMQ_MANAGEMENT_URL'] ?? 'http://clearline:clearline@127.0.0.1:15672',
  redisUrl: process.env['TEST_REDIS_URL'] ?? process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379',
};

export const RUN_ID_ENV = 'CLEARLINE_TEST_RUN';

export function runId(): string {
  const id = process.env[RUN_ID_ENV];
  if (!id) throw new Error(`${RUN_ID_ENV} is not set: run the tests through jest (globalSetup)`);
  return id;
}

export function templateDatabase(run: string): string {
  return `${run}_template`;
}

export function databaseUrl(database: string): string {
  const url = new URL(TEST_INFRA.databaseAdminUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

export function amqpUrl(vhost: string): string {
  return `${TEST_INFRA.amqpBaseUrl}/${encodeURIComponent(vhost)}`;
}

export async function withAdminDatabase<T>(work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({
    connectionString: TEST_INFRA.databaseAdminUrl,
    application_name: 'clearline-test-admin',
  });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Drops a database, first closing the connections a crashed test may have left. */
export async function dropDatabase(client: Client, database: string): Promise<void> {
  await client.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
}

export async function management(
  method: 'GET' | 'PUT' | 'DELETE',
  path: string,
  body?: unknown,
): Promise<Response> {
  const base = new URL(TEST_INFRA.managementUrl);
  const auth = Buffer.from(
    `${decodeURIComponent(base.username)}:${decodeURIComponent(base.password)}`,
  ).toString('base64');
  base.username = '';
  base.password = '';
  const response = await fetch(new URL(`/api${path}`, base), {
    method,
    headers: { authorization: `Basic ${auth}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!response.ok && !(method === 'DELETE' && response.status === 404)) {
    throw new Error(
      `management API ${method} ${path}: ${response.status} ${await response.text()}`,
    );
  }
  return response;
}

/** GET on the management HTTP API, as JSON (what an operator's UI shows). */
export async function managementGet<T>(path: string): Promise<T> {
  return (await (await management('GET', path)).json()) as T;
}

export async function createVhost(vhost: string): Promise<void> {
  const user = decodeURIComponent(new URL(TEST_INFRA.managementUrl).username);
  await management('PUT', `/vhosts/${encodeURIComponent(vhost)}`, {
    description: 'Clearline test run',
  });
  await management('PUT', `/permissions/${encodeURIComponent(vhost)}/${encodeURIComponent(user)}`, {
    configure: '.*',
    write: '.*',
    read: '.*',
  });
}

export async function deleteVhost(vhost: string): Promise<void> {
  await management('DELETE', `/vhosts/${encodeURIComponent(vhost)}`);
}
