/**
 * The researcher loop: propose → code → commit → run → score → record, for as many ideas as the
 * budget allows, with up to `parallel` evaluations at once. `runSweep` is its one entry point.
 *
 * The scheduler is pipelined: while evaluations run, the thinker and coder already prepare the
 * next ideas (up to one ready idea per slot), so a free slot gets its next idea at once. What to
 * try next is the search strategy's decision; when is the scheduler's.
 *
 * Everything is recorded in the store as it happens. Stopping (Ctrl-C) leaves unfinished ideas in
 * flight, and `resume` re-runs exactly those. Reaching --max-hours or --max-cost stops preparing
 * ideas and lets running evaluations finish (or stops them with --hard-stop); what was not run is
 * left for `resume` too.
 *
 * Where each concern lives:
 *   ./scheduler.ts        slots, lookahead, time and money limits, draining, the ideas' tasks
 *   ./idea-pipeline.ts    one idea: propose (and accept), implement (code, repair, commit)
 *   ./evaluation.ts       run and score under each seed, confirmation seeds (evaluateSeed)
 *   ./run-record.ts       the run's ideas in memory, recording results, progress status
 *   ./research-context.ts what the agents are told
 *   ./recovery.ts         resume: reaping what a killed run left, requeueing unfinished ideas
 */
import path from 'node:path';
import { seedDir } from '../../store/idea-files.ts';
import { BaselineFailed, describeError } from '../errors.ts';
import { isFinished } from '../ideas.ts';
import type { IdeaDraft, IdeaRecord } from '../types.ts';
import type { SweepDependencies, SweepParts } from './dependencies.ts';
import { IdeaPipeline } from './idea-pipeline.ts';
import { SweepMemory } from './memory.ts';
import { recoverInterrupted, requeueUnfinished } from './recovery.ts';
import { RunRecord } from './run-record.ts';
import { Scheduler } from './scheduler.ts';
import { scoreOnTest, testCandidates, testSeeds } from './test-split.ts';

export type { SweepDependencies } from './dependencies.ts';
export { PROPOSAL_RETRIES } from './idea-pipeline.ts';

export interface SweepSummary {
  stoppedBy: 'budget' | 'interrupted' | 'max-hours' | 'max-cost' | 'no-more-ideas';
  ideas: IdeaRecord[];
  best: IdeaRecord | undefined;
}

const BASELINE: IdeaDraft = {
  title: 'baseline',
  hypothesis: 'The unmodified code, to measure what every idea is compared with.',
  plan: '',
  expectedEffect: '',
};

