// Imported by jest's globalSetup, which resolves no @clearline/* alias: relative imports only.
import { SERVICES, serviceUser } from '../../contracts/src/services';
import { management } from './infrastructure';

/**
 * The services' own broker users in tests, as in production: each service connects as
 * `clearline-<service>` with the permissions of broker-permissions.ts, so a test runs the
 * same sender checks and the same limits a deployment has. Users are the broker's, not a
 * vhost's: they are made (or their password set again) once per run; each test file's
 * vhost gets their permissions and the whole topology, declared by the operator user.
 */
export const TEST_SERVICE_USER_PASSWORD = 'clearline-service-test';

export async function ensureServiceUsers(): Promise<void> {
  await Promise.all(
    SERVICES.map((service) =>
      management('PUT', `/users/${encodeURIComponent(serviceUser(service))}`, {
        password: TEST_SERVICE_USER_PASSWORD,
        tags: '',
      }),
    ),
  );
}

/**
 * The password of the services' PostgreSQL roles (clearline_<service>), which
 * infra/local/up.sh makes with this development default (CLEARLINE_SERVICE_DB_PASSWORD).
 */
export const TEST_SERVICE_DB_PASSWORD =
  process.env['CLEARLINE_SERVICE_DB_PASSWORD'] ?? 'clearline-dev';
