/**
 * `researcher compare <run-a> <run-b>`: two sweeps side by side — best reward, best reward at
 * equal numbers of ideas, and cost.
 */
import path from 'node:path';
import { UsageError } from '../core/errors.ts';
import { compareRuns, formatComparison } from '../report/compare-runs.ts';
import { summarizeRun, type RunSummary } from '../report/run-summary.ts';
import { RunStore } from '../store/run-store.ts';
import { parseCommand } from './args.ts';

const HELP = `usage: researcher compare <run-a> <run-b> [--json]

  Compares two sweeps, e.g. two agents or two search strategies on the same environment: the
  best reward each found, the best reward each had after the same number of ideas, and what
  each cost (dollars, tokens, compute and GPU hours).

  --json   print the comparison as JSON`;

export async function compareCommand(args: string[]): Promise<number> {
  const parsed = parseCommand(args, { json: { type: 'boolean' } }, HELP);
  if (!parsed) return 0;
  if (parsed.positionals.length !== 2) throw new UsageError(`expected two run folders\n${HELP}`);
  const [a, b] = parsed.positionals.map((dir) => summaryOf(path.resolve(dir)));
  const comparison = compareRuns(a, b);
  console.log(parsed.values.json ? JSON.stringify(comparison, null, 2) : formatComparison(comparison));
  return 0;
}

function summaryOf(runDir: string): RunSummary {
  const store = RunStore.open(runDir);
  try {
    return summarizeRun(store);
  } finally {
    store.close();
  }
}
