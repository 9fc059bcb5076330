/**
 * What the report shows, computed once from the run summary (the `show --json` shape) so that
 * report.html, summary.md and the live view all say the same thing: the timeline of evaluations,
 * the best-so-far curve, the noise judgement, the lineage tree, the learning curves (curve-model.ts)
 * and the run's totals.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { isBetter, isFinished } from '../core/ideas.ts';
import { readFileNoFollow } from '../reward/safe-read.ts';
import { attemptSeedDir } from '../store/idea-files.ts';
import type { EvaluationCurve } from '../store/tables.ts';
import { buildCurvesModel, type CurvesModel } from './curve-model.ts';
import { rankedIdeas } from './leaderboard.ts';
import type { EvaluationSummary, IdeaSummary, RunSummary } from './run-summary.ts';

/** One finished evaluation (one seed of one idea) on the reward-over-time plot. */
export interface TimelinePoint {
  ideaId: number;
  title: string;
  seed: number;
  /** Milliseconds since the run started. */
  atMs: number;
  reward: number | null;
  failureReason: string | null;
}

/** An idea that failed before any evaluation (agent error, patch failed, refused, …). */
export interface EarlyFailure {
  ideaId: number;
  title: string;
  atMs: number;
  failureReason: string;
}

/** The best idea-mean reward known at a moment of the run. */
export interface BestStep {
  atMs: number;
  reward: number;
  ideaId: number;
}

/**
 * How an idea's mean compares with the baseline's, given the seed-to-seed noise (core/noise.ts):
 * - better / worse: the difference is beyond noise;
 * - within-noise: it is not;
 * - unknown: the noise was not measured (the baseline ran with one seed).
 */
export type Verdict = 'better' | 'worse' | 'within-noise' | 'unknown';

export interface IdeaView extends IdeaSummary {
  rank: number | null;
  verdict: Verdict;
  /** improvement ÷ its standard error, when known. */
  signalToNoise: number | null;
  computeMs: number;
  gpuMs: number;
  /** Last lines of the log most worth reading: the failing evaluation's, else the last one's. */
  logTail: { seed: number; file: string; text: string; evaluatorText: string | null } | null;
  isBest: boolean;
}

export interface LineageNode {
  idea: IdeaView;
  children: LineageNode[];
}

export interface Totals {
  /** Ideas recorded, the baseline not counted. */
  tried: number;
  succeeded: number;
  failed: number;
  /** Stopped by the learning-curve rule: low results, not failures. */
  stoppedEarly: number;
  /** Still being proposed, coded or run. */
  unfinished: number;
  failedByReason: [reason: string, count: number][];
  evaluations: number;
  /** Sandbox wall time of every evaluation, in hours. */
  computeHours: number;
  /** Sandbox wall time × GPUs held, in hours. */
  gpuHours: number;
  inputTokens: number;
  cachedTokens: number;
  outputTokens: number;
  costUsd: number;
  /** From the run's start to its last finished evaluation or idea. */
  elapsedMs: number;
}

export interface ReportModel {
  summary: RunSummary;
  startedAtMs: number;
  ideas: IdeaView[];
  /** Leaderboard order: best first, unscored last. */
  ranked: IdeaView[];
  best: IdeaView | null;
  baseline: IdeaView | null;
  points: TimelinePoint[];
  earlyFailures: EarlyFailure[];
  bestSoFar: BestStep[];
  lineage: LineageNode[];
  /** True when some idea was built on another idea (serial --build-on best, evolutionary search). */
  hasChains: boolean;
  totals: Totals;
  /** The learning curves the runs reported (empty when the environment declares no progress). */
  curves: CurvesModel;
  generatedAt: string;
}

const LOG_TAIL_LINES = 40;
const LOG_TAIL_BYTES = 64 * 1024;

