/** Draws of a seeded generator: the same seed gives the same run of numbers, anywhere. */
export interface Random {
  /** 0 <= x < 1. */
  next(): number;
  /** A whole number in [min, max]. */
  int(min: number, max: number): number;
  /** True with probability `p`. */
  chance(p: number): boolean;
  pick<T>(items: readonly T[]): T;
  /** A new generator whose draws depend on this one's seed and `label` only. */
  fork(label: string): Random;
}

/** The largest seed: seeds are unsigned 32-bit integers. */
export const SEED_MAX = 0xffff_ffff;

/** FNV-1a of `text` mixed into `seed`: a stable seed per label. */
function mix(seed: number, text: string): number {
  let hash = (0x811c_9dc5 ^ seed) >>> 0;
  for (let i = 0; i < text.length; i += 1) {
    hash = Math.imul(hash ^ text.charCodeAt(i), 0x0100_0193) >>> 0;
  }
  return hash;
}

/**
 * mulberry32: small, fast and good enough for choosing faults and loads (not for
 * secrets). Chaos never draws from `Math.random`, so a printed seed replays a schedule.
 */
export function seededRandom(seed: number): Random {
  if (!Number.isInteger(seed) || seed < 0 || seed > SEED_MAX) {
    throw new RangeError(`seed must be a whole number 0..${SEED_MAX}`);
  }
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b_79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  const random: Random = {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    chance: (p) => next() < p,
    pick: (items) => {
      const item = items[Math.floor(next() * items.length)];
      if (item === undefined) throw new RangeError('pick from an empty list');
      return item;
    },
    fork: (label) => seededRandom(mix(seed, label)),
  };
  return random;
}
