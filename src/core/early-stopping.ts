/**
 * The early-stopping rule: whether a run that is still going can no longer win, judged from its
 * learning curve against the curves of finished runs at the same step. Pure: it sees curves and
 * returns a decision with its reason; the sweep (./sweep/run-progress.ts) stops the run.
 *
 * The rule (`margin`): once the run is past a grace fraction of the full run's steps, its value
 * at its latest step s (the mean of its points in a window before s, so one noisy step decides
 * nothing) is compared with the best level finished runs had at s: the baseline's seeds (their
 * mean) and the best finished ideas (each idea's mean over its seeds). The run is stopped when
 * it is below that level by more than k times the noise: the spread of the baseline's seeds at s
 * (or, with a single baseline seed, the step-to-step spread of its curve around s, as the noise
 * of comparing two window means). With no finished reference reaching s, or no measure of noise,
 * nothing is stopped: the rule only acts on evidence. Nor is a run stopped in its last tenth
 * (STOP_BEFORE): that would save little time and lose the run's real reward.
 */
import { UsageError } from './errors.ts';
import type { Goal } from './ideas.ts';
import { mean, std } from './statistics.ts';

export interface EarlyStopRule {
  kind: 'margin';
  /** How many noise units below the reference level a run must be to be stopped. */
  k: number;
  /** Fraction of the full run's steps before which no run is stopped. */
  grace: number;
  /** Width of the smoothing window, as a fraction of the full run's steps. */
  window: number;
}

/** Past this fraction of the full run's steps no run is stopped (a grpo-torch sweep stopped runs at step 58 of 60). */
export const STOP_BEFORE = 0.9;

export const DEFAULT_EARLY_STOP: EarlyStopRule = { kind: 'margin', k: 2, grace: 0.25, window: 0.1 };

/** What `--early-stop` accepts. */
export const EARLY_STOP_HELP = 'off, on (margin:k=2,grace=0.25,window=0.1) or margin:k=K,grace=G,window=W';

/**
 * `--early-stop off | on | margin[:k=…,grace=…,window=…]`: null is off. The default (`on`) is
 * what the early-stopping benchmark (`npm run bench -- early-stop`) measured.
 */
export function parseEarlyStop(text: string): EarlyStopRule | null {
  const trimmed = text.trim();
  if (trimmed === 'off') return null;
  if (trimmed === 'on' || trimmed === 'auto') return { ...DEFAULT_EARLY_STOP };
  const [name, settings = ''] = trimmed.split(':', 2);
  if (name !== 'margin') throw new UsageError(`--early-stop expects ${EARLY_STOP_HELP}, got "${text}"`);
  const rule: EarlyStopRule = { ...DEFAULT_EARLY_STOP };
  for (const part of settings.split(',').filter(Boolean)) {
    const [key, value] = part.split('=', 2);
    const number = Number(value);
    if (value === undefined || value.trim() === '' || !Number.isFinite(number))
      throw new UsageError(`--early-stop: "${part}" should be key=number (${EARLY_STOP_HELP})`);
    if (key === 'k') {
      if (number < 0) throw new UsageError('--early-stop: k must be 0 or more');
      rule.k = number;
    } else if (key === 'grace') {
      // Past STOP_BEFORE nothing is stopped, so a grace there would turn the rule off unsaid.
      if (number < 0 || number >= STOP_BEFORE)
        throw new UsageError(
          `--early-stop: grace is a fraction of the run, from 0 up to (not including) ${STOP_BEFORE}, after which no run is stopped; --early-stop off turns the rule off`,
        );
      rule.grace = number;
    } else if (key === 'window') {
      if (number <= 0 || number > 1) throw new UsageError('--early-stop: window is a fraction of the run, above 0 and at most 1');
      rule.window = number;
    } else throw new UsageError(`--early-stop: unknown setting "${key}" (${EARLY_STOP_HELP})`);
  }
  return rule;
}

/** The rule as `--early-stop` would take it back (shown by `show`, stored in the run). */
export function formatEarlyStop(rule: EarlyStopRule | null): string {
  return rule === null ? 'off' : `margin:k=${rule.k},grace=${rule.grace},window=${rule.window}`;
}

export interface CurvePoint {
  step: number;
  value: number;
}

