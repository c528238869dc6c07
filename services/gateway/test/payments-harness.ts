/**
 * The gateway with the real ledger beside it, for the payment e2e tests: the production
 * gateway app in this process (startGateway) and the ledger service as its own process
 * (libs/testing's service process: `services/ledger/src/main.ts`, as production runs
 * it), both on the test file's own vhost, database and Redis prefix, started together.
 * Payments go through HTTP; money goes through the broker to the ledger and back.
 */
import {
  isolatedInfrastructure,
  paymentsApi,
  SERVICE_START_TIMEOUT_MS,
  startServiceOnFreePort,
  type PaymentsApi,
  type ServiceProcess,
} from '@clearline/testing';
import { startGateway, type GatewayHarness } from './gateway-harness';

export { card, type LedgerCheck, type Payment } from '@clearline/testing';

// Every test file that uses this harness starts service processes in its hooks (and the
// crash test restarts one): they get the time a loaded machine needs.
jest.setTimeout(SERVICE_START_TIMEOUT_MS);

export interface PaymentsHarness extends PaymentsApi {
  gw: GatewayHarness;
  ledger: ServiceProcess;
  close(): Promise<void>;
}

export async function startPayments(env: Record<string, string> = {}): Promise<PaymentsHarness> {
  const infra = await isolatedInfrastructure();
  const [gw, ledger] = await Promise.allSettled([
    // The longest real-time wait: a loaded machine must not turn a 200 into a 202.
    startGateway({ RATE_LIMIT_PER_S: '1000000', PAYMENT_WAIT_MS: '30000', ...env }, { infra }),
    startServiceOnFreePort('ledger', infra.env),
  ]);
  if (gw.status === 'rejected' || ledger.status === 'rejected') {
    if (gw.status === 'fulfilled') await gw.value.close();
    if (ledger.status === 'fulfilled') await ledger.value.stop();
    await infra.destroy();
    throw gw.status === 'rejected' ? gw.reason : (ledger as PromiseRejectedResult).reason;
  }
  return {
    ...paymentsApi(gw.value),
    gw: gw.value,
    ledger: ledger.value,
    close: async () => {
      await Promise.all([ledger.value.stop(), gw.value.close()]);
      await infra.destroy();
    },
  };
}
