/**
 * `npm run chaos` keeps its promises under every kind of fault: a short run of a fixed
 * seed, whose schedule holds each kind once (a SIGKILL and restart, the broker's
 * stop_app/start_app, a PostgreSQL stop/start, a service's broker link delayed and one
 * dropping or cut, a slow or flapping processor, a hanging webhook endpoint), ends with
 * every payment and refund terminal and applied once, the ledger balanced, every task
 * settled and every request replayed as first answered: no violation.
 *
 * How: `runChaos` on this file's own vhost, database and Redis prefix (the services as
 * their own processes, each through its own proxy to the broker). `npm test` runs this
 * file alone (`EXCLUSIVE` in jest.config.js), so the broker and database outages hit no
 * other test.
 */
import { isolatedInfrastructure, type IsolatedInfrastructure } from '@clearline/testing';
import { runChaos } from './run-chaos';
import { FAULT_KINDS } from './schedule';

/** Start-up, 15 s of load (longer while faults last), faults, the wait for quiet and the replays, on a loaded machine. */
const RUN_TIMEOUT_MS = 600_000;

describe('npm run chaos, a short schedule', () => {
  let infra: IsolatedInfrastructure;

  beforeAll(async () => {
    infra = await isolatedInfrastructure();
  });

  afterAll(async () => {
    await infra.destroy();
  });

  it(
    'survives one fault of each kind with no violation',
    async () => {
      const lines: string[] = [];
      const summary = await runChaos({
        seed: 20_261_203,
        durationS: 15,
        faults: FAULT_KINDS.length,
        rate: 3,
        infra,
        log: (line) => lines.push(line),
      });
      const ran = lines.filter((line) => line.startsWith('fault '));
      // Each kind ran once.
      expect(ran).toHaveLength(FAULT_KINDS.length);
      expect(summary).toMatchObject({ chaos: 'done', faults: FAULT_KINDS.length, found: [] });
      expect(summary.payments).toBeGreaterThan(20);
      expect(summary.refunds).toBeGreaterThan(0);
      console.log(lines.join('\n'));
    },
    RUN_TIMEOUT_MS,
  );
});