/** Finished runs a running one is compared with. */
export interface StopReferences {
  /** The baseline's finished seeds' curves. */
  baseline: readonly (readonly CurvePoint[])[];
  /** The best finished ideas, each with its seeds' curves. */
  leaders: readonly { ideaId: number; curves: readonly (readonly CurvePoint[])[] }[];
}

export type StopDecision =
  | { stop: false }
  | {
      stop: true;
      /** The run's step the decision was taken at, its smoothed value there, and what it was held against. */
      step: number;
      value: number;
      reference: number;
      threshold: number;
      /** One sentence, for the record and the thinker. */
      reason: string;
    };

/**
 * Whether `run` (points in the order they came) should be stopped now. `steps` is the step a
 * full run reaches; `goal` says which way the curve's value should go.
 */
export function earlyStopDecision(
  rule: EarlyStopRule,
  progress: { steps: number; goal: Goal },
  run: readonly CurvePoint[],
  references: StopReferences,
): StopDecision {
  if (run.length === 0) return { stop: false };
  const { steps, goal } = progress;
  const step = run[run.length - 1].step;
  if (!(step >= rule.grace * steps) || step > STOP_BEFORE * steps) return { stop: false };
  const width = Math.max(rule.window * steps, Number.MIN_VALUE);
  const value = windowMean(run, step, width);
  if (value === null) return { stop: false };

  const baseline = references.baseline.map((curve) => windowMean(curve, step, width)).filter((v): v is number => v !== null);
  if (baseline.length === 0) return { stop: false };
  const noise =
    baseline.length >= 2
      ? std(baseline)
      : windowNoise(
          references.baseline.find((c) => windowMean(c, step, width) !== null)!,
          step,
          width,
        );
  if (noise === null || !Number.isFinite(noise)) return { stop: false };

  const sign = goal === 'maximize' ? 1 : -1;
  let reference = mean(baseline);
  let holder = baseline.length > 1 ? `the baseline's ${baseline.length} seeds` : 'the baseline';
  for (const leader of references.leaders) {
    const values = leader.curves.map((curve) => windowMean(curve, step, width)).filter((v): v is number => v !== null);
    if (values.length === 0) continue;
    const level = mean(values);
    if (sign * (level - reference) > 0) {
      reference = level;
      holder = `idea ${leader.ideaId}`;
    }
  }
  const threshold = reference - sign * rule.k * noise;
  if (!(sign * (value - threshold) < 0)) return { stop: false };
  const stepText = `${formatNumber(step)} of ${formatNumber(steps)}`;
  return {
    stop: true,
    step,
    value,
    reference,
    threshold,
    reason:
      `stopped early at step ${stepText}: its progress value ${formatNumber(value)} was ${goal === 'maximize' ? 'below' : 'above'} ` +
      `${formatNumber(threshold)}, i.e. ${formatNumber(rule.k)}×${formatNumber(noise)} (${baseline.length >= 2 ? "the baseline's seed spread" : "the spread of the baseline's curve there"}) ` +
      `${goal === 'maximize' ? 'under' : 'over'} the ${formatNumber(reference)} ${holder} reached at that step`,
  };
}

/**
 * The mean of a curve's points with step in (at − width, at]; when there are none, the value of
 * its last point at or before `at` (a curve logged sparsely); null when the curve has no point
 * up to `at` or ends before the window (a reference that never got this far says nothing).
 */
export function windowMean(curve: readonly CurvePoint[], at: number, width: number): number | null {
  const inWindow: number[] = [];
  let last: CurvePoint | null = null;
  let reaches = false;
  for (const point of curve) {
    if (point.step >= at) reaches = true;
    if (point.step > at) continue;
    if (point.step > at - width) inWindow.push(point.value);
    if (last === null || point.step >= last.step) last = point;
  }
  if (!reaches) return null;
  if (inWindow.length > 0) return mean(inWindow);
  return last === null ? null : last.value;
}

/**
 * The noise of comparing two window means of single runs, from one curve: the spread of its
 * points in the window times √(2/n); null with fewer than two points there.
 */
function windowNoise(curve: readonly CurvePoint[], at: number, width: number): number | null {
  const values = curve.filter((point) => point.step <= at && point.step > at - width).map((point) => point.value);
  if (values.length < 2) return null;
  return std(values) * Math.sqrt(2 / values.length);
}

function formatNumber(x: number): string {
  return String(Number(x.toPrecision(4)));
}
