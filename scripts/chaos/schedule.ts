import type { ServiceName } from '@clearline/testing';
import type { Random } from './prng';

/** What chaos can do to the platform. */
export const FAULT_KINDS = [
  /** SIGKILL of one service's process, then a restart. */
  'kill',
  /** `rabbitmqctl stop_app`, a few seconds, `start_app`: every service loses the broker. */
  'broker',
  /** PostgreSQL stopped (fast) for a few seconds and started again. */
  'postgres',
  /** Latency between one service and the broker (its proxy). */
  'delay',
  /** One service's broker link drops connections at random, or is cut. */
  'drop',
  /** Payments made meanwhile meet a slow or flapping processor (sandbox tokens). */
  'processor',
  /** The webhook endpoint of one merchant accepts and never answers. */
  'webhook',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export const SERVICES: readonly ServiceName[] = ['gateway', 'ledger', 'refund', 'settlement'];

/** One planned fault. */
export interface Fault {
  /** When it starts, from the start of the load (the runner may start it later). */
  atMs: number;
  kind: FaultKind;
  /** How long it lasts (the outage, the degraded link, the window, the time dead). */
  forMs: number;
  /** The service it hits (kill, delay, drop). */
  service?: ServiceName;
  latencyMs?: number;
  /** 1 is a cut link. */
  dropProbability?: number;
}

export interface ScheduleOptions {
  durationMs: number;
  faults: number;
  /** The kinds to draw from (all unless told). */
  only?: readonly FaultKind[];
}

/** Faults begin after this share of the load and end before its last this share. */
const QUIET_SHARE = 0.1;
/** Outages of the shared broker and database stay short: other runs on the machine feel them. */
const SHARED_OUTAGE_MS = { min: 1_500, max: 4_000 };
const WINDOW_MS = { min: 2_000, max: 8_000 };

function fault(kind: FaultKind, atMs: number, random: Random, slotMs: number): Fault {
  // A window never outlasts its slot much: a short run keeps its faults short.
  const window = (): number =>
    random.int(WINDOW_MS.min, Math.max(WINDOW_MS.min, Math.min(WINDOW_MS.max, slotMs)));
  switch (kind) {
    case 'kill':
      return { atMs, kind, forMs: random.int(200, 2_000), service: random.pick(SERVICES) };
    case 'broker':
    case 'postgres':
      return { atMs, kind, forMs: random.int(SHARED_OUTAGE_MS.min, SHARED_OUTAGE_MS.max) };
    case 'delay':
      return {
        atMs,
        kind,
        forMs: window(),
        service: random.pick(SERVICES),
        latencyMs: random.int(50, 800),
      };
    case 'drop':
      return {
        atMs,
        kind,
        forMs: window(),
        service: random.pick(SERVICES),
        dropProbability: random.chance(0.25) ? 1 : random.int(2, 30) / 100,
      };
    case 'processor':
    case 'webhook':
      return { atMs, kind, forMs: window() };
  }
}

/**
 * The faults of a run, from its generator alone: when there are at least as many faults
 * as kinds, each kind comes once (in a drawn order) before any comes twice. Start times
 * are spread over the middle of the load, in order.
 */
export function buildSchedule(random: Random, options: ScheduleOptions): Fault[] {
  const kinds = options.only && options.only.length > 0 ? options.only : FAULT_KINDS;
  const order = [...kinds];
  for (let i = order.length - 1; i > 0; i -= 1) {
    const j = random.int(0, i);
    [order[i], order[j]] = [order[j] as FaultKind, order[i] as FaultKind];
  }
  const chosen = Array.from({ length: options.faults }, (_v, i) =>
    i < order.length ? (order[i] as FaultKind) : random.pick(kinds),
  );
  const first = options.durationMs * QUIET_SHARE;
  const span = options.durationMs * (1 - 2 * QUIET_SHARE);
  const slot = options.faults === 0 ? 0 : span / options.faults;
  return chosen.map((kind, i) =>
    fault(kind, Math.round(first + slot * i + random.next() * slot * 0.5), random, slot),
  );
}

/** One line per fault, as the run prints its schedule. */
export function describeFault(f: Fault): string {
  const at = `t+${(f.atMs / 1_000).toFixed(1)}s`;
  const lasting = `${(f.forMs / 1_000).toFixed(1)}s`;
  switch (f.kind) {
    case 'kill':
      return `${at} kill -9 ${f.service}, restart after ${lasting}`;
    case 'broker':
      return `${at} rabbitmqctl stop_app for ${lasting}`;
    case 'postgres':
      return `${at} PostgreSQL stopped for ${lasting}`;
    case 'delay':
      return `${at} ${f.service}<->broker +${f.latencyMs}ms for ${lasting}`;
    case 'drop':
      return f.dropProbability === 1
        ? `${at} ${f.service}<->broker cut for ${lasting}`
        : `${at} ${f.service}<->broker drops ${Math.round((f.dropProbability ?? 0) * 100)}% for ${lasting}`;
    case 'processor':
      return `${at} slow/flapping processor for ${lasting}`;
    case 'webhook':
      return `${at} webhook endpoint hangs for ${lasting}`;
  }
}