export function buildReportModel(summary: RunSummary, options: { now?: Date; curves?: readonly EvaluationCurve[] } = {}): ReportModel {
  const runDir = summary.run.dir;
  const goal = summary.goal;
  const times = summary.ideas.flatMap((idea) => [idea.createdAt, ...idea.evaluations.map((e) => e.startedAt)]);
  const startedAtMs = Math.min(Date.parse(summary.run.createdAt), ...times.map((t) => Date.parse(t)).filter(Number.isFinite));
  const since = (iso: string) => Date.parse(iso) - startedAtMs;

  const baselineIdea = summary.ideas.find((idea) => idea.id === 0) ?? null;
  const ranking = rankedIdeas(summary).filter((idea) => idea.reward !== null);
  const rankOf = new Map(ranking.map((idea, i) => [idea.id, i + 1]));

  const views = summary.ideas.map((idea): IdeaView => {
    const finished = idea.evaluations.filter((e) => e.status !== 'running');
    const computeMs = finished.reduce((sum, e) => sum + (e.durationMs ?? 0), 0);
    const gpuMs = finished.reduce((sum, e) => sum + (e.durationMs ?? 0) * e.gpus.length, 0);
    const { verdict, signalToNoise } = judge(idea);
    return {
      ...idea,
      rank: rankOf.get(idea.id) ?? null,
      verdict,
      signalToNoise,
      computeMs,
      gpuMs,
      logTail: pickLogTail(runDir, idea),
      isBest: summary.best?.id === idea.id,
    };
  });
  const byId = new Map(views.map((view) => [view.id, view]));
  const ranked = rankedIdeas({ ...summary, ideas: views }).map((idea) => byId.get(idea.id)!);

  const points: TimelinePoint[] = [];
  const earlyFailures: EarlyFailure[] = [];
  for (const idea of views) {
    const finished = idea.evaluations.filter((e) => e.status !== 'running' && e.finishedAt);
    for (const e of finished) {
      points.push({
        ideaId: idea.id,
        title: idea.title,
        seed: e.seed,
        atMs: since(e.finishedAt!),
        reward: e.status === 'succeeded' ? e.reward : null,
        failureReason: e.status === 'failed' ? (e.failureReason ?? 'failed') : null,
      });
    }
    if (idea.status === 'failed' && finished.length === 0 && idea.finishedAt) {
      earlyFailures.push({
        ideaId: idea.id,
        title: idea.title,
        atMs: since(idea.finishedAt),
        failureReason: idea.failureReason ?? 'failed',
      });
    }
  }
  points.sort((a, b) => a.atMs - b.atMs || a.ideaId - b.ideaId || a.seed - b.seed);

  const bestSoFar: BestStep[] = [];
  const scoredInOrder = views
    .filter((idea) => idea.reward !== null && idea.finishedAt)
    .sort((a, b) => Date.parse(a.finishedAt!) - Date.parse(b.finishedAt!) || a.id - b.id);
  for (const idea of scoredInOrder) {
    if (idea.heldBack) continue; // flagged by the auditor: never the best
    const current = bestSoFar[bestSoFar.length - 1];
    if (!current || isBetter(idea.reward!, current.reward, goal)) {
      bestSoFar.push({ atMs: since(idea.finishedAt!), reward: idea.reward!, ideaId: idea.id });
    }
  }

  const lastMoment = Math.max(
    0,
    ...points.map((p) => p.atMs),
    ...earlyFailures.map((f) => f.atMs),
    ...views.filter((v) => v.finishedAt).map((v) => since(v.finishedAt!)),
  );

  return {
    summary,
    startedAtMs,
    ideas: views,
    ranked,
    best: summary.best ? (byId.get(summary.best.id) ?? null) : null,
    baseline: baselineIdea ? byId.get(0)! : null,
    points,
    earlyFailures,
    bestSoFar,
    lineage: buildLineage(views),
    hasChains: views.some((idea) => idea.parent !== null && idea.parent !== 0),
    totals: totalsOf(summary, views, points.length, lastMoment),
    curves: buildCurvesModel(options.curves ?? [], summary.ideas),
    generatedAt: (options.now ?? new Date()).toISOString(),
  };
}

/** The report's word for an idea's noise judgement (core/noise.ts decides; this only names it). */
export function judge(idea: Pick<IdeaSummary, 'id' | 'noise'>): { verdict: Verdict; signalToNoise: number | null } {
  const noise = idea.noise;
  if (idea.id === 0 || !noise || noise.noise === 'unknown') return { verdict: 'unknown', signalToNoise: null };
  if (noise.noise === 'within') return { verdict: 'within-noise', signalToNoise: noise.ratio };
  return { verdict: noise.delta > 0 ? 'better' : 'worse', signalToNoise: noise.ratio };
}

