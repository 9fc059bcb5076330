/**
 * The one definition of "beyond noise": whether an idea's difference from the baseline is larger
 * than what the seeds alone make. The CLI's closing line, `show`, report.html, summary.md and
 * `compare` all judge with `compareWithBaseline`, so they never disagree about a win.
 *
 * Ideas are compared with the baseline seed by seed where both ran the same seeds (paired): a
 * seed's data order or initialisation moves both alike, so the difference per seed is what the
 * change did. Only without shared seeds are the two means compared. A gain is beyond noise when
 * it is outside the 95% two-sided Student t interval of its standard error: with 3 seeds (2
 * degrees of freedom) that is 4.3 standard errors, not 2, because 3 seeds estimate the noise
 * itself poorly.
 */
import { formatNumber, signed } from './format.ts';
import type { Goal } from './ideas.ts';
import { difference, mean, std } from './statistics.ts';

export type Noise = 'beyond' | 'within' | 'unknown';

/** An idea's (or the baseline's) successful rewards by seed. */
export type SeedRewards = ReadonlyMap<number, number>;

export interface NoiseComparison {
  noise: Noise;
  /** Idea − baseline in the goal's direction (positive is better): per seed where seeds match. */
  delta: number;
  /** Standard error of `delta`; null when the noise was not measured. */
  standardError: number | null;
  /** delta ÷ standardError (clamped finite); null when unknown or when the standard error is 0. */
  ratio: number | null;
  /** How many standard errors "beyond noise" takes here (the t quantile for these seeds). */
  threshold: number | null;
  /** Seeds compared pairwise (0: the means were compared). */
  pairedSeeds: number;
  /** What was compared: per seed, one shared seed, the two means, or two runs' gains over their own baselines. */
  basis: 'paired' | 'one-seed' | 'means' | 'gains';
}

/** 95% two-sided Student t quantiles by degrees of freedom; between entries the lower one's (stricter) value. */
const T_975: [df: number, t: number][] = [
  [1, 12.706],
  [2, 4.303],
  [3, 3.182],
  [4, 2.776],
  [5, 2.571],
  [6, 2.447],
  [7, 2.365],
  [8, 2.306],
  [9, 2.262],
  [10, 2.228],
  [12, 2.179],
  [15, 2.131],
  [20, 2.086],
  [30, 2.042],
  [60, 2.0],
  [120, 1.98],
];

export function tThreshold(degreesOfFreedom: number): number {
  let t = T_975[0][1];
  for (const [df, value] of T_975) if (degreesOfFreedom >= df) t = value;
  return degreesOfFreedom >= 1000 ? 1.96 : t;
}

/**
 * Compares an idea's rewards with the baseline's. Paired over the shared seeds when there are
 * two or more; with one shared seed and a one-seed idea, that seed's difference, as noisy as two
 * draws of the baseline; otherwise the difference of the means. Unknown when the baseline's
 * spread was not measured (one seed) and no pairs measure it either.
 */
export function compareWithBaseline(idea: SeedRewards, baseline: SeedRewards, goal: Goal): NoiseComparison | null {
  if (idea.size === 0 || baseline.size === 0) return null;
  const sign = goal === 'maximize' ? 1 : -1;
  const shared = [...idea.keys()].filter((seed) => baseline.has(seed)).sort((a, b) => a - b);
  if (shared.length >= 2) {
    const differences = shared.map((seed) => sign * difference(idea.get(seed)!, baseline.get(seed)!));
    const delta = mean(differences);
    return judged(delta, std(differences) / Math.sqrt(shared.length), shared.length - 1, shared.length, 'paired');
  }
  const base = [...baseline.values()];
  const own = [...idea.values()];
  const baseStd = std(base);
  if (shared.length === 1 && own.length === 1) {
    const delta = sign * difference(own[0], baseline.get(shared[0])!);
    if (base.length < 2) return unknown(delta, 1, 'one-seed');
    // One draw of the idea minus one draw of the baseline: twice the baseline's variance.
    return judged(delta, Math.hypot(baseStd, baseStd), base.length - 1, 1, 'one-seed');
  }
  const delta = sign * difference(mean(own), mean(base));
  if (base.length < 2) return unknown(delta, 0, 'means');
  // A one-seed idea's own spread is unknown: assume it is as noisy as the baseline.
  const ownStd = own.length >= 2 ? std(own) : baseStd;
  // hypot, not the square root of a sum of squares: a spread of 1e200 must not overflow.
  const standardError = Math.hypot(baseStd / Math.sqrt(base.length), ownStd / Math.sqrt(own.length));
  const degrees = own.length >= 2 ? welchDegrees(baseStd, base.length, ownStd, own.length) : base.length - 1;
  return judged(delta, standardError, degrees, 0, 'means');
}

