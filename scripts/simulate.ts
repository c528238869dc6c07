/**
 * `npm run simulate -- [--seeds N] [--from N] [--seed N] [--trace] [--bug NAME]`: runs the
 * deterministic simulation of the task layer and the ledger over seeds `from` …
 * `from + seeds - 1` (or the one `--seed`), prints each failing seed with its violations
 * and the tail of its trace, and ends with one JSON line:
 * `{"simulation":"done","seeds":…,"from":…,"violations":…,"ms":…}`. Exits 1 on a violation.
 * `--trace` prints a single seed's whole trace (to compare two runs of it). `--bug
 * ack-before-commit` or `--bug inbox-ignores-duplicates` injects that bug into the
 * simulated task layer, to watch the checks catch it.
 */
import {
  simulateSeed,
  simulateSeeds,
  type SeedReport,
  type SimulationOptions,
} from '@clearline/simulation';

const BUGS: Record<string, SimulationOptions> = {
  'ack-before-commit': { bugs: { ackBeforeCommit: true } },
  'inbox-ignores-duplicates': { bugs: { inboxIgnoresDuplicates: true } },
};

function bugArg(args: readonly string[]): SimulationOptions {
  const index = args.indexOf('--bug');
  if (index < 0) return {};
  const options = BUGS[String(args[index + 1])];
  if (!options) throw new Error(`--bug takes one of ${Object.keys(BUGS).join(', ')}`);
  return options;
}

function numberArg(args: readonly string[], name: string): number | undefined {
  const index = args.indexOf(name);
  if (index < 0) return undefined;
  const value = Number(args[index + 1]);
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new Error(`${name} takes a whole number, got ${String(args[index + 1])}`);
  }
  return value;
}

function printFailure(report: SeedReport): void {
  console.log(
    `seed ${report.seed}: ${report.violations.length} violations (trace ${report.traceHash})`,
  );
  for (const violation of report.violations.slice(0, 10)) console.log(`  ! ${violation}`);
  for (const line of report.trace.slice(-40)) console.log(`  | ${line}`);
  console.log(`  reproduce: npm run simulate -- --seed ${report.seed} --trace`);
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const single = numberArg(args, '--seed');
  const from = single ?? numberArg(args, '--from') ?? 0;
  const seeds = single === undefined ? (numberArg(args, '--seeds') ?? 1_000) : 1;
  const options = bugArg(args);
  const started = performance.now();
  if (single !== undefined && args.includes('--trace')) {
    const report = await simulateSeed(single, options);
    for (const line of report.trace) console.log(line);
    console.log(
      JSON.stringify({ seed: single, traceHash: report.traceHash, faults: report.faults }),
    );
  }
  const summary = await simulateSeeds(from, seeds, options, printFailure);
  const violations = summary.failed.reduce((n, r) => n + r.violations.length, 0);
  console.log(
    JSON.stringify({
      simulation: 'done',
      seeds,
      from,
      violations,
      ms: Math.round(performance.now() - started),
      failedSeeds: summary.failed.map((r) => r.seed).slice(0, 20),
      tasks: summary.tasks,
      transfers: summary.transfers,
      deadLetters: summary.deadLetters,
      faults: summary.faults,
    }),
  );
  return violations > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(2);
  },
);
