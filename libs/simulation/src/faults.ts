import type { SimRandom } from './random';

/** Every fault the simulator injects, by name (counted per seed). */
export const FAULT_KINDS = [
  /** A worker dies in the middle of a transaction (any statement up to the commit). */
  'crash-before-commit',
  /** A worker dies with a batch of several tasks (or its one-by-one fallback) under way. */
  'crash-mid-batch',
  /** A worker dies after its commit, before its acks. */
  'crash-after-commit',
  /** A worker's connection drops: its unacknowledged deliveries are requeued, redelivered. */
  'connection-lost',
  /** A statement fails with a transient error (serialization failure, lost connection). */
  'transient-error',
  /** A producer's publish confirm is lost: it publishes the same message again. */
  'lost-confirm',
  /** A producer's own task is redelivered: it sends the same ledger task again. */
  'producer-repeat',
  /** A producer sends a task no worker can run (malformed body or invalid payload). */
  'poison',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** Per-seed probabilities: some seeds are calm, some stormy, most in between. */
export type FaultRates = Record<FaultKind, number>;

/** Crashes per seed at most, so that every seed still makes progress. */
const CRASHES_MAX = 6;

/** The seed's fault plan: draws from its own stream and counts what it injected. */
export class Faults {
  readonly rates: FaultRates;
  readonly counts = Object.fromEntries(FAULT_KINDS.map((kind) => [kind, 0])) as Record<
    FaultKind,
    number
  >;
  private crashes = 0;

  constructor(private readonly random: SimRandom) {
    const calm = random.chance(0.1);
    const rate = (max: number): number => (calm ? 0 : random.float() * max);
    this.rates = {
      'crash-before-commit': rate(0.03),
      'crash-mid-batch': rate(0.05),
      'crash-after-commit': rate(0.15),
      'connection-lost': rate(0.05),
      'transient-error': rate(0.04),
      'lost-confirm': rate(0.15),
      'producer-repeat': rate(0.15),
      poison: rate(0.3),
    };
  }

  /** Whether to inject `kind` now; counted when it is. */
  hit(kind: FaultKind): boolean {
    const crash = kind.startsWith('crash');
    if (crash && this.crashes >= CRASHES_MAX) return false;
    if (!this.random.chance(this.rates[kind])) return false;
    if (crash) this.crashes += 1;
    this.counts[kind] += 1;
    return true;
  }
}
