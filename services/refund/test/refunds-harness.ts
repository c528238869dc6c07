/**
 * Payments and refunds end to end, for the refund e2e tests: the gateway and the ledger
 * as their own processes (libs/testing's platform, started together), and the refund
 * service — the service under test — in this process (RefundsModule) or, for the crash
 * test, as its own process too. All on the test file's own vhost, database and Redis
 * prefix; the test calls the gateway's REST API and reads the shared database.
 */
import {
  isolatedInfrastructure,
  paymentsApi,
  SERVICE_START_TIMEOUT_MS,
  startPlatform,
  startTaskApp,
  type ApiClient,
  type IsolatedInfrastructure,
  type PaymentsApi,
  type Platform,
  type TaskApp,
  type TestDatabase,
} from '@clearline/testing';
import { RefundsModule } from '../src/refunds/refunds.module';

// Every test file that uses this harness starts service processes in its hooks (and the
// crash test restarts one): they get the time a loaded machine needs.
jest.setTimeout(SERVICE_START_TIMEOUT_MS);

export interface RefundsHarness extends PaymentsApi {
  infra: IsolatedInfrastructure;
  platform: Platform;
  gw: ApiClient;
  db: TestDatabase;
  /** The refund service in this process, unless it runs as a process (`inProcess: false`). */
  refundService: TaskApp | null;
  close(): Promise<void>;
}

export async function startRefunds(
  options: { inProcess?: boolean; env?: Record<string, string> } = {},
): Promise<RefundsHarness> {
  const inProcess = options.inProcess ?? true;
  const infra = await isolatedInfrastructure();
  const [platform, refundService] = await Promise.allSettled([
    startPlatform({
      infra,
      services: inProcess ? ['gateway', 'ledger'] : ['gateway', 'ledger', 'refund'],
      env: { gateway: options.env ?? {} },
    }),
    inProcess
      ? startTaskApp({
          infra,
          service: 'refund',
          imports: [RefundsModule],
          env: { PAYMENT_PROCESSOR: 'sandbox' },
        })
      : Promise.resolve(null),
  ]);
  if (platform.status === 'rejected' || refundService.status === 'rejected') {
    if (platform.status === 'fulfilled') await platform.value.close();
    if (refundService.status === 'fulfilled') await refundService.value?.close();
    await infra.destroy();
    throw platform.status === 'rejected'
      ? platform.reason
      : (refundService as PromiseRejectedResult).reason;
  }
  const gw = platform.value.gw;
  return {
    ...paymentsApi(gw),
    infra,
    platform: platform.value,
    gw,
    db: platform.value.db,
    refundService: refundService.value,
    close: async () => {
      await Promise.all([platform.value.close(), refundService.value?.close()]);
      await infra.destroy();
    },
  };
}
