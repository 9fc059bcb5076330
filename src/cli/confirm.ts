/**
 * `researcher confirm <run-dir> [ideas…]`: scores ideas on the test split on demand — re-runs
 * them on fresh seeds and scores them with the run's frozen test evaluator — then rewrites the
 * report. Without ideas: the run's top ideas by validation reward (--top, default the run's
 * --test-top) and the baseline.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../core/errors.ts';
import { scoreOnTest, testCandidates, testSeeds } from '../core/sweep/test-split.ts';
import { loadEnvironment } from '../environment/load.ts';
import { formatLeaderboard } from '../report/leaderboard.ts';
import { summarizeRun } from '../report/run-summary.ts';
import { writeReport } from '../report/write-report.ts';
import { freezeEvaluator } from '../reward/frozen-evaluator.ts';
import { EnginePlacedGpus, GpuPool } from '../sandbox/gpu-pool.ts';
import { createSandbox } from '../sandbox/index.ts';
import { claimRun, releaseRun } from '../store/run-owner.ts';
import { RunStore } from '../store/run-store.ts';
import { GitWorkspace } from '../workspace/git.ts';
import { parseCommand, positiveInt, requirePositional } from './args.ts';
import { TEST_EVALUATOR_DIR } from './sweep-session.ts';

const HELP = `usage: researcher confirm <run-dir> [idea…] [--top K] [--seeds T]

  Scores ideas on the test split: each is re-run on fresh seeds and scored by the test
  evaluator (environment.yaml's test:), which the search never sees. Seeds already scored are
  kept; the baseline is always scored too, as the reference. Then report.html and summary.md
  are rewritten with validation, test and the gap.

  idea…       idea ids (default: the top K ideas by validation reward)
  --top K     how many top ideas without ids (default: the run's --test-top, else 3)
  --seeds T   fresh seeds per idea (default: the run's --test-seeds)`;

export async function confirmCommand(args: string[]): Promise<number> {
  const parsed = parseCommand(args, { top: { type: 'string' }, seeds: { type: 'string' } }, HELP);
  if (!parsed) return 0;
  const [dir, ...ids] = parsed.positionals;
  const runDir = path.resolve(requirePositional(dir ? [dir] : [], 'run folder', HELP));
  const store = RunStore.open(runDir);
  try {
    let config = store.config;
    const environment = loadEnvironment(config.environmentDir);
    if (!environment.config.test || !environment.testEvaluatorDir) {
      throw new UsageError(
        `${environment.file}: has no test: evaluator; declare one (same contract as evaluate:, its own hidden data) to score ideas on a test split`,
      );
    }
    const frozen = path.join(runDir, TEST_EVALUATOR_DIR);
    if (config.testEvaluatorHash === null) {
      // A run from before the environment declared test: freezes it on first use, once.
      if (existsSync(frozen)) throw new UsageError(`${frozen} exists but the run recorded no hash for it; remove it and run confirm again`);
      config = { ...config, testEvaluatorHash: freezeEvaluator(environment.testEvaluatorDir, frozen) };
      store.setMeta('config', config);
    }
    const ideas = store.ideas();
    const chosen = ids.length
      ? [0, ...ideaIds(ids, ideas)]
      : testCandidates(ideas, config.goal, positiveInt(parsed.values.top, '--top') ?? (config.testTop || 3));
    if (chosen.length <= 1 && ids.length === 0) {
      console.log(`run ${config.runId} has no scored idea to confirm yet`);
      return 0;
    }
    const seeds = testSeeds(store, positiveInt(parsed.values.seeds, '--seeds') ?? config.testSeeds);

    const sandbox = await createSandbox(config.sandbox, config.sandboxOptions, environment);
    const { resources } = environment.config.run;
    await sandbox.preflight({ resources, gpus: config.gpus, image: environment.config.image });
    const workspace = await GitWorkspace.open(runDir);
    const controller = new AbortController();
    const onSignal = () => controller.abort();
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    claimRun(store);
    let stopped: boolean;
    try {
      console.log(
        `confirming ${chosen.map((id) => (id === 0 ? 'the baseline' : `idea ${id}`)).join(', ')} on the test split, seeds ${seeds.join(', ')}`,
      );
      ({ stopped } = await scoreOnTest(
        {
          store,
          environment,
          workspace,
          sandbox,
          gpuPool: sandbox.allocatesGpus ? new EnginePlacedGpus() : new GpuPool(config.gpus, resources.shareGpus),
          testEvaluatorDir: frozen,
          testEvaluatorHash: config.testEvaluatorHash!,
          progress: { report: (event) => void (event.type === 'log' && console.log(event.message)) },
          signal: controller.signal,
        },
        chosen,
        seeds,
      ));
    } finally {
      releaseRun(store);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      await workspace.cleanup().catch(() => {});
      await sandbox.close?.();
    }
    const report = writeReport(store);
    console.log('');
    console.log(formatLeaderboard(summarizeRun(store)));
    console.log(`\nreport: ${path.relative(process.cwd(), report.html)} · summary: ${path.relative(process.cwd(), report.markdown)}`);
    if (stopped) console.log(`\nstopped; the rest runs with: researcher confirm ${path.relative(process.cwd(), runDir)}`);
    return stopped ? 130 : 0;
  } finally {
    store.close();
  }
}

/** Idea ids as given, checked: each must be an idea of the run with a reward. */
function ideaIds(words: string[], ideas: { id: number; status: string; title: string }[]): number[] {
  return words
    .map((word) => {
      const id = Number(word);
      const idea = Number.isInteger(id) ? ideas.find((i) => i.id === id) : undefined;
      if (!idea) throw new UsageError(`"${word}" is not an idea of this run (ideas: 0–${ideas.length - 1})`);
      if (idea.status !== 'succeeded') throw new UsageError(`idea ${id} has no reward to confirm (it is ${idea.status})`);
      return id;
    })
    .filter((id) => id !== 0);
}
