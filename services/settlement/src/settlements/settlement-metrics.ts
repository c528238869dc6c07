import { Counter } from 'prom-client';
import type { RunRow } from './settlement.rows';

/**
 * What happened to a settlement run: `started` (a new cut-off), `restarted` (the failed
 * merchants of a partially failed run settled again), and how each attempt ended,
 * `completed` or `partially_failed`.
 */
export type SettlementRunOutcome = 'started' | 'restarted' | Exclude<RunRow['status'], 'running'>;
const RUN_OUTCOMES: readonly SettlementRunOutcome[] = [
  'started',
  'restarted',
  'completed',
  'partially_failed',
];

/** Settlement's metrics; labels are outcomes only (never a run, merchant or currency). */
export const settlementMetrics = {
  runs: new Counter({
    name: 'clearline_settlement_runs_total',
    help: 'Settlement runs by outcome: started, restarted (failed merchants again), completed, partially_failed',
    labelNames: ['outcome'],
  }),
};

// Every outcome exists from the start, so `increase()` sees the first partial failure.
for (const outcome of RUN_OUTCOMES) settlementMetrics.runs.inc({ outcome }, 0);
