/**
 * What `run` and `resume` share: build the sweep's parts from the stored run config, run it
 * with Ctrl-C handling, and print the leaderboard.
 */
import path from 'node:path';
import { type Agents, createAgents } from '../agents/index.ts';
import { ConfigError, UsageError } from '../core/errors.ts';
import { runSweep, type SweepSummary } from '../core/sweep/index.ts';
import type { Environment } from '../environment/load.ts';
import { formatLeaderboard } from '../report/leaderboard.ts';
import { writeReport } from '../report/write-report.ts';
import { summarizeRun } from '../report/run-summary.ts';
import { EnginePlacedGpus, GpuPool } from '../sandbox/gpu-pool.ts';
import { createSandbox } from '../sandbox/index.ts';
import { createStrategy } from '../search/index.ts';
import { hasPortfolioState, PortfolioSearch } from '../search/model-portfolio.ts';
import type { SearchStrategy } from '../search/strategy.ts';
import type { RunStore } from '../store/run-store.ts';
import { claimRun, releaseRun } from '../store/run-owner.ts';
import type { GitWorkspace } from '../workspace/git.ts';
import { DEFAULT_HEARTBEAT_MS } from './heartbeat.ts';
import { LogLineProgress } from './progress-log.ts';
import { TtyProgress } from './progress-tty.ts';

export const EVALUATOR_DIR = 'evaluator';
export const TEST_EVALUATOR_DIR = 'test-evaluator';

export async function runSession(store: RunStore, environment: Environment, workspace: GitWorkspace): Promise<SweepSummary> {
  const config = store.config;
  // A live status bar on a terminal; plain log lines in a pipe, a file or under nohup.
  const heartbeat = { runDir: store.runDir, timeoutMs: environment.config.run.timeout, intervalMs: heartbeatInterval() };
  const progress = process.stdout.isTTY
    ? new TtyProgress(config.ideas, process.stdout, heartbeat)
    : new LogLineProgress(config.ideas, undefined, heartbeat);
  // Retry notices are diagnostics (stderr); on a terminal they go through the status bar so it stays intact.
  const onRetry = (line: string) =>
    progress instanceof TtyProgress ? progress.report({ type: 'log', message: line }) : console.error(line);
  const agents = await createAgents(config.agent, { onRetry });
  // A bad key or an unpriced model under --max-cost stops here, on resume too, before any work.
  await agents.check?.({ maxCostUsd: config.maxCostUsd });
  const strategy = searchStrategy(store, agents);
  const sandbox = await createSandbox(config.sandbox, config.sandboxOptions, environment);
  const { resources } = environment.config.run;
  await sandbox.preflight({ resources, gpus: config.gpus, image: environment.config.image });

  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    interrupts++;
    if (interrupts === 1) {
      console.error(
        `\n${signal}: stopping — running evaluations are stopped and kept for \`researcher resume ${path.relative(process.cwd(), store.runDir)}\` (again to quit at once)`,
      );
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
    summary = await runSweep({
      store,
      environment,
      workspace,
      sandbox,
      thinker: agents.thinker,
      coder: agents.coder,
      ...(agents.auditor ? { auditor: agents.auditor } : {}),
      reflector: agents.reflector,
      reflection: agents.reflection,
      debugRounds: agents.debugRounds,
      strategy,
      gpuPool: sandbox.allocatesGpus ? new EnginePlacedGpus() : new GpuPool(config.gpus, resources.shareGpus),
      evaluatorDir: environment.evaluatorDir ? path.join(store.runDir, EVALUATOR_DIR) : undefined,
      testEvaluatorDir: environment.testEvaluatorDir ? path.join(store.runDir, TEST_EVALUATOR_DIR) : undefined,
      progress,
      signal: controller.signal,
    });
  } finally {
    progress.close();
    releaseRun(store);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await sandbox.close?.();
  }
  const leaderboard = formatLeaderboard(summarizeRun(store));
  // report.html and summary.md stay with the run, whatever stopped it.
  const report = writeReport(store);
  console.log('');
  console.log(leaderboard);
  console.log(`\nreport: ${path.relative(process.cwd(), report.html)} · summary: ${path.relative(process.cwd(), report.markdown)}`);
  if (summary.stoppedBy === 'max-hours' || summary.stoppedBy === 'max-cost') {
    console.log(
      `\nstopped at --${summary.stoppedBy}; raise it and continue with: researcher resume ${path.relative(process.cwd(), store.runDir)}`,
    );
  }
  if (summary.stoppedBy === 'interrupted') {
    console.log(`\nstopped; continue with: researcher resume ${path.relative(process.cwd(), store.runDir)}`);
  }
  return summary;
}

/** The run's search strategy; with several thinker models, wrapped in the bandit that chooses among them. */
function searchStrategy(store: RunStore, agents: Agents): SearchStrategy {
  const strategy = createStrategy(store.config);
  if (!agents.portfolio) {
    if (hasPortfolioState(store.getMeta('searchState'))) {
      throw new ConfigError(
        `this run's thinker chose among several models (thinker.models: in ${store.config.agent}), which its agent file no longer lists: list them again to resume it`,
      );
    }
    return strategy;
  }
  const thinkerCost = (ideaId: number) =>
    store
      .modelCallTotals(ideaId)
      .filter((total) => total.role === 'thinker')
      .reduce((sum, total) => sum + total.costUsd, 0);
  return new PortfolioSearch(strategy, agents.portfolio, thinkerCost);
}

/** The heartbeat interval: AI_RESEARCHER_HEARTBEAT_SECONDS (default 30 s). */
function heartbeatInterval(): number {
  const raw = process.env.AI_RESEARCHER_HEARTBEAT_SECONDS;
  if (raw === undefined || raw === '') return DEFAULT_HEARTBEAT_MS;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds <= 0)
    throw new UsageError(`AI_RESEARCHER_HEARTBEAT_SECONDS expects a positive number of seconds, got "${raw}"`);
  return Math.round(seconds * 1000);
}
