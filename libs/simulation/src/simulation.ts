import 'reflect-metadata';
import { LEDGER_TASK, QUEUE, WORK_QUEUES, type CreateTransfersPayload } from '@clearline/contracts';
import type { TaskHandlerOptions } from '@clearline/tasks';
import { PATTERN_EXTRAS_METADATA } from '@nestjs/microservices/constants';
import { QueryFailedError } from 'typeorm';
import {
  merchantAccounts,
  platformAccounts,
} from '../../../services/ledger/src/ledger/ledger-accounts';
import { LedgerConsumer } from '../../../services/ledger/src/ledger/ledger.consumer';
import {
  createTransfersResults,
  transferFromWire,
} from '../../../services/ledger/src/ledger/ledger.mapper';
import type { LedgerRepository } from '../../../services/ledger/src/ledger/ledger.repository';
import { LedgerService } from '../../../services/ledger/src/ledger/ledger.service';
import { SimBroker } from './broker';
import { ackViolation, checkWorld } from './checks';
import { MemoryDatabase, type Session, type Tx } from './database';
import { FAULT_KINDS, Faults, type FaultKind } from './faults';
import { asManager, MemoryLedgerRepository } from './ledger-repository';
import { SimRandom } from './random';
import { Scheduler, type Process } from './scheduler';
import { SimTaskClient } from './task-client';
import { Trace } from './trace';
import { SimWorker, type SimBatchTask } from './worker';
import { simMerchants, SIM_CURRENCIES, Workload } from './workload';

/** Bugs the simulator can inject into its own model of the task layer, to prove it finds them. */
export interface InjectedBugs {
  /** Workers acknowledge a batch before its transaction commits. */
  ackBeforeCommit?: boolean;
  /** The inbox claims every task id, applied before or not. */
  inboxIgnoresDuplicates?: boolean;
}

export interface SimulationOptions {
  bugs?: InjectedBugs;
  /** Events one seed may take before it is declared stuck. */
  eventCountMax?: number;
}

/** What one seed did and whether every invariant held. */
export interface SeedReport {
  seed: number;
  violations: string[];
  /** sha256 of the trace: the same seed gives the same hash, run after run. */
  traceHash: string;
  trace: readonly string[];
  faults: Record<FaultKind, number>;
  stats: {
    events: number;
    simulatedMs: number;
    tasks: number;
    transfers: number;
    deadLetters: number;
    workers: number;
  };
}

const EVENT_COUNT_MAX_DEFAULT = 200_000;
/** Simulated time 0: a fixed instant, so ids, etas and timestamps never read the wall clock. */
const EPOCH_MS = Date.UTC(2030, 0, 1);

/** The ledger's batch task as its consumer declares it (payload DTO, batch bounds, retry policy). */
function ledgerTask(ledger: LedgerService, scheduler: Scheduler): SimBatchTask {
  const method: unknown = Reflect.get(LedgerConsumer.prototype, 'createTransfers');
  const options = Reflect.getMetadata(
    PATTERN_EXTRAS_METADATA,
    method as object,
  ) as TaskHandlerOptions;
  return {
    name: LEDGER_TASK.createTransfers,
    options,
    // LedgerConsumer.createTransfers, with the simulated clock for `new Date()`.
    handler: async (tx: Tx, payloads: unknown[]) =>
      createTransfersResults(
        await ledger.createTransfers(
          asManager(tx),
          (payloads as CreateTransfersPayload[]).map((p) => p.transfers.map(transferFromWire)),
          scheduler.date(),
        ),
      ),
  };
}

function transientError(random: SimRandom, label: string): QueryFailedError {
  const [code, text] = random.pick([
    ['40001', 'could not serialize access due to concurrent update'],
    ['08006', 'Connection terminated unexpectedly'],
  ] as const);
  return new QueryFailedError(`-- ${label}`, [], Object.assign(new Error(text), { code }));
}

/**
 * Runs one seed: a workload of payments, refunds, settlements and payouts through 1–3
 * ledger workers, with the seed's faults, to quiet; then checks every invariant.
 */
