/**
 * The run as data: what `show --json` prints and what the report, `compare` and scripts read.
 * Shape: { run, baseline, ideas: [{ id, title, status, reward, error, parent, evaluations, debugRounds, smokeRuns, … }],
 * best, usage, models, notebook, reflections, execution }.
 *
 * (About 400 lines on purpose: the one shape every view reads, built in one pass over the store;
 * its judgements live elsewhere: noise.ts, plausibility.ts, execution-rate.ts, model-tally.ts.)
 */
import type { IdeaAudit, IdeaRecord, Usage } from '../core/types.ts';
import type { RunConfig } from '../core/run-config.ts';
import { bestFinished, isBetter, isFinished, isHeldBack, type Goal } from '../core/ideas.ts';
import { difference, mean, std } from '../core/statistics.ts';
import { plausibilityFlags, type PlausibilityFlag } from '../core/plausibility.ts';
import { compareWithBaseline, type Noise, type NoiseComparison, type SeedRewards } from '../core/noise.ts';
import type { EvaluationRecord, RunStore } from '../store/run-store.ts';
import { runOwnerAlive } from '../store/run-owner.ts';
import { modelTally, type ModelTally } from './model-tally.ts';
import { NOTEBOOK_META } from '../store/notebook.ts';
import type { ReflectionRecord } from '../store/reflections.ts';
import { executionRate, type ExecutionRate } from './execution-rate.ts';

export interface EvaluationSummary {
  seed: number;
  status: EvaluationRecord['status'];
  reward: number | null;
  failureReason: string | null;
  error: string | null;
  sandbox: string;
  exitCode: number | null;
  timedOut: boolean;
  oomKilled: boolean;
  durationMs: number | null;
  gpus: string[];
  /** Which of the idea's commits ran: 0 the coder's first, n the fix of debug round n. */
  attempt: number;
  log: string | null;
  handle: EvaluationRecord['handle'];
  startedAt: string;
  finishedAt: string | null;
  /** The run's learning curve (environments that declare `progress:`), as far as it got. */
  curve: { step: number; value: number; atMs: number }[];
}

/** One debug round (src/core/sweep/debug-round.ts): the failure it was given, the fix, and how the fix ran. */
export interface DebugRoundSummary {
  round: number;
  /** What failed: the attempt (round − 1), the step, the reason, the exit code, the log's tail as the coder saw it. */
  failure: {
    attempt: number;
    step: string;
    seed: number | null;
    reason: string;
    message: string;
    exitCode: number | null;
    logTail: string;
    log: string | null;
  };
  /** `coding` (in progress, or left by a killed researcher), `committed`, `coder-failed`. */
  status: string;
  coderMessage: string | null;
  edit: unknown;
  /** The fix: its commit's diff against the failed attempt. */
  diff: string | null;
  commit: string | null;
  /** How the fix ran: `executed` (to a reward), `failed` (see the next round or the idea's error), `running`, or null (no fix). */
  outcome: 'executed' | 'failed' | 'running' | null;
  startedAt: string;
  finishedAt: string | null;
}

export interface SmokeRunSummary {
  attempt: number;
  status: string;
  exitCode: number | null;
  timedOut: boolean;
  durationMs: number | null;
  message: string | null;
  log: string;
}

/**
 * An idea's status as shown: the store's, except that an idea the learning-curve rule stopped
 * (stored as failed, reason stopped-early, so that resume never retries it) is `stopped-early`:
 * a low result, not a failure.
 */
export type IdeaSummaryStatus = IdeaRecord['status'] | 'stopped-early';

export function summaryStatus(idea: Pick<IdeaRecord, 'status' | 'failureReason'>): IdeaSummaryStatus {
  return idea.status === 'failed' && idea.failureReason === 'stopped-early' ? 'stopped-early' : idea.status;
}

