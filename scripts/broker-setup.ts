/**
 * `npm run broker:setup`: prepares a vhost for Clearline's services, as the operator:
 *
 * - each service's own broker user, `clearline-<service>` (libs/contracts services.ts),
 *   with the password in `AMQP_PASSWORD_<SERVICE>` (e.g. AMQP_PASSWORD_LEDGER), or
 *   `CLEARLINE_SERVICE_AMQP_PASSWORD` for all of them (npm start's development default);
 * - their permissions on the vhost (libs/tasks broker-permissions.ts): each configures
 *   only its own queues;
 * - the whole task topology (exchanges, delay levels, every work queue and binding),
 *   which the services, limited to their own queues, do not declare themselves.
 *
 * Connection: AMQP_URL (the operator's user and the vhost) and RABBITMQ_MANAGEMENT_URL
 * (the management API, with the operator's credentials). Idempotent: run it before every
 * start, as migrations are.
 */
import { SERVICES, serviceUser, type ServiceName } from '@clearline/contracts';
import { prepareServiceBroker } from '@clearline/tasks';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

function passwordOf(service: ServiceName): string {
  const own = process.env[`AMQP_PASSWORD_${service.toUpperCase()}`];
  const shared = process.env['CLEARLINE_SERVICE_AMQP_PASSWORD'];
  const password = own ?? shared;
  if (!password) {
    throw new Error(
      `AMQP_PASSWORD_${service.toUpperCase()} (or CLEARLINE_SERVICE_AMQP_PASSWORD) is not set`,
    );
  }
  return password;
}

async function management(base: URL, method: 'PUT', path: string, body: unknown): Promise<void> {
  const auth = Buffer.from(
    `${decodeURIComponent(base.username)}:${decodeURIComponent(base.password)}`,
  ).toString('base64');
  const url = new URL(`/api${path}`, `${base.protocol}//${base.host}`);
  const response = await fetch(url, {
    method,
    headers: { authorization: `Basic ${auth}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  if (!response.ok) {
    throw new Error(
      `management API ${method} ${path}: ${response.status} ${await response.text()}`,
    );
  }
}

export async function setUpBroker(): Promise<void> {
  const amqpUrl = required('AMQP_URL');
  const api = new URL(required('RABBITMQ_MANAGEMENT_URL'));
  await prepareServiceBroker({
    amqpUrl,
    put: (path, body) => management(api, 'PUT', path, body),
    passwordOf,
  });
  const vhost = decodeURIComponent(new URL(amqpUrl).pathname.slice(1)) || '/';
  console.log(
    `broker users ${SERVICES.map(serviceUser).join(', ')} and the topology on vhost ${vhost}: ready`,
  );
}

if (require.main === module) {
  setUpBroker().catch((error: unknown) => {
    console.error(
      `broker set-up failed: ${error instanceof Error ? error.message : String(error)}`,
    );
    process.exit(1);
  });
}