export async function simulateSeed(
  seed: number,
  options: SimulationOptions = {},
): Promise<SeedReport> {
  const root = new SimRandom(seed);
  const [workloadRandom, faultRandom, networkRandom, workerRandom] = [
    root.fork(),
    root.fork(),
    root.fork(),
    root.fork(),
  ];
  const violations: string[] = [];
  const scheduler = new Scheduler(EPOCH_MS, (name, error) => {
    violations.push(
      `process ${name} threw: ${error instanceof Error ? error.stack : String(error)}`,
    );
  });
  const trace = new Trace(() => scheduler.now);
  const log = (actor: string, what: string): void => trace.add(actor, what);
  const faults = new Faults(faultRandom);
  const bugs = options.bugs ?? {};
  const workers: SimWorker[] = [];
  const db = new MemoryDatabase(
    scheduler,
    {
      beforeStatement: (tx, label) => {
        if (tx.kind === 'setup') return null;
        if (faults.hit(tx.batchSize > 1 ? 'crash-mid-batch' : 'crash-before-commit'))
          return 'crash';
        if (tx.kind === 'batch' && label !== 'COMMIT' && faults.hit('transient-error')) {
          return transientError(faultRandom, label);
        }
        return null;
      },
      statementLatencyMs: () => networkRandom.int(1, 4),
      crash: (session, label) => workers.find((w) => w.owns(session))?.crash(`at ${label}`),
      violation: (text) => violations.push(text),
    },
    bugs.inboxIgnoresDuplicates !== true,
  );
  const latencyMaxMs = networkRandom.int(1, 40);
  const ledgerQueues = [QUEUE.ledger, QUEUE.ledgerBatch] as string[];
  const broker = new SimBroker(
    scheduler,
    {
      latencyMs: () => networkRandom.int(1, latencyMaxMs),
      trace: log,
      beforeAck: (delivery) => {
        const violation = ackViolation(delivery, db, broker);
        if (violation) violations.push(violation);
      },
    },
    new Map(
      WORK_QUEUES.filter((q) => ledgerQueues.includes(q.name)).map((q) => [
        q.name,
        q.deliveryLimit ?? Number.POSITIVE_INFINITY,
      ]),
    ),
  );
  const ledger = new LedgerService(new MemoryLedgerRepository(db) as unknown as LedgerRepository);
  const task = ledgerTask(ledger, scheduler);
  const workerCount = workerRandom.int(1, 3);
  for (let i = 0; i < workerCount; i += 1) {
    workers.push(
      new SimWorker(
        `w${i}`,
        {
          scheduler,
          db,
          broker,
          faults,
          random: workerRandom.fork(),
          task,
          trace: log,
          restartMs: () => workerRandom.int(20, 1_000),
          ackBeforeCommit: bugs.ackBeforeCommit === true,
        },
        [
          { queue: QUEUE.ledger, prefetch: workerRandom.int(1, 8) },
          { queue: QUEUE.ledgerBatch, prefetch: workerRandom.int(1, 4) },
        ],
      ),
    );
  }
  const clientDeps = {
    scheduler,
    broker,
    db,
    faults,
    trace: log,
    reconnectMs: () => networkRandom.int(5, 200),
  };
  const workload = new Workload({
    scheduler,
    random: workloadRandom,
    faults,
    trace: log,
    clients: {
      gateway: new SimTaskClient('gateway', clientDeps),
      refund: new SimTaskClient('refund', clientDeps),
      settlement: new SimTaskClient('settlement', clientDeps),
    },
  });
  const merchants = simMerchants(seed, workloadRandom);
  let producers: Process[] = [];
  const setup: Session = { name: 'setup', alive: true };
  scheduler.spawn('setup', async () => {
    const tx = db.begin(setup, 'setup');
    await ledger.createAccounts(asManager(tx), [
      ...platformAccounts(SIM_CURRENCIES),
      ...merchants.flatMap((m) => merchantAccounts(m, SIM_CURRENCIES)),
    ]);
    await db.commit(tx);
    for (const worker of workers) worker.start();
    producers = workload.start(merchants);
  });
  const end = await scheduler.run(options.eventCountMax ?? EVENT_COUNT_MAX_DEFAULT);
  if (end === 'event-limit') violations.push(`not quiet after ${scheduler.eventCount} events`);
  else violations.push(...checkWorld(db, broker, producers));
  return {
    seed,
    violations,
    traceHash: trace.digest(),
    trace: trace.all(),
    faults: faults.counts,
    stats: {
      events: scheduler.eventCount,
      simulatedMs: scheduler.now,
      tasks: broker.published.size,
      transfers: db.committed.transfers.size,
      deadLetters: broker.deadLetters.length,
      workers: workerCount,
    },
  };
}

/** Totals over a run of seeds. */
export interface RunSummary {
  seeds: number;
  from: number;
  failed: SeedReport[];
  faults: Record<FaultKind, number>;
  tasks: number;
  transfers: number;
  deadLetters: number;
}

/** Runs seeds `from` … `from + count - 1`; calls `onFailure` for each seed with a violation. */
export async function simulateSeeds(
  from: number,
  count: number,
  options: SimulationOptions = {},
  onFailure: (report: SeedReport) => void = () => undefined,
): Promise<RunSummary> {
  const summary: RunSummary = {
    seeds: count,
    from,
    failed: [],
    faults: Object.fromEntries(FAULT_KINDS.map((kind) => [kind, 0])) as Record<FaultKind, number>,
    tasks: 0,
    transfers: 0,
    deadLetters: 0,
  };
  for (let seed = from; seed < from + count; seed += 1) {
    const report = await simulateSeed(seed, options);
    for (const kind of FAULT_KINDS) summary.faults[kind] += report.faults[kind];
    summary.tasks += report.stats.tasks;
    summary.transfers += report.stats.transfers;
    summary.deadLetters += report.stats.deadLetters;
    if (report.violations.length > 0) {
      summary.failed.push({ ...report, trace: report.trace.slice(-40) });
      onFailure(report);
    }
  }
  return summary;
}