export interface IdeaSummary {
  id: number;
  title: string;
  status: IdeaSummaryStatus;
  reward: number | null;
  rewardStd: number | null;
  rewardCount: number;
  /**
   * reward − baseline reward, in the goal's direction (positive is better): seed by seed where
   * the idea and the baseline ran the same seeds (see core/noise.ts), else mean − mean.
   */
  improvement: number | null;
  /** The gain judged against the seed-to-seed noise (null for the baseline and unscored ideas). */
  noise: NoiseComparison | null;
  /** "Check this": a reward far outside what the run had seen (core/plausibility.ts); empty when none. */
  checks: PlausibilityFlag[];
  error: string | null;
  failureReason: string | null;
  parent: number | null;
  hypothesis: string;
  plan: string;
  expectedEffect: string;
  /** `git diff` of the idea's commit against its parent (null until its code is committed). */
  diff: string | null;
  commit: string | null;
  branch: string | null;
  createdAt: string;
  finishedAt: string | null;
  evaluations: EvaluationSummary[];
  /** Fixes of code that failed when it ran, oldest first; the idea's reward is its last attempt's. */
  debugRounds: DebugRoundSummary[];
  smokeRuns: SmokeRunSummary[];
  /** Mean reward on the test split (fresh seeds, the test evaluator); null when not scored on test. */
  testReward: number | null;
  testRewardStd: number | null;
  testRewardCount: number;
  /** Each test seed's reward (null: that seed failed). */
  testRewards: { seed: number; reward: number | null }[];
  testEvaluations: EvaluationSummary[];
  meta: Record<string, unknown>;
  usage: Usage;
  /** The auditor's review, when the idea would have become the best; null when not reviewed. */
  audit: IdeaAudit | null;
  /** Flagged by the auditor and not accepted: never the best, whatever its reward. */
  heldBack: boolean;
}

export interface TestSplitSummary {
  /** The idea chosen on validation (`best`), on test: its two rewards and the gap between them. */
  chosen: { id: number; title: string; validation: number; test: number | null; gap: number | null } | null;
  /** The idea (the baseline included) with the best test reward. */
  bestOnTest: { id: number; title: string; testReward: number } | null;
  /** The chosen idea against the baseline on the test seeds, judged like validation (core/noise.ts). */
  noise: NoiseComparison | null;
}

export interface RunSummary {
  run: RunConfig & {
    dir: string;
    status: 'running' | 'finished' | 'stopped';
    ideasFinished: number;
    /** Finished ideas that failed; those stopped early are counted apart. */
    ideasFailed: number;
    ideasStoppedEarly: number;
  };
  baseline: { reward: number | null; rewardStd: number | null; rewardCount: number; status: string; error: string | null } | null;
  ideas: IdeaSummary[];
  best: {
    id: number;
    title: string;
    reward: number;
    rewardStd: number | null;
    improvement: number | null;
    /** Whether its gain over the baseline is beyond the seed-to-seed noise (see core/noise.ts). */
    noise: Noise;
    comparison: NoiseComparison | null;
    /** Its "check this" flags (see IdeaSummary.checks). */
    checks: PlausibilityFlag[];
    /** Its reward on the test split (null: not scored on test). */
    testReward: number | null;
    /** Validation − test, in the goal's direction: how much choosing on validation overstated it. */
    testGap: number | null;
  } | null;
  /** The test split, once any idea was scored on it; null before. */
  test: TestSplitSummary | null;
  usage: Usage;
  /** Per role and model: ideas, successes, best reward, dollars (./model-tally.ts). */
  models: ModelTally[];
  goal: Goal;
  /** The lab notebook the run started from (path, hash; its text is in run.db), or null for a run recorded before notebooks. */
  notebook: { path: string; fresh: boolean; sha256: string | null } | null;
  /** The run's reflections, oldest first (src/store/reflections.ts). */
  reflections: ReflectionRecord[];
  /** The share of coded ideas whose code ran to a reward, with debug rounds and without (first attempts). */
  execution: ExecutionRate;
}

