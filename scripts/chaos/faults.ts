import { sleep, type Platform, type ServiceName, type TcpProxy } from '@clearline/testing';
import { brokerOutage, postgresOutage } from './infra-faults';
import type { Random } from './prng';
import { describeFault, SERVICES, type Fault } from './schedule';
import type { WebhookEndpoints } from './webhook-endpoints';

/** How often the crash watch looks for a service's new process. */
const CRASH_POLL_MS = 200;

/** What faults act on. */
export interface FaultTargets {
  platform: Platform;
  /** Each service's own proxy to the broker. */
  proxies: Record<ServiceName, TcpProxy>;
  webhooks: WebhookEndpoints;
  /** Read by the load: payments made while set meet a slow or flapping processor. */
  processor: { flapping: boolean };
  random: Random;
  log: (line: string) => void;
}

function alive(platform: Platform, service: ServiceName): boolean {
  const { child } = platform.process(service);
  return child.exitCode === null && child.signalCode === null;
}

async function apply(fault: Fault, targets: FaultTargets): Promise<void> {
  const service = fault.service ?? 'gateway';
  switch (fault.kind) {
    case 'kill':
      await targets.platform.process(service).kill();
      await sleep(fault.forMs);
      await targets.platform.restart(service);
      return;
    case 'broker':
      return brokerOutage(fault.forMs);
    case 'postgres':
      return postgresOutage(fault.forMs);
    case 'delay':
    case 'drop': {
      const proxy = targets.proxies[service];
      const drops = targets.random.fork(`drop:${fault.atMs}`);
      try {
        if (fault.dropProbability === 1) proxy.cut();
        else
          proxy.degrade({
            latencyMs: fault.latencyMs ?? 0,
            dropProbability: fault.dropProbability ?? 0,
            random: () => drops.next(),
          });
        await sleep(fault.forMs);
      } finally {
        proxy.heal();
      }
      return;
    }
    case 'processor':
      targets.processor.flapping = true;
      await sleep(fault.forMs).finally(() => (targets.processor.flapping = false));
      return;
    case 'webhook':
      targets.webhooks.setHanging(true);
      await sleep(fault.forMs).finally(() => targets.webhooks.setHanging(false));
      return;
  }
}

/**
 * Runs the schedule in order, each fault at its time (or when the one before has ended),
 * and returns how many ran. Whatever happens, every link is healed and every service
 * runs again afterwards.
 */
export async function runFaults(
  schedule: readonly Fault[],
  targets: FaultTargets,
  startedAt: number,
): Promise<number> {
  let ran = 0;
  try {
    for (const fault of schedule) {
      await sleep(Math.max(0, startedAt + fault.atMs - Date.now()));
      const began = Date.now();
      targets.log(
        `fault ${describeFault(fault)} (began t+${((began - startedAt) / 1_000).toFixed(1)}s)`,
      );
      await apply(fault, targets);
      ran += 1;
    }
  } finally {
    await restorePlatform(targets);
  }
  return ran;
}

/** Heals every link and restarts any service that is not running. */
export async function restorePlatform(targets: FaultTargets): Promise<void> {
  for (const proxy of Object.values(targets.proxies)) proxy.heal();
  targets.webhooks.setHanging(false);
  targets.processor.flapping = false;
  for (const service of SERVICES) {
    if (!alive(targets.platform, service)) await targets.platform.restart(service);
  }
}

/** Services that exit on their own while watched: a SIGKILL or SIGTERM of ours is not one. */
export class CrashWatch {
  readonly crashes: string[] = [];
  private readonly seen = new WeakSet<object>();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly platform: Platform) {
    this.timer = setInterval(() => this.look(), CRASH_POLL_MS);
    this.look();
  }

  private look(): void {
    for (const service of SERVICES) {
      const { child } = this.platform.process(service);
      if (this.seen.has(child)) continue;
      this.seen.add(child);
      child.once('exit', (code, signal) => {
        if (signal === null && code !== 0) {
          this.crashes.push(`${service} exited on its own (code ${String(code)})`);
        }
      });
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
