/**
 * The run as data: what `show --json` prints and what the report, `compare` and scripts read.
 * Shape: { run, baseline, ideas: [{ id, title, status, reward, error, parent, … }], best, usage }.
 */
import type { IdeaRecord, Usage } from '../core/types.ts';
import type { RunConfig } from '../core/run-config.ts';
import { bestFinished, isBetter, isFinished, type Goal } from '../core/ideas.ts';
import { difference, mean, std } from '../core/statistics.ts';
import { plausibilityFlags, type PlausibilityFlag } from '../core/plausibility.ts';
import { compareWithBaseline, type Noise, type NoiseComparison, type SeedRewards } from '../core/noise.ts';
import type { EvaluationRecord, RunStore } from '../store/run-store.ts';
import { runOwnerAlive } from '../store/run-owner.ts';

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
  log: string | null;
  handle: EvaluationRecord['handle'];
  startedAt: string;
  finishedAt: string | null;
}

export interface IdeaSummary {
  id: number;
  title: string;
  status: IdeaRecord['status'];
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
  /** Mean reward on the test split (fresh seeds, the test evaluator); null when not scored on test. */
  testReward: number | null;
  testRewardStd: number | null;
  testRewardCount: number;
  /** Each test seed's reward (null: that seed failed). */
  testRewards: { seed: number; reward: number | null }[];
  testEvaluations: EvaluationSummary[];
  meta: Record<string, unknown>;
  usage: Usage;
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
  run: RunConfig & { dir: string; status: 'running' | 'finished' | 'stopped'; ideasFinished: number; ideasFailed: number };
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
  goal: Goal;
}

export function summarizeRun(store: RunStore): RunSummary {
  const config = store.config;
  const goal = config.goal;
  const ideas = store.ideas();
  const evaluations = groupBy(store.evaluations(), (e) => e.ideaId);
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
      ideasFailed: finished.filter((idea) => idea.status === 'failed').length,
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
      status: idea.status,
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
      evaluations: (evaluations.get(idea.id) ?? []).map(evaluationSummary),
      ...testFields(testEvaluations.get(idea.id) ?? []),
      meta: idea.meta,
      usage: store.usage(idea.id),
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
    goal,
  };
}

function evaluationSummary(e: EvaluationRecord): EvaluationSummary {
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
    log: e.logPath,
    handle: e.handle,
    startedAt: e.startedAt,
    finishedAt: e.finishedAt,
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
    testEvaluations: finished.map(evaluationSummary),
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