export function summarizeRun(store: RunStore): RunSummary {
  const config = store.config;
  const goal = config.goal;
  const ideas = store.ideas();
  const evaluations = groupBy(store.evaluations(), (e) => e.ideaId);
  const curves = new Map(store.curves().map((curve) => [curve.evaluationId, curve.points]));
  // Read for the report only: nothing that feeds the search reads the test split.
  const testEvaluations = groupBy(store.testEvaluations.list(), (e) => e.ideaId);
  const baseline = ideas.find((idea) => idea.id === 0) ?? null;
  const baseSeeds = seedRewards(evaluations.get(0) ?? []);
  const comparisons = new Map(
    ideas.map((idea) => [
      idea.id,
      idea.id === 0 || idea.reward === null ? null : compareWithBaseline(seedRewards(evaluations.get(idea.id) ?? []), baseSeeds, goal),
    ]),
  );
  const checks = plausibilityFlags({
    finished: ideas
      .filter((idea) => idea.status === 'succeeded' && idea.reward !== null && idea.finishedAt)
      .sort((x, y) => Date.parse(x.finishedAt!) - Date.parse(y.finishedAt!) || x.id - y.id)
      .map((idea) => ({ id: idea.id, reward: idea.reward!, rewardCount: idea.rewardCount })),
    goal,
    baselineStd: baseline && baseline.rewardCount >= 2 ? baseline.rewardStd : null,
    range: config.rewardRange,
  });
  const best = bestFinished(ideas, goal);
  const bestComparison = best ? (comparisons.get(best.id) ?? null) : null;
  const finished = ideas.filter((idea) => idea.id !== 0 && isFinished(idea));
  const running = runOwnerAlive(store) !== null;
  const allRounds = store.debugRounds();
  const rounds = groupBy(allRounds, (r) => r.ideaId);
  const smokes = groupBy(store.smokeRuns(), (r) => r.ideaId);
  /** How an attempt's code ran, from its evaluations and smoke runs. */
  const attemptOutcome = (ideaId: number, attempt: number): DebugRoundSummary['outcome'] => {
    const ran = (evaluations.get(ideaId) ?? []).filter((e) => e.attempt === attempt);
    // A run the learning-curve rule stopped ran its code (a low result), as execution-rate.ts counts it.
    if (ran.some((e) => e.status === 'succeeded' || e.failureReason === 'stopped-early')) return 'executed';
    if (ran.some((e) => e.status === 'failed')) return 'failed';
    if ((smokes.get(ideaId) ?? []).some((r) => r.attempt === attempt && r.status === 'failed')) return 'failed';
    return 'running';
  };

  const sign = goal === 'maximize' ? 1 : -1;
  const testOf = (id: number) => meanOf(testEvaluations.get(id) ?? []);
  const bestTest = best ? testOf(best.id) : null;
  const testGap = best && bestTest !== null ? sign * difference(best.reward!, bestTest) : null;

  return {
    run: {
      ...config,
      dir: store.runDir,
      status: running ? 'running' : finished.length >= config.ideas ? 'finished' : 'stopped',
      ideasFinished: finished.length,
      ideasFailed: finished.filter((idea) => summaryStatus(idea) === 'failed').length,
      ideasStoppedEarly: finished.filter((idea) => summaryStatus(idea) === 'stopped-early').length,
    },
    baseline: baseline && {
      reward: baseline.reward,
      rewardStd: baseline.rewardStd,
      rewardCount: baseline.rewardCount,
      status: baseline.status,
      error: baseline.error,
    },
    ideas: ideas.map((idea) => ({
      id: idea.id,
      title: idea.title,
      status: summaryStatus(idea),
      reward: idea.reward,
      rewardStd: idea.rewardStd,
      rewardCount: idea.rewardCount,
      improvement: idea.id === 0 ? 0 : (comparisons.get(idea.id)?.delta ?? null),
      noise: comparisons.get(idea.id) ?? null,
      checks: checks.get(idea.id) ?? [],
      error: idea.error,
      failureReason: idea.failureReason,
      parent: idea.parentId,
      hypothesis: idea.hypothesis,
      plan: idea.plan,
      expectedEffect: idea.expectedEffect,
      diff: idea.diff,
      commit: idea.commit,
      branch: idea.commit ? (idea.id === 0 ? 'base' : `idea/${idea.id}`) : null,
      createdAt: idea.createdAt,
      finishedAt: idea.finishedAt,
      evaluations: (evaluations.get(idea.id) ?? []).map((e) => evaluationSummary(e, curves.get(e.id) ?? [])),
      debugRounds: (rounds.get(idea.id) ?? []).map((r) => ({
        round: r.round,
        failure: {
          attempt: r.failure.attempt,
          step: r.failure.step,
          seed: r.failure.seed,
          reason: r.failure.reason,
          message: r.failure.message,
          exitCode: r.failure.exitCode,
          logTail: r.failure.logTail,
          log: r.failure.logPath,
        },
        status: r.status,
        coderMessage: r.coderMessage,
        edit: r.edit,
        diff: r.diff,
        commit: r.commit,
        outcome: r.status === 'committed' ? attemptOutcome(idea.id, r.round) : null,
        startedAt: r.startedAt,
        finishedAt: r.finishedAt,
      })),
      smokeRuns: (smokes.get(idea.id) ?? []).map((r) => ({
        attempt: r.attempt,
        status: r.status,
        exitCode: r.exitCode,
        timedOut: r.timedOut,
        durationMs: r.durationMs,
        message: r.message,
        log: r.logPath,
      })),
      ...testFields(testEvaluations.get(idea.id) ?? []),
      meta: idea.meta,
      usage: store.usage(idea.id),
      audit: idea.audit ?? null,
      heldBack: isHeldBack(idea),
    })),
    best: best
      ? {
          id: best.id,
          title: best.title,
          reward: best.reward!,
          rewardStd: best.rewardStd,
          improvement: best.id === 0 ? 0 : (bestComparison?.delta ?? null),
          noise: bestComparison?.noise ?? 'unknown',
          comparison: bestComparison,
          checks: checks.get(best.id) ?? [],
          testReward: bestTest,
          testGap,
        }
      : null,
    test: testSplit(ideas, testEvaluations, goal, best, bestTest, testGap),
    usage: store.usage(),
    models: modelTally(ideas, store.modelCallTotals(), goal),
    goal,
    notebook: notebookSeen(store),
    reflections: store.reflections(),
    execution: executionRate(ideas, allRounds),
  };
}

