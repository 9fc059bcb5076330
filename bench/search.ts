/**
 * Search strategies compared at the same number of evaluations: real sweeps with the offline
 * agent (no API key) on the bundled environments/grpo-tiny, for serial --build-on best, parallel
 * (best-of-4 rounds) and evolve (4 at once), each under several researcher seeds (--seed), and
 * the best reward each reached, averaged over seeds. Every sweep has the same idea budget, and
 * each idea is one evaluation (one seed), so equal ideas are equal evaluations.
 *
 * Slow (a few seconds of CPU per GRPO run): run it with `npm run bench -- search`.
 */
import { freezeEvaluator } from '../src/reward/frozen-evaluator.ts';
import path from 'node:path';
import { createAgents } from '../src/agents/index.ts';
import { runSweep } from '../src/core/sweep/index.ts';
import { SILENT } from '../src/core/progress.ts';
import { RunConfig, type RunConfigInput } from '../src/core/run-config.ts';
import { loadEnvironment } from '../src/environment/load.ts';
import { GpuPool } from '../src/sandbox/gpu-pool.ts';
import { LocalSandbox } from '../src/sandbox/local.ts';
import { createStrategy } from '../src/search/index.ts';
import { RunStore } from '../src/store/run-store.ts';
import { GitWorkspace } from '../src/workspace/git.ts';
import { benchDir, summarize, type Summary } from './stats.ts';

const ENVIRONMENT = path.resolve(import.meta.dirname, '../environments/grpo-tiny');

export const SEARCH_SETUPS: { name: string; config: Partial<RunConfigInput> }[] = [
  { name: 'parallel (best-of-4 rounds)', config: { search: 'parallel', parallel: 4 } },
  { name: 'evolve (4 at once)', config: { search: 'evolve', parallel: 4 } },
  { name: 'serial --build-on best', config: { search: 'serial', buildOn: 'best' } },
];

export interface SearchRow {
  strategy: string;
  /** Best reward of each researcher seed's sweep. */
  bestBySeed: number[];
  best: Summary & { mean: number };
  /** Mean over seeds of the best reward within the first k evaluations, k = 1…ideas. */
  curve: number[];
  baseline: number;
  evaluations: number;
  failed: number;
}

export interface SearchResult {
  environment: string;
  ideas: number;
  seeds: number[];
  rows: SearchRow[];
}

async function sweep(setup: Partial<RunConfigInput>, ideas: number, seed: number) {
  const environment = loadEnvironment(ENVIRONMENT);
  const runDir = path.join(benchDir('search'), 'run');
  const workspace = await GitWorkspace.create(environment, runDir);
  if (environment.evaluatorDir) freezeEvaluator(environment.evaluatorDir, path.join(runDir, 'evaluator'));
  const config = RunConfig.parse({
    runId: `search-${setup.search}-${seed}`,
    createdAt: new Date().toISOString(),
    environmentDir: environment.dir,
    environmentName: environment.config.name,
    goal: environment.config.reward.goal,
    agent: 'offline',
    ideas,
    randomSeed: seed,
    ...setup,
  });
  const store = RunStore.create(runDir, config);
  const agents = await createAgents('offline');
  const summary = await runSweep({
    store,
    environment,
    workspace,
    sandbox: new LocalSandbox(),
    thinker: agents.thinker,
    coder: agents.coder,
    strategy: createStrategy(config),
    gpuPool: new GpuPool([]),
    evaluatorDir: path.join(runDir, 'evaluator'),
    progress: SILENT,
    signal: new AbortController().signal,
  });
  // In the order results came in: the best reward after each evaluation.
  const evaluated = summary.ideas
    .filter((idea) => idea.id > 0 && store.evaluations(idea.id).length > 0)
    .sort((a, b) => (a.finishedAt ?? '').localeCompare(b.finishedAt ?? '') || a.id - b.id);
  const baseline = summary.ideas[0].reward ?? NaN;
  let best = baseline; // the best known, the unmodified code included
  const curve = evaluated.map((idea) => (best = Math.max(best, idea.reward ?? -Infinity)));
  const failed = summary.ideas.filter((idea) => idea.id > 0 && idea.status === 'failed').length;
  store.close();
  return { curve, best: Math.max(best, baseline), baseline, evaluations: evaluated.length, failed };
}

export async function searchBench(options: { quick: boolean; log: (line: string) => void }): Promise<SearchResult> {
  const ideas = options.quick ? 8 : 12;
  const seeds = options.quick ? [1, 2] : [1, 2, 3, 4];
  const rows: SearchRow[] = [];
  const runs = new Map<string, Awaited<ReturnType<typeof sweep>>[]>();
  for (const seed of seeds) {
    // The three strategies of one seed run side by side (two cores; each waits on python).
    const results = await Promise.all(SEARCH_SETUPS.map((setup) => sweep(setup.config, ideas, seed)));
    results.forEach((result, i) => runs.set(SEARCH_SETUPS[i].name, [...(runs.get(SEARCH_SETUPS[i].name) ?? []), result]));
    options.log(`search: seed ${seed}: ${results.map((r, i) => `${SEARCH_SETUPS[i].name.split(' ')[0]} ${r.best.toFixed(3)}`).join(', ')}`);
  }
  for (const setup of SEARCH_SETUPS) {
    const results = runs.get(setup.name)!;
    const bests = results.map((r) => r.best);
    const curve = Array.from({ length: ideas }, (_, k) => mean(results.map((r) => r.curve[Math.min(k, r.curve.length - 1)] ?? r.baseline)));
    rows.push({
      strategy: setup.name,
      bestBySeed: bests,
      best: { ...summarize(bests), mean: mean(bests) },
      curve,
      baseline: mean(results.map((r) => r.baseline)),
      evaluations: mean(results.map((r) => r.evaluations)),
      failed: mean(results.map((r) => r.failed)),
    });
  }
  return { environment: 'environments/grpo-tiny', ideas, seeds, rows };
}

function mean(values: number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}
