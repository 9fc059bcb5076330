/**
 * `researcher resume <run-dir>`: continue a stopped or killed sweep. Finished ideas are kept;
 * whatever was in flight is stopped (if a killed researcher left it running) and run again.
 */
import path from 'node:path';
import { EARLY_STOP_HELP, formatEarlyStop, parseEarlyStop } from '../core/early-stopping.ts';
import { isFinished } from '../core/ideas.ts';
import { loadEnvironment } from '../environment/load.ts';
import { RunStore } from '../store/run-store.ts';
import { GitWorkspace } from '../workspace/git.ts';
import { parseCommand, positiveInt, positiveNumber, requirePositional } from './args.ts';
import { runSession } from './sweep-session.ts';

const HELP = `usage: researcher resume <run-dir> [--ideas N] [--max-hours H] [--max-cost USD] [--early-stop RULE]

  --ideas N          raise (or lower) the run's idea budget
  --max-hours H      raise (or lower) the run's time limit (hours of sweeping, all sessions together)
  --max-cost USD     raise (or lower) the run's model spending limit
  --early-stop RULE  change the learning-curve stopping rule from here on: ${EARLY_STOP_HELP}
                     (runs already stopped stay stopped)`;

export async function resumeCommand(args: string[]): Promise<number> {
  const parsed = parseCommand(
    args,
    { ideas: { type: 'string' }, 'max-hours': { type: 'string' }, 'max-cost': { type: 'string' }, 'early-stop': { type: 'string' } },
    HELP,
  );
  if (!parsed) return 0;
  const runDir = path.resolve(requirePositional(parsed.positionals, 'run folder', HELP));
  // Checked before anything is written, like every other option: a typo changes nothing.
  const earlyStopText = parsed.values['early-stop'];
  const earlyStop = earlyStopText === undefined ? undefined : formatEarlyStop(parseEarlyStop(earlyStopText));
  const store = RunStore.open(runDir);
  try {
    const ideas = positiveInt(parsed.values.ideas, '--ideas');
    if (ideas !== undefined) store.setMeta('config', { ...store.config, ideas });
    const maxHours = positiveNumber(parsed.values['max-hours'], '--max-hours');
    if (maxHours !== undefined) store.setMeta('config', { ...store.config, maxHours });
    const maxCostUsd = positiveNumber(parsed.values['max-cost'], '--max-cost');
    if (maxCostUsd !== undefined) store.setMeta('config', { ...store.config, maxCostUsd });
    if (earlyStop !== undefined) store.setMeta('config', { ...store.config, earlyStop });
    // A finished run has nothing to resume: say so before loading the environment or checking the agent's keys.
    const records = store.ideas();
    const finished = records.filter((i) => i.id !== 0 && (i.status === 'succeeded' || i.status === 'failed')).length;
    const unfinished = records.filter((i) => i.status !== 'succeeded' && i.status !== 'failed');
    if (finished >= store.config.ideas && unfinished.length === 0) {
      const shown = path.relative(process.cwd(), runDir) || runDir;
      console.log(
        `run ${store.config.runId} is finished: ${finished} of ${store.config.ideas} ideas done, nothing left to do. To try more, raise the budget: researcher resume ${shown} --ideas ${store.config.ideas + 12}`,
      );
      return 0;
    }
    const environment = loadEnvironment(store.config.environmentDir);
    const workspace = await GitWorkspace.open(runDir);
    console.log(`resuming run ${store.config.runId}: ${store.ideas().filter(isFinished).length} idea(s) already finished`);
    await runSession(store, environment, workspace);
  } finally {
    store.close();
  }
  return 0;
}
