/**
 * Learning curves in a run's log, for `env init` and `env check`: the `progress:` pattern a log's
 * step/value lines suggest (`step 40/200 reward 0.31`, `epoch 3 val_acc: 0.91`), and the points a
 * declared pattern reads from a log.
 */
import { escapeRegex } from './init-guesses.ts';

export interface ProgressGuess {
  /** A regular expression with named groups `step` and `value`, as environment.yaml's progress.pattern. */
  pattern: string;
  /** The step a full run reaches: the `/N` of `step 40/200`, else the last step the log showed. */
  steps: number;
  /** True when steps is the `/N` the log printed, false when it is only the last step seen. */
  stepsFromLog: boolean;
  /** The value's name in the log (`reward`, `val_acc`). */
  name: string;
  goal: 'maximize' | 'minimize';
  /** An example line, for the comment beside the guess. */
  line: string;
}

const NUMBER = '[-+]?[0-9]*\\.?[0-9]+(?:[eE][-+]?[0-9]+)?';
const STEP = /\b(step|iter|iteration|epoch|update)\b\s*[:=#]?\s*(\d+)(\s*\/\s*(\d+))?/i;
/** Values after the step: `name 0.3`, `name=0.3`, `name: 0.3`. */
const VALUE = new RegExp(`([A-Za-z][\\w]*)(\\s*[:=]\\s*|\\s+)(${NUMBER})(?![\\w.])`, 'g');
/** Names that are clocks, rates or counters, not a measure of learning. */
const NOT_A_MEASURE = /^(elapsed|time|secs?|seconds|ms|lr|learning_rate|eta|it|its|tokens|samples|step|epoch|iter|grad_norm|norm)$/i;
const LOWER_IS_BETTER = /loss|error|err\b|perplexity|ppl|mse|mae|rmse|regret|cost|kl/i;

/** How good a name is as the curve of a run scored by `rewardName`: the reward itself first, then held-out measures. */
function score(name: string, rewardName: string | null): number {
  let s = 0;
  if (rewardName && name.toLowerCase() === rewardName.toLowerCase()) s += 20;
  if (/^(val|valid|validation|test|eval|heldout)|_(val|test|eval)$/i.test(name)) s += 10;
  if (/acc|score|reward|correct|success|return/i.test(name)) s += 3;
  if (/^train/i.test(name)) s -= 2;
  if (LOWER_IS_BETTER.test(name)) s += 1;
  return s;
}

/**
 * The `progress:` a log suggests: at least three lines with a step counter followed by the same
 * named value, the steps increasing. Null when the log shows no such lines.
 */
export function progressFromLog(logText: string, rewardName: string | null = null): ProgressGuess | null {
  const byName = new Map<string, { steps: number[]; total: number | null; word: string; separator: string; line: string }>();
  for (const raw of logText.split('\n')) {
    const line = raw.slice(raw.lastIndexOf('\r') + 1).trim();
    const step = STEP.exec(line);
    if (!step) continue;
    const after = line.slice(step.index + step[0].length);
    for (const m of after.matchAll(VALUE)) {
      const name = m[1];
      if (NOT_A_MEASURE.test(name)) continue;
      const entry = byName.get(name) ?? { steps: [], total: null, word: step[1], separator: m[2].trim() || ' ', line };
      entry.steps.push(Number(step[2]));
      if (step[4]) entry.total = Number(step[4]);
      byName.set(name, entry);
    }
  }
  const candidates = [...byName].filter(([, e]) => e.steps.length >= 3 && e.steps.every((s, i) => i === 0 || s > e.steps[i - 1]));
  if (candidates.length === 0) return null;
  candidates.sort(([a], [b]) => score(b, rewardName) - score(a, rewardName) || a.localeCompare(b));
  const [name, entry] = candidates[0];
  const total = entry.total !== null && entry.total > 0 ? entry.total : null;
  const separator = entry.separator === ' ' ? '\\s+' : `\\s*${escapeRegex(entry.separator)}\\s*`;
  const pattern = `\\b${escapeRegex(entry.word)}\\s*[:=#]?\\s*(?<step>\\d+)(?:\\s*/\\s*\\d+)?\\b.*?\\b${escapeRegex(name)}${separator}(?<value>${NUMBER})`;
  return {
    pattern,
    steps: total ?? Math.max(...entry.steps),
    stepsFromLog: total !== null,
    name,
    goal: LOWER_IS_BETTER.test(name) ? 'minimize' : 'maximize',
    line: entry.line,
  };
}

/** The points a `progress.pattern` reads from a log, in order (lines the pattern does not match are skipped). */
export function progressPoints(logText: string, pattern: string): { step: number; value: number }[] {
  const regex = new RegExp(pattern);
  const points: { step: number; value: number }[] = [];
  for (const line of logText.split('\n')) {
    const groups = regex.exec(line)?.groups;
    if (!groups) continue;
    const step = Number(groups.step);
    const value = Number(groups.value);
    if (Number.isFinite(step) && Number.isFinite(value)) points.push({ step, value });
  }
  return points;
}
