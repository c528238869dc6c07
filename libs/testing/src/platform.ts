import { apiClient, testAdminKey, type ApiClient } from './api-client';
import { connectDatabase, type TestDatabase } from './database';
import { isolatedInfrastructure, type IsolatedInfrastructure } from './isolated-infrastructure';
import { startServiceOnFreePort, type ServiceProcess } from './service-process';

export type ServiceName = 'gateway' | 'ledger' | 'refund' | 'settlement';

export interface PlatformOptions {
  /** The services to run, each as its own process (started together). */
  services: readonly ServiceName[];
  /** Variables per service, over the defaults below and the isolation's. */
  env?: Partial<Record<ServiceName, Record<string, string>>>;
  /** The vhost, database and Redis prefix to share; a new one (destroyed on close) if absent. */
  infra?: IsolatedInfrastructure;
}

export interface Platform {
  infra: IsolatedInfrastructure;
  /** The gateway's REST API as an operator (throws if the gateway is not running). */
  gw: ApiClient;
  /** The services' database. */
  db: TestDatabase;
  /** The running process of `service`. */
  process(service: ServiceName): ServiceProcess;
  /** Starts `service` again (after `kill()` or `stop()` of its process), on a new port. */
  restart(service: ServiceName): Promise<ServiceProcess>;
  /** Stops every service (SIGTERM), closes the database, destroys an isolation it made. */
  close(): Promise<void>;
}

/**
 * The settlement service's daily run placed 12 hours from now (UTC), so neither the
 * scheduled run nor the hour a late scheduler still catches it up (its grace) falls
 * inside a test or a benchmark: a run started by the clock would settle what the test
 * counts (seen at 00:00 UTC, the default hour). A test of the schedule sets its own.
 */
export function dailySettlementAwayFromNow(now = new Date()): Record<string, string> {
  return {
    SETTLEMENT_HOUR: String((now.getUTCHours() + 12) % 24),
    SETTLEMENT_TIMEZONE: 'UTC',
  };
}

/**
 * Clearline's services for one test file, as production runs them: each its own process
 * (`services/<name>/src/main.ts`), on the file's own vhost, database and Redis prefix.
 * A test of one service starts the others it talks to here, rather than importing
 * their modules. Defaults: the gateway with a fresh admin key, no practical rate limit
 * and the longest payment wait (a loaded machine must not turn a 200 into a 202);
 * the refund service with the sandbox processor; the settlement service's daily run far
 * from now (`dailySettlementAwayFromNow`).
 */
export async function startPlatform(options: PlatformOptions): Promise<Platform> {
  const infra = options.infra ?? (await isolatedInfrastructure());
  const adminKey = testAdminKey();
  const defaults: Record<ServiceName, Record<string, string>> = {
    gateway: { ADMIN_API_KEY: adminKey, RATE_LIMIT_PER_S: '1000000', PAYMENT_WAIT_MS: '30000' },
    ledger: {},
    refund: { PAYMENT_PROCESSOR: 'sandbox' },
    settlement: dailySettlementAwayFromNow(),
  };
  const envOf = (service: ServiceName): Record<string, string> => ({
    ...infra.env,
    ...defaults[service],
    ...options.env?.[service],
  });
  const running = new Map<ServiceName, ServiceProcess>();
  const db = connectDatabase(infra.databaseUrl);
  const close = async (): Promise<void> => {
    await Promise.all([...running.values()].map((service) => service.stop()));
    running.clear();
    await db.close();
    if (!options.infra) await infra.destroy();
  };
  const started = await Promise.allSettled(
    options.services.map(async (service) => {
      running.set(service, await startServiceOnFreePort(service, envOf(service)));
    }),
  );
  const failed = started.find((outcome) => outcome.status === 'rejected');
  if (failed) {
    await close();
    throw failed.reason;
  }
  const processOf = (service: ServiceName): ServiceProcess => {
    const found = running.get(service);
    if (!found) throw new Error(`${service} is not running in this platform`);
    return found;
  };
  return {
    infra,
    get gw(): ApiClient {
      return apiClient(`http://127.0.0.1:${processOf('gateway').port}`, adminKey);
    },
    db,
    process: processOf,
    restart: async (service) => {
      await running.get(service)?.stop();
      const again = await startServiceOnFreePort(service, envOf(service));
      running.set(service, again);
      return again;
    },
    close,
  };
}
