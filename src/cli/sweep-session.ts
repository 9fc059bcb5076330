/**
 * What `run` and `resume` share: build the sweep's parts from the stored run config, run it
 * with Ctrl-C handling, and print the leaderboard.
 */
import path from 'node:path';
import { createAgents } from '../agents/index.ts';
import { Sweep, type SweepSummary } from '../core/loop.ts';
import type { Environment } from '../environment/load.ts';
import { formatLeaderboard } from '../report/leaderboard.ts';
import { summarizeRun } from '../report/run-summary.ts';
import { GpuPool } from '../sandbox/gpu-pool.ts';
import { createSandbox } from '../sandbox/index.ts';
import { createStrategy } from '../search/index.ts';
import type { RunStore } from '../store/run-store.ts';
import { claimRun, releaseRun } from '../store/run-owner.ts';
import type { GitWorkspace } from '../workspace/git.ts';
import { LogLineProgress } from './progress-log.ts';

export const EVALUATOR_DIR = 'evaluator';

export async function runSession(store: RunStore, environment: Environment, workspace: GitWorkspace): Promise<SweepSummary> {
  const config = store.config;
  const agents = createAgents(config.agent);
  const sandbox = await createSandbox(config.sandbox, config.sandboxOptions);
  const { resources } = environment.config.run;
  await sandbox.preflight({ resources, gpus: config.gpus, image: environment.config.image });

  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    interrupts++;
    if (interrupts === 1) {
      console.error(`\n${signal}: stopping — running evaluations are stopped and kept for \`researcher resume ${path.relative(process.cwd(), store.runDir)}\` (again to quit at once)`);
      controller.abort();
    } else {
      process.exit(130);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  claimRun(store);
  let summary: SweepSummary;
  try {
    const sweep = new Sweep({
      store,
      environment,
      workspace,
      sandbox,
      thinker: agents.thinker,
      coder: agents.coder,
      strategy: createStrategy(config),
      gpuPool: new GpuPool(config.gpus, resources.shareGpus),
      evaluatorDir: environment.evaluatorDir ? path.join(store.runDir, EVALUATOR_DIR) : undefined,
      progress: new LogLineProgress(config.ideas),
      signal: controller.signal,
    });
    summary = await sweep.run();
  } finally {
    releaseRun(store);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await sandbox.close?.();
  }
  console.log('');
  console.log(formatLeaderboard(summarizeRun(store)));
  if (summary.stoppedBy === 'interrupted') {
    console.log(`\nstopped; continue with: researcher resume ${path.relative(process.cwd(), store.runDir)}`);
  }
  return summary;
}
