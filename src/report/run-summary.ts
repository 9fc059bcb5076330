/**
 * The run as data: what `show --json` prints and what the report, `compare` and scripts read.
 * Shape: { run, baseline, ideas: [{ id, title, status, reward, error, parent, … }], best, usage, models, notebook, reflections }.
 */
import type { IdeaAudit, IdeaRecord, Usage } from '../core/types.ts';
import type { RunConfig } from '../core/run-config.ts';
import { bestFinished, isFinished, isHeldBack, type Goal } from '../core/ideas.ts';
import { difference } from '../core/statistics.ts';
import type { EvaluationRecord, RunStore } from '../store/run-store.ts';
import { runOwnerAlive } from '../store/run-owner.ts';
import { modelTally, type ModelTally } from './model-tally.ts';
import { NOTEBOOK_META } from '../store/notebook.ts';
import type { ReflectionRecord } from '../store/reflections.ts';

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
  /** The run's learning curve (environments that declare `progress:`), as far as it got. */
  curve: { step: number; value: number; atMs: number }[];
}

export interface IdeaSummary {
  id: number;
  title: string;
  status: IdeaRecord['status'];
  reward: number | null;
  rewardStd: number | null;
  rewardCount: number;
  /** reward − baseline reward, in the goal's direction (positive is better). */
  improvement: number | null;
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
  /** The auditor's review, when the idea would have become the best; null when not reviewed. */
  audit: IdeaAudit | null;
  /** Flagged by the auditor and not accepted: never the best, whatever its reward. */
  heldBack: boolean;
}

export interface RunSummary {
  run: RunConfig & { dir: string; status: 'running' | 'finished' | 'stopped'; ideasFinished: number; ideasFailed: number };
  baseline: { reward: number | null; rewardStd: number | null; rewardCount: number; status: string; error: string | null } | null;
  ideas: IdeaSummary[];
  best: { id: number; title: string; reward: number; rewardStd: number | null; improvement: number | null } | null;
  usage: Usage;
  /** Per role and model: ideas, successes, best reward, dollars (./model-tally.ts). */
  models: ModelTally[];
  goal: Goal;
  /** The lab notebook the run started from (path, hash; its text is in run.db), or null for a run recorded before notebooks. */
  notebook: { path: string; fresh: boolean; sha256: string | null } | null;
  /** The run's reflections, oldest first (src/store/reflections.ts). */
  reflections: ReflectionRecord[];
}

export function summarizeRun(store: RunStore): RunSummary {
  const config = store.config;
  const goal = config.goal;
  const ideas = store.ideas();
  const evaluations = groupBy(store.evaluations(), (e) => e.ideaId);
  const curves = new Map(store.curves().map((curve) => [curve.evaluationId, curve.points]));
  const baseline = ideas.find((idea) => idea.id === 0) ?? null;
  const sign = goal === 'maximize' ? 1 : -1;
  const improvement = (reward: number | null) =>
    reward === null || baseline?.reward === null || baseline?.reward === undefined ? null : sign * difference(reward, baseline.reward);
  const best = bestFinished(ideas, goal);
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
      improvement: idea.id === 0 ? 0 : improvement(idea.reward),
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
        curve: curves.get(e.id) ?? [],
      })),
      meta: idea.meta,
      usage: store.usage(idea.id),
      audit: idea.audit ?? null,
      heldBack: isHeldBack(idea),
    })),
    best: best
      ? { id: best.id, title: best.title, reward: best.reward!, rewardStd: best.rewardStd, improvement: improvement(best.reward) }
      : null,
    usage: store.usage(),
    models: modelTally(ideas, store.modelCallTotals(), goal),
    goal,
    notebook: notebookSeen(store),
    reflections: store.reflections(),
  };
}

function notebookSeen(store: RunStore): RunSummary['notebook'] {
  const seen = store.getMeta<{ path: string; fresh: boolean; sha256: string | null }>(NOTEBOOK_META);
  return seen ? { path: seen.path, fresh: seen.fresh, sha256: seen.sha256 } : null;
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
