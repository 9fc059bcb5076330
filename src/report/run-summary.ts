/**
 * The run as data: what `show --json` prints and what the report, `compare` and scripts read.
 * Shape: { run, baseline, ideas: [{ id, title, status, reward, error, parent, … }], best, usage }.
 */
import type { IdeaRecord, Usage } from '../core/types.ts';
import type { RunConfig } from '../core/run-config.ts';
import { bestFinished, isFinished, type Goal } from '../core/ideas.ts';
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
  meta: Record<string, unknown>;
  usage: Usage;
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
  } | null;
  usage: Usage;
  goal: Goal;
}

export function summarizeRun(store: RunStore): RunSummary {
  const config = store.config;
  const goal = config.goal;
  const ideas = store.ideas();
  const evaluations = groupBy(store.evaluations(), (e) => e.ideaId);
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
      evaluations: (evaluations.get(idea.id) ?? []).map((e) => ({
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
      })),
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
        }
      : null,
    usage: store.usage(),
    goal,
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
