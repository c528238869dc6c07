import type { IsolatedInfrastructure } from './isolated-infrastructure';
import { startTaskApp } from './task-app';

/**
 * Sends one task as `service` would (its own broker user, so the receiver's sender check
 * sees that service) and waits for its result: for a test that plays a service it does
 * not run, such as the gateway opening a merchant's ledger accounts.
 */
export async function sendAs<T>(
  infra: IsolatedInfrastructure,
  service: 'gateway' | 'ledger' | 'refund' | 'settlement',
  task: string,
  payload: Record<string, unknown>,
): Promise<T> {
  // No lanes: a stand-in sends, it never consumes the service's queues.
  const standIn = await startTaskApp({ infra, service, env: { TASK_LANES: 'none' } });
  try {
    return await (await standIn.client.send<T>(task, payload)).result();
  } finally {
    await standIn.close();
  }
}
