/**
 * The test split: the final top ideas (and the baseline, for reference) re-run on fresh seeds and
 * scored by the test evaluator, frozen with the run like the evaluator itself. It runs when a
 * sweep ends and on demand (`researcher confirm`). Its rewards go to their own table
 * (store.testEvaluations), which nothing the search, the strategy or the agents see reads: the
 * validation reward chooses, the test reward only reports how well the choice holds up.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Environment } from '../../environment/load.ts';
import { scoreRun } from '../../reward/evaluate.ts';
import type { GpuPool } from '../../sandbox/gpu-pool.ts';
import { ideaDir } from '../../store/idea-files.ts';
import type { RunStore } from '../../store/run-store.ts';
import { isBetter, type Goal } from '../ideas.ts';
import type { Sandbox, SandboxRequest, Workspace } from '../interfaces.ts';
import type { ProgressReporter } from '../progress.ts';
import type { IdeaRecord } from '../types.ts';
import { formatNumber } from '../format.ts';

/** Test seeds start here (or past the largest validation seed): fresh for every idea. */
export const TEST_SEED_BASE = 1000;

export interface TestSplitDependencies {
  store: RunStore;
  environment: Environment;
  workspace: Workspace;
  sandbox: Sandbox;
  gpuPool: GpuPool;
  /** The run's frozen copy of the test evaluator, and its hash (checked before each score). */
  testEvaluatorDir: string;
  testEvaluatorHash: string;
  progress: ProgressReporter;
  signal: AbortSignal;
}

export interface TestSplitOutcome {
  /** Test evaluations run now (finished, with a reward or a failure). */
  ran: number;
  /** Stopped (Ctrl-C) before all were run; the rest run on the next `researcher confirm`. */
  stopped: boolean;
}

/** The baseline and the `top` best finished ideas by validation reward (ties: the earlier idea). */
export function testCandidates(ideas: readonly IdeaRecord[], goal: Goal, top: number): number[] {
  const ranked = ideas
    .filter((idea) => idea.id !== 0 && idea.status === 'succeeded' && idea.reward !== null)
    .sort((a, b) => (isBetter(a.reward!, b.reward!, goal) ? -1 : isBetter(b.reward!, a.reward!, goal) ? 1 : a.id - b.id));
  const baseline = ideas.find((idea) => idea.id === 0 && idea.status === 'succeeded');
  return [...(baseline ? [0] : []), ...ranked.slice(0, top).map((idea) => idea.id)];
}

/** The run's test seeds: the same fresh ones for every idea, so that they compare seed by seed on test too. */
export function testSeeds(store: RunStore, count: number): number[] {
  let base = store.getMeta<number>('testSeedBase');
  if (base === undefined) {
    const largest = Math.max(-1, ...store.evaluations().map((e) => e.seed));
    base = Math.max(TEST_SEED_BASE, largest + 1);
    store.setMeta('testSeedBase', base);
  }
  return Array.from({ length: count }, (_, i) => base + i);
}

/** Runs and test-scores each idea under each seed not yet scored, one at a time. */
export async function scoreOnTest(
  deps: TestSplitDependencies,
  ideaIds: readonly number[],
  seeds: readonly number[],
): Promise<TestSplitOutcome> {
  const { store, workspace } = deps;
  store.testEvaluations.dropUnfinished();
  let ran = 0;
  for (const ideaId of ideaIds) {
    const idea = store.idea(ideaId);
    if (!idea?.commit) continue;
    const done = new Set(store.testEvaluations.list(ideaId).map((e) => e.seed));
    const todo = seeds.filter((seed) => !done.has(seed));
    if (todo.length === 0) continue;
    if (deps.signal.aborted) return { ran, stopped: true };
    const dir = await workspace.checkout(idea.id, idea.commit);
    try {
      for (const [i, seed] of todo.entries()) {
        if (deps.signal.aborted) return { ran, stopped: true };
        // Each seed starts from the idea's commit, as in the search.
        if (i > 0) await workspace.reset(dir);
        if (!(await scoreSeed(deps, idea, seed, dir))) return { ran, stopped: true };
        ran++;
      }
    } finally {
      await workspace.release(dir);
    }
  }
  return { ran, stopped: false };
}

/** One seed of one idea on the test split: false when the run was stopped (nothing is recorded then). */
async function scoreSeed(deps: TestSplitDependencies, idea: IdeaRecord, seed: number, dir: string): Promise<boolean> {
  const { store, sandbox, environment, gpuPool, signal, progress } = deps;
  const { config } = environment;
  const test = config.test!;
  const folder = path.join(ideaDir(store.runDir, idea.id), `test-seed-${seed}`);
  const outputDir = path.join(folder, 'outputs');
  const logPath = path.join(folder, 'run.log');
  mkdirSync(outputDir, { recursive: true });
  const gpus = await gpuPool.acquire(config.run.resources.gpus);
  try {
    const id = store.testEvaluations.start(idea.id, seed, sandbox.name, logPath, gpus);
    const request: SandboxRequest = {
      runId: store.config.runId,
      ideaId: idea.id,
      seed,
      kind: 'run',
      step: config.run,
      resources: config.run.resources,
      network: config.run.network,
      readOnly: config.run.readOnly,
      workDir: dir,
      outputDir,
      logPath,
      gpus,
      image: config.image,
      signal,
    };
    const result = await sandbox.run(request);
    if (result.interrupted || signal.aborted) return false;
    // The test evaluator has the evaluator's contract: the same scoring, its own folder and data.
    const scored = await scoreRun({
      config: { ...config, evaluate: test },
      sandbox,
      run: request,
      runResult: result,
      evaluatorDir: deps.testEvaluatorDir,
      evaluatorHash: deps.testEvaluatorHash,
      evalDir: path.join(folder, 'eval'),
      signal,
    });
    if (!scored.ok && scored.failure.reason === 'interrupted') return false;
    store.testEvaluations.finish(id, {
      reward: scored.ok ? scored.reward : null,
      failure: scored.ok ? null : scored.failure,
      exitCode: result.exitCode,
      timedOut: result.timedOut,
      oomKilled: result.oomKilled,
      durationMs: result.durationMs,
    });
    progress.report({
      type: 'log',
      message: `test split: ${idea.id === 0 ? 'baseline' : `idea ${idea.id}`} seed ${seed}: ${scored.ok ? formatNumber(scored.reward) : `failed (${scored.failure.reason}): ${scored.failure.message}`}`,
    });
    return true;
  } finally {
    gpuPool.release(gpus);
  }
}
