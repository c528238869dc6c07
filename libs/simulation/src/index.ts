/**
 * `@clearline/simulation`: deterministic simulation of the task layer and the ledger.
 * The real `LedgerService`, ledger-core rules, wire mapping, payload validation, Celery
 * encoding and retry policy run against a simulated broker, database and clock; a seed
 * decides the workload, every fault and every interleaving, so a failing seed replays
 * exactly. See README "Deterministic simulation".
 */
export {
  simulateSeed,
  simulateSeeds,
  type InjectedBugs,
  type RunSummary,
  type SeedReport,
  type SimulationOptions,
} from './simulation';
export { FAULT_KINDS, type FaultKind } from './faults';