/** Runs a sweep over the run in `deps.store` until its budget, a limit or Ctrl-C stops it. */
export async function runSweep(deps: SweepDependencies): Promise<SweepSummary> {
  const parts = sweepParts(deps);
  const { store, workspace, progress, signal } = deps;
  const { config, record, scheduler } = parts;
  const pipeline = new IdeaPipeline(parts);
  await recoverInterrupted(deps);
  record.load();

  if (!record.idea(0)) {
    store.insertIdea(BASELINE, null, {}, 0);
    store.setIdeaCode(0, { edit: null, diff: '', commit: workspace.baseCommit });
    record.refresh(0);
  }
  if (record.idea(0)!.status === 'failed') throw baselineFailed(parts);
  if (!isFinished(record.idea(0)!)) {
    // The baseline runs like any idea: while it holds one slot, the next ideas are prepared and
    // fill the others (strategies that want its result wait for it, as serial search does).
    progress.report({ type: 'baseline-started', seeds: config.baselineSeeds });
    scheduler.spawn(0, async () => {
      await pipeline.evaluator.evaluate(record.idea(0)!, config.baselineSeeds);
      if (record.idea(0)!.status === 'failed') throw baselineFailed(parts);
    });
  }

  // Ideas a previous process left unfinished go first, in order.
  for (const idea of record.history().slice(1)) {
    if (idea.id !== 0 && !isFinished(idea)) scheduler.spawn(idea.id, () => pipeline.prepareAndEvaluate(idea));
  }
  record.reportStatus();

  let stoppedBy: SweepSummary['stoppedBy'] | null = null;
  for (;;) {
    if (scheduler.fatal) break;
    if (signal.aborted) {
      stoppedBy = 'interrupted';
      break;
    }
    // Time and money are watched until the last evaluation ends, not only while dispatching.
    const limit = scheduler.limitReached();
    if (limit && !scheduler.draining) {
      stoppedBy = limit;
      progress.report({ type: 'stopping', reason: limit, hardStop: config.hardStop });
      scheduler.drain();
    }
    // Every `reflection.every` ideas the thinker steps back; new proposals wait for it (evaluations run on).
    if (!scheduler.draining && parts.memory.due()) {
      await parts.memory.reflect('periodic');
      continue;
    }
    // Keep enough ideas prepared that a freed slot never waits (see Scheduler.lookahead()).
    if (!scheduler.draining && record.ideasStarted() < config.ideas && scheduler.preparing < scheduler.lookahead()) {
      const proposal = deps.strategy.next(record.view());
      if (proposal) {
        pipeline.startIdea(proposal);
        continue;
      }
    }
    if (scheduler.idle) {
      stoppedBy ??= record.ideasStarted() >= config.ideas ? 'budget' : 'no-more-ideas';
      break;
    }
    await scheduler.untilSomethingChanges();
  }
  await scheduler.settle();
  // The final top ideas on the test split, on fresh seeds: not after Ctrl-C or at --max-hours
  // (`researcher confirm` runs them then), nor after a fatal error.
  const ended = stoppedBy === 'budget' || stoppedBy === 'no-more-ideas' || stoppedBy === 'max-cost';
  if (!scheduler.fatal && ended && !signal.aborted) await scoreTopIdeasOnTest(deps, record.history());
  // A sweep that ended (not one stopped by Ctrl-C or a fatal error: resume goes on with it) says what it established.
  if (!scheduler.fatal && !signal.aborted) await parts.memory.reflect('final');
  // No worktree outlives the sweep (a resumed one checks out what it needs again).
  await workspace.cleanup().catch(() => {});
  if (scheduler.fatal) {
    store.setMeta('activeMs', scheduler.activeMs());
    throw scheduler.fatal;
  }
  // Ends the sweep: unfinished ideas are put back in the queue for `resume`, the time is saved.
  requeueUnfinished(deps, record);
  store.setMeta('activeMs', scheduler.activeMs());
  record.reportStatus();
  const ideas = record.history().slice();
  return { stoppedBy: signal.aborted ? 'interrupted' : (stoppedBy ?? 'budget'), ideas, best: record.best() };
}

/** Builds the parts of one sweep from its dependencies; the search resumes from its saved state. */
function sweepParts(deps: SweepDependencies): SweepParts {
  const { store, environment, strategy, progress } = deps;
  const config = store.config;
  const perRun = environment.config.run.resources.gpus;
  const saved = store.getMeta('searchState');
  // The scheduler's callbacks name `record`, declared below: they run only once tasks end.
  const scheduler = new Scheduler({
    config,
    slots: Math.max(1, Math.min(config.parallel, deps.gpuPool.capacity(perRun))),
    activeMsBefore: store.getMeta<number>('activeMs') ?? 0,
    spentUsd: store.usage().costUsd,
    signal: deps.signal,
    onTaskFailed: (ideaId, error) => record.finishFailed(ideaId, { reason: 'infrastructure', message: describeError(error) }),
    onTaskEnded: () => record.reportStatus(),
  });
  const record = new RunRecord(store, config, environment, strategy, progress, scheduler);
  if (saved !== undefined) strategy.restoreState(saved);
  const parts = { deps, config, record, scheduler };
  return { ...parts, memory: new SweepMemory(parts) };
}

async function scoreTopIdeasOnTest(deps: SweepDependencies, history: readonly IdeaRecord[]): Promise<void> {
  const { store, environment } = deps;
  const config = store.config;
  if (!deps.testEvaluatorDir || !config.testEvaluatorHash || !environment.config.test || config.testTop === 0) return;
  const ideas = testCandidates(history, environment.config.reward.goal, config.testTop);
  if (ideas.length <= 1) return; // the baseline alone tells nothing about a choice
  deps.progress.report({
    type: 'log',
    message: `test split: scoring ${ideas.length - 1} top idea(s) and the baseline on ${config.testSeeds} fresh seed(s)`,
  });
  await scoreOnTest(
    { ...deps, testEvaluatorDir: deps.testEvaluatorDir, testEvaluatorHash: config.testEvaluatorHash },
    ideas,
    testSeeds(store, config.testSeeds),
  );
}

function baselineFailed({ record, deps }: SweepParts): BaselineFailed {
  const baseline = record.idea(0)!;
  const log = path.join(seedDir(deps.store.runDir, 0, 0), 'run.log');
  return new BaselineFailed(
    `the baseline (the unmodified code) failed: ${baseline.error} — fix the environment first (\`researcher env check\`); log: ${path.relative(process.cwd(), log)}`,
  );
}
