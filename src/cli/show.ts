/**
 * `researcher show <run-dir> [--json]`: the leaderboard of a run, for people or for scripts.
 */
import path from 'node:path';
import { formatLeaderboard } from '../report/leaderboard.ts';
import { summarizeRun } from '../report/run-summary.ts';
import { RunStore } from '../store/run-store.ts';
import { parseCommand, requirePositional } from './args.ts';

const HELP = `usage: researcher show <run-dir> [--json]

  --json   print { run, baseline, ideas, best, usage, models } as JSON (models: per role and model, ideas, successes, best reward, dollars)`;

export async function showCommand(args: string[]): Promise<number> {
  const parsed = parseCommand(args, { json: { type: 'boolean' } }, HELP);
  if (!parsed) return 0;
  const store = RunStore.open(path.resolve(requirePositional(parsed.positionals, 'run folder', HELP)));
  try {
    const summary = summarizeRun(store);
    console.log(parsed.values.json ? JSON.stringify(summary, null, 2) : formatLeaderboard(summary));
  } finally {
    store.close();
  }
  return 0;
}
