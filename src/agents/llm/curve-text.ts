/**
 * An idea's learning curve as the thinker reads it in the history: a few points of its first
 * evaluation, e.g. `curve: 0.88@0 0.91@15 0.93@30 (ended at step 30 of 60)`, so it can tell a
 * slow start, a plateau, a divergence or a run stopped part-way from one final number.
 *
 * Only the first evaluation (the lowest id) is shown: it is complete once the idea finishes, so
 * the history entry it belongs to never changes afterwards (confirmation seeds come later and
 * would otherwise rewrite an entry the provider's prompt cache already holds).
 */
import type { EvaluationCurve } from '../../store/tables.ts';

/** How many points of a curve the thinker sees (the first, the last, evenly spaced between). */
const SHOWN_POINTS = 5;

function formatValue(value: number): string {
  return Math.abs(value) >= 1000 || (Math.abs(value) < 0.001 && value !== 0) ? value.toExponential(2) : String(Number(value.toPrecision(3)));
}

/** `curve: …` for one evaluation's points, or '' when it has none. `steps`: the step a full run reaches. */
export function curveText(points: EvaluationCurve['points'], steps: number | undefined): string {
  if (points.length === 0) return '';
  const last = points.length - 1;
  const count = Math.min(SHOWN_POINTS, points.length);
  const indices = count === 1 ? [0] : Array.from({ length: count }, (_, i) => Math.round((i * last) / (count - 1)));
  const shown = indices.map((i) => `${formatValue(points[i].value)}@${points[i].step}`).join(' ');
  const endStep = points[last].step;
  const ended = steps !== undefined && endStep < steps ? ` (ended at step ${endStep} of ${steps})` : '';
  return `curve: ${shown}${ended}`;
}

/** Each idea's curve text (its first evaluation's), by idea id; ideas without points are absent. */
export function curveTexts(curves: readonly EvaluationCurve[] | undefined, steps: number | undefined): Map<number, string> {
  const first = new Map<number, EvaluationCurve>();
  for (const curve of curves ?? []) {
    const seen = first.get(curve.ideaId);
    if (curve.points.length > 0 && (!seen || curve.evaluationId < seen.evaluationId)) first.set(curve.ideaId, curve);
  }
  return new Map([...first].map(([ideaId, curve]) => [ideaId, curveText(curve.points, steps)]));
}
