/**
 * `env check` with `progress:` declared: the baseline's learning curve, read from each seed's run
 * the way the environment declares it (the pattern over the run's log, or the JSON-lines file in
 * its outputs, read without following links: the run wrote it), and one line for the user: the
 * mean ± std across seeds at a few steps, and any seed whose curve fell short of `steps`.
 */
import { mean, std } from '../core/statistics.ts';
import path from 'node:path';
import { readFileNoFollow, readRunFile } from '../reward/safe-read.ts';
import type { Progress } from './schema.ts';
import { progressPoints } from './progress-guess.ts';

type ProgressConfig = Progress;
type Point = { step: number; value: number };

/** The most of a run's log or progress file read for its curve. */
const MAX_BYTES = 8 * 1024 * 1024;
const SHOWN_STEPS = 5;

/** One seed's curve: from its log (pattern) or its outputs folder (file). */
export function seedCurve(progress: ProgressConfig, logPath: string, outputDir: string): Point[] {
  if (progress.pattern) {
    const log = readFileNoFollow(logPath, { maxBytes: MAX_BYTES, overflow: 'tail' }, path.basename(logPath));
    return log.ok ? progressPoints(log.text, progress.pattern) : [];
  }
  const read = readRunFile(outputDir, progress.file!, { maxBytes: MAX_BYTES, overflow: 'tail' });
  if (!read.ok) return [];
  const points: Point[] = [];
  for (const line of read.text.split('\n')) {
    try {
      const parsed: unknown = JSON.parse(line);
      const { step, value } = (parsed ?? {}) as { step?: unknown; value?: unknown };
      if (typeof step === 'number' && typeof value === 'number' && Number.isFinite(step) && Number.isFinite(value))
        points.push({ step, value });
    } catch {
      // a partial or foreign line: not a point
    }
  }
  return points;
}

function format(x: number): string {
  return String(Number(x.toPrecision(3)));
}

/**
 * The check's line about the baseline's curve: ok with the curve and its spread, or not ok when a
 * seed reported no point at all (the pattern or file does not match what the run prints).
 */
export function curveCheckLine(progress: ProgressConfig, curves: Point[][]): { ok: boolean; message: string } {
  const source = progress.pattern
    ? `no line of its log matches /${progress.pattern}/`
    : `its outputs have no {"step", "value"} line in ${progress.file}`;
  const empty = curves.findIndex((curve) => curve.length === 0);
  if (empty >= 0) return { ok: false, message: `progress: baseline seed ${empty} reported no learning curve: ${source}` };
  const steps = [...new Set(curves[0].map((p) => p.step))];
  const indices =
    steps.length <= SHOWN_STEPS
      ? steps.map((_, i) => i)
      : Array.from({ length: SHOWN_STEPS }, (_, i) => Math.round((i * (steps.length - 1)) / (SHOWN_STEPS - 1)));
  const shown = indices.map((i) => {
    const step = steps[i];
    const values = curves.map((curve) => curve.filter((p) => p.step === step).at(-1)?.value).filter((v): v is number => v !== undefined);
    const spread = values.length > 1 ? ` ± ${format(std(values))}` : '';
    return `${format(mean(values))}${spread} @${step}`;
  });
  const short = curves
    .map((curve, seed) => ({ seed, last: curve[curve.length - 1].step }))
    .filter(({ last }) => last < progress.steps)
    .map(({ seed, last }) => `seed ${seed} reached step ${last} of ${progress.steps}`);
  const over = curves.length > 1 ? `mean ± std over ${curves.length} seeds` : '1 seed: use --seeds 3 for its spread';
  return {
    ok: true,
    message: `baseline curve (${over}): ${shown.join(', ')}${short.length ? ` (${short.join('; ')}: is progress.steps right?)` : ''}`,
  };
}
