/**
 * `npm run chaos`: the platform under a steady payment and refund load, with faults
 * from a seeded schedule, then the checks (scripts/chaos/checks.ts). The seed is printed
 * first so a failing run replays; the last line is one JSON summary. Exit 1 when a
 * check found a violation.
 *
 *   --seed N       the schedule's and the load's seed (random unless given)
 *   --duration S   seconds of load (60)
 *   --faults N     faults in the schedule (each kind once before any twice; 7)
 *   --rate R       payment flows started per second (4)
 *   --only K,K     fault kinds to draw from: kill,broker,postgres,delay,drop,processor,webhook
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { deleteRedisKeys, type IsolatedInfrastructure } from '@clearline/testing';
import { benchInfra } from '../bench/lib/bench-infra';
import { SEED_MAX } from './prng';
import { restoreInfrastructure } from './infra-faults';
import { runChaos } from './run-chaos';
import { FAULT_KINDS, type FaultKind } from './schedule';

const LIMITS = { durationS: 3_600, faults: 500, rate: 50 };

function wholeNumber(
  name: string,
  text: string | undefined,
  fallback: number,
  max: number,
): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new Error(`--${name} must be a whole number 0..${max}, not ${text}`);
  }
  return value;
}

function kinds(text: string | undefined): FaultKind[] | undefined {
  if (text === undefined) return undefined;
  const named = text.split(',').map((kind) => kind.trim());
  for (const kind of named) {
    if (!(FAULT_KINDS as readonly string[]).includes(kind)) {
      throw new Error(`--only: ${kind} is not one of ${FAULT_KINDS.join(', ')}`);
    }
  }
  return named as FaultKind[];
}

/** A vhost, a migrated database and a Redis prefix of the run's own (as a benchmark's). */
async function chaosInfrastructure(): Promise<IsolatedInfrastructure> {
  const infra = await benchInfra('chaos');
  const name = new URL(infra.databaseUrl).pathname.slice(1);
  const redisKeyPrefix = `${name}:`;
  return {
    name,
    amqpUrl: infra.amqpUrl,
    databaseUrl: infra.databaseUrl,
    redisUrl: process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379',
    redisKeyPrefix,
    env: { ...infra.env, NODE_ENV: 'test', REDIS_KEY_PREFIX: redisKeyPrefix },
    destroy: async () => {
      await infra.destroy();
      await deleteRedisKeys(redisKeyPrefix);
    },
  };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      seed: { type: 'string' },
      duration: { type: 'string' },
      faults: { type: 'string' },
      rate: { type: 'string' },
      only: { type: 'string' },
    },
  });
  const seed = wholeNumber('seed', values.seed, randomBytes(4).readUInt32BE(0), SEED_MAX);
  console.log(`chaos seed ${seed} (replay: npm run chaos -- --seed ${seed})`);
  const durationS = wholeNumber('duration', values.duration, 60, LIMITS.durationS);
  const faults = wholeNumber('faults', values.faults, FAULT_KINDS.length, LIMITS.faults);
  const rate = wholeNumber('rate', values.rate, 4, LIMITS.rate);
  const only = kinds(values.only);
  const infra = await chaosInfrastructure();
  try {
    const summary = await runChaos({
      seed,
      durationS,
      faults,
      rate: Math.max(1, rate),
      ...(only ? { only } : {}),
      infra,
      log: (line) => console.log(line),
    });
    // The last line is the contract's, exactly these keys: the time goes on the line before.
    const { seed: runSeed, faults: ran, payments, refunds, violations, seconds } = summary;
    console.log(`chaos: ${seconds} s`);
    console.log(
      JSON.stringify({ chaos: 'done', seed: runSeed, faults: ran, payments, refunds, violations }),
    );
    return summary.violations === 0 ? 0 : 1;
  } finally {
    await infra.destroy();
  }
}

// Interrupted mid-outage: the broker and the database are started again before leaving.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void restoreInfrastructure()
      .catch(() => [])
      .finally(() => process.exit(130));
  });
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