function judged(
  delta: number,
  standardError: number,
  degrees: number,
  pairedSeeds: number,
  basis: NoiseComparison['basis'],
): NoiseComparison {
  return judgedAt(delta, standardError, tThreshold(degrees), pairedSeeds, basis);
}

function judgedAt(
  delta: number,
  standardError: number,
  threshold: number,
  pairedSeeds: number,
  basis: NoiseComparison['basis'],
): NoiseComparison {
  // hypot of two spreads near the largest double does not fit one: clamp, as statistics.ts does.
  standardError = Math.min(standardError, Number.MAX_VALUE);
  if (standardError === 0) {
    // No spread at all (deterministic rewards): any difference is the change's.
    return { noise: delta === 0 ? 'within' : 'beyond', delta, standardError, ratio: delta === 0 ? 0 : null, threshold, pairedSeeds, basis };
  }
  // Clamped: a gain of 1e308 over a spread of 0.03 is beyond noise, not Infinity× it.
  const ratio = Math.max(-Number.MAX_VALUE, Math.min(Number.MAX_VALUE, delta / standardError));
  return { noise: Math.abs(ratio) > threshold ? 'beyond' : 'within', delta, standardError, ratio, threshold, pairedSeeds, basis };
}

function unknown(delta: number, pairedSeeds: number, basis: NoiseComparison['basis']): NoiseComparison {
  return { noise: 'unknown', delta, standardError: null, ratio: null, threshold: null, pairedSeeds, basis };
}

/**
 * Two runs' best ideas, each judged against its own baseline: is A's gain beyond B's? Gains, not
 * rewards, so that two baselines of the same code that drifted apart (another machine, another
 * day) do not decide the race; the threshold is the stricter of the two.
 */
export function compareGains(a: NoiseComparison, b: NoiseComparison): NoiseComparison {
  const delta = difference(a.delta, b.delta);
  if (a.standardError === null || b.standardError === null || a.threshold === null || b.threshold === null) {
    return unknown(delta, 0, 'gains');
  }
  return judgedAt(delta, Math.hypot(a.standardError, b.standardError), Math.max(a.threshold, b.threshold), 0, 'gains');
}

/** Welch–Satterthwaite degrees of freedom of a difference of two means (rounded down). */
function welchDegrees(s1: number, n1: number, s2: number, n2: number): number {
  const a = (s1 * s1) / n1;
  const b = (s2 * s2) / n2;
  if (!Number.isFinite(a) || !Number.isFinite(b) || a + b === 0) return Math.min(n1, n2) - 1;
  const df = (a + b) ** 2 / ((a * a) / (n1 - 1) + (b * b) / (n2 - 1));
  return Number.isFinite(df) ? Math.max(1, Math.floor(df)) : Math.min(n1, n2) - 1;
}

/** Whether a comparison supports announcing a win: better than the baseline, beyond noise. */
export function isWin(comparison: NoiseComparison | null | undefined): boolean {
  return comparison?.noise === 'beyond' && comparison.delta > 0;
}

/**
 * The judgement in words, with its numbers: "beyond noise (+0.12 = 6.2 standard errors of 0.019,
 * paired over 3 seeds; beyond takes more than 4.3)". The same words everywhere.
 */
export function describeNoise(comparison: NoiseComparison): string {
  const { noise, delta, standardError, ratio, threshold, pairedSeeds } = comparison;
  if (noise === 'unknown') {
    return comparison.basis === 'gains'
      ? 'noise unknown: a baseline ran with one seed (--baseline-seeds 3 measures it)'
      : 'noise unknown: the baseline ran with one seed (--baseline-seeds 3 measures it)';
  }
  const basis = {
    paired: `paired over ${pairedSeeds} seeds`,
    'one-seed': 'on the one seed both ran',
    means: 'means compared',
    gains: "each run's gain over its own baseline",
  }[comparison.basis];
  const size =
    standardError === 0
      ? 'with no seed-to-seed spread at all'
      : `= ${formatNumber(Math.abs(ratio!))} standard errors of ${formatNumber(standardError!)}`;
  return `${noise} noise (${signed(delta)} ${size}, ${basis}; beyond takes more than ${formatNumber(threshold!)})`;
}
