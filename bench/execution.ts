/**
 * Execution rate (issue 14): real sweeps on environments/grpo-tiny in the local sandbox, with the
 * offline thinker and a scripted coder that writes the knob change plus, on every second idea, a
 * line that fails at run time (a NameError once training is over), and that removes the line when it
 * is shown the traceback (a debug round). Side by side, in one run, under the same researcher
 * seed: debug rounds off without a smoke step (what every idea got before), debug rounds on
 * without it (each crash costs a full run), and debug rounds on with the environment's smoke
 * step (the crash is caught in a few GRPO steps). Reported: the share of coded ideas that ran to a reward, and the run
 * seconds (full runs and smoke steps, evaluator excluded) spent per idea that did.
 *
 * Slow (a few seconds of CPU per GRPO run): run it with `npm run bench -- execution`.
 */
import path from 'node:path';
import { OfflineCoder, OfflineThinker } from '../src/agents/offline.ts';
import type { AgentResult, ApplyFeedback, EditWriter, ResearchContext, RunFailureFeedback } from '../src/core/interfaces.ts';
import { SILENT } from '../src/core/progress.ts';
import { RunConfig } from '../src/core/run-config.ts';
import { runSweep } from '../src/core/sweep/index.ts';
import { ZERO_USAGE, type Edit, type IdeaDraft } from '../src/core/types.ts';
import { loadEnvironment } from '../src/environment/load.ts';
import { executionRate, type ExecutionRate } from '../src/report/execution-rate.ts';
import { freezeEvaluator } from '../src/reward/frozen-evaluator.ts';
import { GpuPool } from '../src/sandbox/gpu-pool.ts';
import { LocalSandbox } from '../src/sandbox/local.ts';
import { createStrategy } from '../src/search/index.ts';
import { RunStore } from '../src/store/run-store.ts';
import { GitWorkspace } from '../src/workspace/git.ts';
import { asCoder } from '../src/agents/one-shot.ts';
import { benchDir } from './stats.ts';

const ENVIRONMENT = path.resolve(import.meta.dirname, '../environments/grpo-tiny');

/**
 * Where the crashing line goes in train.py, and the line: a name that is not defined, used after
 * training, where a crash costs the whole run (and a smoke step's few steps reach it in a second).
 */
const ANCHOR = '    predictions = {qid: greedy_answer(policy, a, b) for qid, a, b in questions}';
const CRASH = '    log(f"final lr={final_learning_rate}")';

/**
 * The offline knob coder, made to crash on every second idea: its first edit adds CRASH to
 * train.py; shown a failure whose log names the undefined name, it removes the line (the knob
 * change stays). Any other failure (a diverged run, say) it cannot fix: it writes nothing new.
 */
export class CrashingCoder implements EditWriter {
  readonly name = 'crashing-offline';
  private readonly knobs = new OfflineCoder();

  async implement(
    idea: IdeaDraft,
    context: ResearchContext,
    _feedback: readonly ApplyFeedback[],
    failures: readonly RunFailureFeedback[] = [],
  ): Promise<AgentResult<Edit>> {
    if (failures.length) {
      const last = failures[failures.length - 1];
      const fixable = last.logTail.includes("NameError: name 'final_learning_rate' is not defined");
      const search = fixable ? `${CRASH}\n${ANCHOR}` : ANCHOR;
      return { value: { kind: 'search-replace', blocks: [{ path: 'train.py', search, replace: ANCHOR }] }, usage: ZERO_USAGE };
    }
    const knob = await this.knobs.implement(idea, context);
    if (context.ideaId % 2 === 1 || knob.value.kind !== 'search-replace') return knob;
    const blocks = [...knob.value.blocks, { path: 'train.py', search: ANCHOR, replace: `${CRASH}\n${ANCHOR}` }];
    return { value: { kind: 'search-replace', blocks }, usage: knob.usage };
  }
}

export const EXECUTION_SETUPS = [
  { name: 'debug rounds off, no smoke step (before)', debugRounds: 0, smoke: false },
  { name: 'debug rounds on (2), no smoke step', debugRounds: 2, smoke: false },
  { name: 'debug rounds on (2), smoke step', debugRounds: 2, smoke: true },
] as const;

export interface ExecutionRow {
  setup: string;
  execution: ExecutionRate;
  /** Seconds of full runs and smoke steps, in all and per idea that ran to a reward. */
  runSeconds: number;
  runSecondsPerExecuted: number | null;
  bestReward: number | null;
}

export interface ExecutionResult {
  environment: string;
  ideas: number;
  seed: number;
  rows: ExecutionRow[];
}

async function sweep(setup: (typeof EXECUTION_SETUPS)[number], ideas: number, seed: number): Promise<ExecutionRow> {
  const loaded = loadEnvironment(ENVIRONMENT);
  const environment = setup.smoke ? loaded : { ...loaded, config: { ...loaded.config, smoke: undefined } };
  const runDir = path.join(benchDir('execution'), 'run');
  const workspace = await GitWorkspace.create(environment, runDir);
  if (environment.evaluatorDir) freezeEvaluator(environment.evaluatorDir, path.join(runDir, 'evaluator'));
  const config = RunConfig.parse({
    runId: `execution-${setup.debugRounds}-${setup.smoke}`,
    createdAt: new Date().toISOString(),
    environmentDir: environment.dir,
    environmentName: environment.config.name,
    goal: environment.config.reward.goal,
    agent: 'crashing-offline',
    ideas,
    randomSeed: seed,
  });
  const store = RunStore.create(runDir, config);
  const summary = await runSweep({
    store,
    environment,
    workspace,
    sandbox: new LocalSandbox(),
    thinker: new OfflineThinker(),
    coder: asCoder(new CrashingCoder()),
    debugRounds: setup.debugRounds,
    strategy: createStrategy(config),
    gpuPool: new GpuPool([]),
    evaluatorDir: path.join(runDir, 'evaluator'),
    progress: SILENT,
    signal: new AbortController().signal,
  });
  const ideasRun = summary.ideas.filter((idea) => idea.id !== 0);
  const execution = executionRate(ideasRun, store.debugRounds());
  const ms =
    store
      .evaluations()
      .filter((e) => e.ideaId !== 0)
      .reduce((sum, e) => sum + (e.durationMs ?? 0), 0) + store.smokeRuns().reduce((sum, s) => sum + (s.durationMs ?? 0), 0);
  const rewards = ideasRun.map((idea) => idea.reward).filter((r): r is number => r !== null);
  store.close();
  return {
    setup: setup.name,
    execution,
    runSeconds: ms / 1000,
    runSecondsPerExecuted: execution.executed ? ms / 1000 / execution.executed : null,
    bestReward: rewards.length ? Math.max(...rewards) : null,
  };
}

export async function executionBench(options: { quick: boolean; log: (line: string) => void }): Promise<ExecutionResult> {
  const ideas = options.quick ? 6 : 10;
  const seed = 1;
  // The three setups run side by side (two cores; each waits on python most of the time).
  const rows = await Promise.all(EXECUTION_SETUPS.map((setup) => sweep(setup, ideas, seed)));
  for (const row of rows) options.log(`execution: ${row.setup}: ${row.execution.executed}/${row.execution.coded} ran`);
  return { environment: 'environments/grpo-tiny', ideas, seed, rows };
}
