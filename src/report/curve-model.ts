/**
 * The learning curves the report and `watch` draw, from the run store's progress points: each
 * evaluation's curve, the baseline's band (mean ± 1 std of its seeds' curves at each step), the
 * step a full run reaches, and where a run ended before it (stopped early, crashed, timed out).
 *
 * The store's curves carry no idea of how long a run should be, so the full length is read off
 * the curves themselves: the furthest step a succeeded evaluation reached. A finished curve that
 * ends before it is marked as ended early, with the evaluation's failure reason or status.
 */
import type { EvaluationCurve } from '../store/tables.ts';
import type { IdeaSummary } from './run-summary.ts';

export interface CurvePoint {
  step: number;
  value: number;
  /** Milliseconds since the run (this evaluation) started. */
  atMs: number;
}

export interface CurveView {
  ideaId: number;
  seed: number;
  points: CurvePoint[];
  /** The evaluation is still running: its curve is still growing. */
  running: boolean;
  /** Set when a finished run's curve ends before the full run's step: where, and why. */
  endedEarly: { step: number; reason: string } | null;
}

export interface BandPoint {
  step: number;
  mean: number;
  /** Sample standard deviation of the baseline seeds at this step (0 with one seed). */
  std: number;
  /** Baseline seeds with a value at this step. */
  n: number;
}

export interface CurvesModel {
  /** Every evaluation's curve, by idea id, seeds in order; ideas with no points are absent. */
  byIdea: Map<number, CurveView[]>;
  /** The baseline's seeds summarised per step; empty when the baseline reported no progress. */
  baselineBand: BandPoint[];
  /** The step a full run reaches (the furthest a succeeded run got), null before any succeeded. */
  fullStep: number | null;
}

/** A reason for a failed evaluation that ended its curve, else its status ("stopped-early", …). */
function endReason(evaluation: IdeaSummary['evaluations'][number] | undefined): string {
  if (!evaluation) return 'ended';
  return evaluation.failureReason ?? evaluation.status;
}

export function buildCurvesModel(curves: readonly EvaluationCurve[], ideas: readonly IdeaSummary[]): CurvesModel {
  const ideaById = new Map(ideas.map((idea) => [idea.id, idea]));
  // The evaluation a curve belongs to: the idea's latest one with that seed.
  const evaluationOf = (curve: EvaluationCurve) =>
    ideaById
      .get(curve.ideaId)
      ?.evaluations.filter((e) => e.seed === curve.seed)
      .at(-1);
  const clean = curves
    .map((curve) => ({ curve, points: curve.points.filter((p) => Number.isFinite(p.step) && Number.isFinite(p.value)) }))
    .filter(({ curve, points }) => points.length > 0 && ideaById.has(curve.ideaId));

  let fullStep: number | null = null;
  for (const { curve, points } of clean) {
    if (evaluationOf(curve)?.status !== 'succeeded') continue;
    const last = points[points.length - 1].step;
    fullStep = fullStep === null ? last : Math.max(fullStep, last);
  }

  const byIdea = new Map<number, CurveView[]>();
  for (const { curve, points } of clean) {
    const evaluation = evaluationOf(curve);
    const running = evaluation?.status === 'running';
    const last = points[points.length - 1].step;
    const endedEarly = !running && fullStep !== null && last < fullStep ? { step: last, reason: endReason(evaluation) } : null;
    const views = byIdea.get(curve.ideaId) ?? [];
    views.push({ ideaId: curve.ideaId, seed: curve.seed, points: points.map((p) => ({ ...p })), running, endedEarly });
    byIdea.set(curve.ideaId, views);
  }
  for (const views of byIdea.values()) views.sort((a, b) => a.seed - b.seed);

  return { byIdea, baselineBand: band((byIdea.get(0) ?? []).filter((c) => !c.running && !c.endedEarly)), fullStep };
}

/**
 * Mean ± std of the curves at each step any of them reported; a curve without a point at a step
 * inside its range contributes its linear interpolation there (seeds need not log the same steps).
 */
export function band(curves: readonly Pick<CurveView, 'points'>[]): BandPoint[] {
  const steps = [...new Set(curves.flatMap((c) => c.points.map((p) => p.step)))].sort((a, b) => a - b);
  return steps.map((step) => {
    const values = curves.map((c) => valueAt(c.points, step)).filter((v): v is number => v !== null);
    const mean = values.reduce((s, v) => s + v, 0) / values.length;
    const std = values.length > 1 ? Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / (values.length - 1)) : 0;
    return { step, mean, std: Number.isFinite(std) ? std : 0, n: values.length };
  });
}

/** The curve's value at `step`: its point there, else interpolated between neighbours; null outside its range. */
function valueAt(points: readonly CurvePoint[], step: number): number | null {
  const sorted = [...points].sort((a, b) => a.step - b.step);
  if (sorted.length === 0 || step < sorted[0].step || step > sorted[sorted.length - 1].step) return null;
  for (let i = 0; i < sorted.length; i++) {
    if (sorted[i].step === step) return sorted[i].value;
    if (sorted[i].step > step) {
      const a = sorted[i - 1];
      const b = sorted[i];
      return a.value + ((b.value - a.value) * (step - a.step)) / (b.step - a.step);
    }
  }
  return null;
}