function notebookSeen(store: RunStore): RunSummary['notebook'] {
  const seen = store.getMeta<{ path: string; fresh: boolean; sha256: string | null }>(NOTEBOOK_META);
  return seen ? { path: seen.path, fresh: seen.fresh, sha256: seen.sha256 } : null;
}

/** An evaluation as `show --json` gives it; `curve`: its learning curve (test-split runs have none the report reads). */
function evaluationSummary(e: EvaluationRecord, curve: EvaluationSummary['curve'] = []): EvaluationSummary {
  return {
    seed: e.seed,
    status: e.status,
    reward: e.reward,
    failureReason: e.failureReason,
    error: e.error,
    sandbox: e.sandbox,
    exitCode: e.exitCode,
    timedOut: e.timedOut,
    oomKilled: e.oomKilled,
    durationMs: e.durationMs,
    gpus: e.gpus,
    attempt: e.attempt,
    log: e.logPath,
    handle: e.handle,
    startedAt: e.startedAt,
    finishedAt: e.finishedAt,
    curve,
  };
}

/** Mean of the successful rewards; null when there is none. */
function meanOf(evaluations: readonly EvaluationRecord[]): number | null {
  const rewards = evaluations.filter((e) => e.status === 'succeeded' && e.reward !== null).map((e) => e.reward!);
  return rewards.length ? mean(rewards) : null;
}

function testFields(
  evaluations: readonly EvaluationRecord[],
): Pick<IdeaSummary, 'testReward' | 'testRewardStd' | 'testRewardCount' | 'testRewards' | 'testEvaluations'> {
  const finished = evaluations.filter((e) => e.status !== 'running');
  const rewards = finished.filter((e) => e.status === 'succeeded' && e.reward !== null).map((e) => e.reward!);
  return {
    testReward: rewards.length ? mean(rewards) : null,
    testRewardStd: rewards.length ? std(rewards) : null,
    testRewardCount: rewards.length,
    testRewards: finished.map((e) => ({ seed: e.seed, reward: e.status === 'succeeded' ? e.reward : null })),
    testEvaluations: finished.map((e) => evaluationSummary(e)),
  };
}

function testSplit(
  ideas: readonly IdeaRecord[],
  testEvaluations: Map<number, EvaluationRecord[]>,
  goal: Goal,
  best: IdeaRecord | undefined,
  bestTest: number | null,
  gap: number | null,
): TestSplitSummary | null {
  if (testEvaluations.size === 0) return null;
  let bestOnTest: TestSplitSummary['bestOnTest'] = null;
  for (const idea of ideas) {
    const reward = meanOf(testEvaluations.get(idea.id) ?? []);
    if (reward !== null && (!bestOnTest || isBetter(reward, bestOnTest.testReward, goal))) {
      bestOnTest = { id: idea.id, title: idea.title, testReward: reward };
    }
  }
  const noise =
    best && best.id !== 0
      ? compareWithBaseline(seedRewards(testEvaluations.get(best.id) ?? []), seedRewards(testEvaluations.get(0) ?? []), goal)
      : null;
  return {
    chosen: best ? { id: best.id, title: best.title, validation: best.reward!, test: bestTest, gap } : null,
    bestOnTest,
    noise,
  };
}

/** An idea's successful rewards by seed. */
function seedRewards(evaluations: readonly EvaluationRecord[]): SeedRewards {
  return new Map(evaluations.filter((e) => e.status === 'succeeded' && e.reward !== null).map((e) => [e.seed, e.reward!]));
}

function groupBy<T, K>(items: T[], key: (item: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const item of items) {
    const k = key(item);
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k)!.push(item);
  }
  return groups;
}