function buildLineage(views: IdeaView[]): LineageNode[] {
  const nodes = new Map(views.map((idea) => [idea.id, { idea, children: [] as LineageNode[] }]));
  const roots: LineageNode[] = [];
  for (const idea of views) {
    if (idea.id === 0) continue; // the baseline is the root itself: the base commit
    const parent = idea.parent === null || idea.parent === 0 ? undefined : nodes.get(idea.parent);
    (parent ? parent.children : roots).push(nodes.get(idea.id)!);
  }
  return roots;
}

function totalsOf(summary: RunSummary, views: IdeaView[], evaluations: number, elapsedMs: number): Totals {
  const ideas = views.filter((idea) => idea.id !== 0);
  const failedByReason = new Map<string, number>();
  for (const idea of ideas) {
    if (idea.status !== 'failed') continue;
    const reason = idea.failureReason ?? 'unknown';
    failedByReason.set(reason, (failedByReason.get(reason) ?? 0) + 1);
  }
  const hour = 3_600_000;
  return {
    tried: ideas.length,
    succeeded: ideas.filter((idea) => idea.status === 'succeeded').length,
    failed: ideas.filter((idea) => idea.status === 'failed').length,
    stoppedEarly: ideas.filter((idea) => idea.status === 'stopped-early').length,
    unfinished: ideas.filter((idea) => !isFinished(idea)).length,
    failedByReason: [...failedByReason].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])),
    evaluations,
    computeHours: views.reduce((sum, idea) => sum + idea.computeMs, 0) / hour,
    gpuHours: views.reduce((sum, idea) => sum + idea.gpuMs, 0) / hour,
    inputTokens: summary.usage.inputTokens,
    cachedTokens: summary.usage.cachedTokens,
    outputTokens: summary.usage.outputTokens,
    costUsd: summary.usage.costUsd,
    elapsedMs,
  };
}

/** The log a reader wants first: a failed evaluation's (that is where the traceback is), else the last one. */
function pickLogTail(runDir: string, idea: IdeaSummary): IdeaView['logTail'] {
  // The last attempt's: after a debug round, the traceback it fixed is with the round.
  const attempt = Math.max(0, ...idea.evaluations.map((e) => e.attempt ?? 0));
  const finished = idea.evaluations.filter((e) => e.status !== 'running' && (e.attempt ?? 0) === attempt);
  const chosen =
    finished.find((e) => e.status === 'failed') ?? finished[finished.length - 1] ?? idea.evaluations[idea.evaluations.length - 1];
  if (!chosen) return null;
  const file = logFile(runDir, idea.id, chosen);
  if (!file) return null;
  const evaluatorProblem =
    chosen.status === 'failed' && ['no-metric', 'bad-metric', 'evaluator-failed'].includes(chosen.failureReason ?? '');
  const evaluatorLog = path.join(attemptSeedDir(runDir, idea.id, chosen.seed, chosen.attempt ?? 0), 'eval', 'evaluate.log');
  return {
    seed: chosen.seed,
    file: path.relative(runDir, file),
    text: tailOf(file),
    evaluatorText: evaluatorProblem && existsSync(evaluatorLog) ? tailOf(evaluatorLog) : null,
  };
}

/** The evaluation's log: where the store says, or where it lives in this run folder if the run was moved. */
function logFile(runDir: string, ideaId: number, evaluation: EvaluationSummary): string | null {
  const local = path.join(attemptSeedDir(runDir, ideaId, evaluation.seed, evaluation.attempt ?? 0), 'run.log');
  if (existsSync(local)) return local;
  if (evaluation.log && existsSync(evaluation.log)) return evaluation.log;
  return null;
}

/**
 * The last lines of a file, reading only its end (logs of long trainings are large), and never
 * through a link or from a fifo a run step may have left in its place.
 */
export function tailOf(file: string, lines = LOG_TAIL_LINES): string {
  const read = readFileNoFollow(file, { maxBytes: LOG_TAIL_BYTES, overflow: 'tail' }, path.basename(file));
  if (!read.ok) return `(${read.message})`;
  let text = read.text;
  if (read.dropped > 0) text = text.slice(text.indexOf('\n') + 1); // drop the partial first line
  // Progress bars rewrite one line with carriage returns: keep what the terminal would show.
  const shown = text.split('\n').map((line) => line.slice(line.lastIndexOf('\r', line.length - 2) + 1).replace(/\r$/, ''));
  while (shown.length && shown[shown.length - 1].trim() === '') shown.pop();
  return shown.slice(-lines).join('\n');
}
