/**
 * The learning curves as inline SVG, drawn by hand like reward-plot.ts (no library, no network):
 * one small chart per idea, all on the same axes, each over the baseline's band (mean ± 1 std of
 * its seeds at each step, the dashed line its mean), a run that ended before the full run marked
 * with a cross and why; and, for the live view, a sparkline per running idea.
 *
 * The values come from the runs' output, so they are hostile: non-finite ones never reach here
 * (curve-model.ts), and a few far-out points (a diverged run at 1e30) are drawn on the chart's
 * edge rather than squashing every other curve into a line.
 */
import { formatNumber } from '../core/format.ts';
import { fraction } from '../core/statistics.ts';
import type { BandPoint, CurveView, CurvesModel } from './curve-model.ts';
import { escapeHtml } from './diff-html.ts';
import type { IdeaView, ReportModel } from './report-model.ts';

const CHART = { width: 300, height: 150, left: 44, right: 10, top: 10, bottom: 24 };
const SPARK = { width: 160, height: 28 };

interface Axes {
  xMax: number;
  yMin: number;
  yMax: number;
}

const f = (n: number) => n.toFixed(1);

function clamp(value: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, value));
}

/**
 * Shared axes: steps 0 to the full run (or the furthest step); values over every point and the
 * band, except that a side reaching more than twice the core's span (the 5th–95th percentile)
 * past it is cut to 0.6 of that span, its points drawn on the edge.
 */
function axesOf(curves: CurvesModel): Axes {
  const all = [...curves.byIdea.values()].flat();
  const values = all.flatMap((c) => c.points.map((p) => clamp(p.value, -1e307, 1e307))).sort((a, b) => a - b);
  const at = (q: number) => values[Math.min(values.length - 1, Math.max(0, Math.round(q * (values.length - 1))))];
  const bandLo = curves.baselineBand.map((b) => clamp(b.mean - b.std, -1e307, 1e307));
  const bandHi = curves.baselineBand.map((b) => clamp(b.mean + b.std, -1e307, 1e307));
  const coreLo = Math.min(at(0.05), ...bandLo);
  const coreHi = Math.max(at(0.95), ...bandHi);
  const span = coreHi / 2 - coreLo / 2; // halves: the span of ±1e307 stays finite
  let yMin = Math.min(values[0], ...bandLo);
  let yMax = Math.max(values[values.length - 1], ...bandHi);
  if (span > 0 && coreLo / 2 - yMin / 2 > 2 * span) yMin = coreLo - 1.2 * span;
  if (span > 0 && yMax / 2 - coreHi / 2 > 2 * span) yMax = coreHi + 1.2 * span;
  if (!(yMax - yMin > Math.max(Math.abs(yMax), Math.abs(yMin)) * 1e-9)) {
    const pad = Math.abs(yMax) * 0.05 || 1;
    yMin -= pad;
    yMax += pad;
  }
  const lastSteps = all.map((c) => c.points[c.points.length - 1].step);
  return { xMax: Math.max(1, curves.fullStep ?? 0, ...lastSteps), yMin, yMax };
}

function scales(axes: Axes, box: { width: number; height: number; left: number; right: number; top: number; bottom: number }) {
  const plotW = box.width - box.left - box.right;
  const plotH = box.height - box.top - box.bottom;
  return {
    x: (step: number) => box.left + clamp(step / axes.xMax, 0, 1) * plotW,
    y: (value: number) => box.top + (1 - fraction(clamp(value, axes.yMin, axes.yMax), axes.yMin, axes.yMax)) * plotH,
    plotW,
    plotH,
  };
}

function bandShapes(band: readonly BandPoint[], x: (s: number) => number, y: (v: number) => number): string {
  if (band.length === 0) return '';
  const upper = band.map((b) => `${f(x(b.step))},${f(y(b.mean + b.std))}`);
  const lower = [...band].reverse().map((b) => `${f(x(b.step))},${f(y(b.mean - b.std))}`);
  const mean = band.map((b) => `${f(x(b.step))},${f(y(b.mean))}`).join(' ');
  const last = band[band.length - 1];
  const title = `baseline at step ${last.step}: ${formatNumber(last.mean)}${last.n > 1 ? ` ± ${formatNumber(last.std)} (${last.n} seeds)` : ''}`;
  return (
    `<polygon class="curve-band" points="${[...upper, ...lower].join(' ')}"><title>${escapeHtml(title)}</title></polygon>` +
    `<polyline class="curve-band-mean" points="${mean}"/>`
  );
}

function curveShapes(curve: CurveView, x: (s: number) => number, y: (v: number) => number, cls: string): string {
  const line = curve.points.map((p) => `${f(x(p.step))},${f(y(p.value))}`).join(' ');
  const last = curve.points[curve.points.length - 1];
  const title = `seed ${curve.seed}: ${formatNumber(last.value)} at step ${last.step}${curve.running ? ' (running)' : ''}`;
  let end = '';
  if (curve.endedEarly) {
    const [cx, cy, r] = [x(last.step), y(last.value), 4];
    const reason = `${curve.endedEarly.reason} at step ${curve.endedEarly.step}`;
    end = `<path class="curve-stop" data-seed="${curve.seed}" d="M${f(cx - r)} ${f(cy - r)}L${f(cx + r)} ${f(cy + r)}M${f(cx - r)} ${f(cy + r)}L${f(cx + r)} ${f(cy - r)}"><title>${escapeHtml(`seed ${curve.seed}: ${reason}`)}</title></path>`;
  } else if (curve.running) {
    end = `<circle class="curve-head" cx="${f(x(last.step))}" cy="${f(y(last.value))}" r="3"/>`;
  }
  return `<polyline class="${cls}" data-seed="${curve.seed}" points="${line}"><title>${escapeHtml(title)}</title></polyline>${end}`;
}

function ideaLabel(ideaId: number): string {
  return ideaId === 0 ? 'baseline' : `#${ideaId}`;
}

/** One idea's chart on the shared axes. */
function ideaChart(idea: IdeaView, curves: CurveView[], model: CurvesModel, axes: Axes): string {
  const { x, y, plotW, plotH } = scales(axes, CHART);
  const bottom = CHART.top + plotH;
  const parts = [
    `<svg class="curve-chart" viewBox="0 0 ${CHART.width} ${CHART.height}" role="img" aria-label="${escapeHtml(`learning curve of ${ideaLabel(idea.id)}`)}" xmlns="http://www.w3.org/2000/svg">`,
    `<rect class="curve-frame" x="${CHART.left}" y="${CHART.top}" width="${plotW}" height="${plotH}"/>`,
    `<text class="tick" x="${CHART.left - 4}" y="${f(CHART.top + 4)}" text-anchor="end">${escapeHtml(formatNumber(axes.yMax))}</text>`,
    `<text class="tick" x="${CHART.left - 4}" y="${f(bottom)}" text-anchor="end">${escapeHtml(formatNumber(axes.yMin))}</text>`,
    `<text class="tick" x="${CHART.left}" y="${f(bottom + 14)}" text-anchor="start">0</text>`,
    `<text class="tick" x="${f(CHART.left + plotW)}" y="${f(bottom + 14)}" text-anchor="end">step ${escapeHtml(formatNumber(axes.xMax))}</text>`,
  ];
  if (model.fullStep !== null && model.fullStep < axes.xMax) {
    parts.push(`<line class="curve-full" x1="${f(x(model.fullStep))}" x2="${f(x(model.fullStep))}" y1="${CHART.top}" y2="${f(bottom)}"/>`);
  }
  if (idea.id !== 0) parts.push(bandShapes(model.baselineBand, x, y));
  const cls = idea.id === 0 ? 'curve-line is-baseline-curve' : idea.isBest ? 'curve-line is-best-curve' : 'curve-line';
  for (const curve of curves) parts.push(curveShapes(curve, x, y, cls));
  parts.push('</svg>');
  return parts.join('');
}

function endedNote(curves: CurveView[]): string {
  const ended = curves.filter((c) => c.endedEarly);
  if (ended.length === 0) return '';
  return `<span class="curve-ended">${ended.map((c) => escapeHtml(`${c.endedEarly!.reason} at step ${c.endedEarly!.step}`)).join(', ')}</span>`;
}

/** The "Learning curves" panel: every idea that reported progress, in leaderboard order. Empty when none did. */
export function learningCurvesPanel(model: ReportModel): string {
  const { curves } = model;
  if (curves.byIdea.size === 0) return '';
  const axes = axesOf(curves);
  const ideas = model.ranked.filter((idea) => curves.byIdea.has(idea.id));
  // The baseline first: it is what every other chart's band is.
  ideas.sort((a, b) => Number(b.id === 0) - Number(a.id === 0));
  const cells = ideas.map((idea) => {
    const ideaCurves = curves.byIdea.get(idea.id)!;
    const reward = idea.reward === null ? escapeHtml(idea.failureReason ?? idea.status) : escapeHtml(formatNumber(idea.reward));
    return `<figure class="curve-cell" data-idea="${idea.id}">
  <figcaption><a href="#idea-${idea.id}">${escapeHtml(ideaLabel(idea.id))}</a> <span class="curve-title">${escapeHtml(idea.id === 0 ? '' : idea.title)}</span> <b>${reward}</b> ${endedNote(ideaCurves)}</figcaption>
  ${ideaChart(idea, ideaCurves, curves, axes)}
</figure>`;
  });
  return `<section id="curves" class="panel">
  <div class="panel-head"><h2>Learning curves</h2><span class="hint">each idea's seeds over the baseline's band (mean ± 1 std of its seeds, dashed: the mean) · × a run that ended before step ${escapeHtml(formatNumber(curves.fullStep ?? axes.xMax))}</span></div>
  <div class="curve-grid">
${cells.join('\n')}
  </div>
</section>`;
}

/** A compact line of one running idea's curves with the baseline's mean under it. */
function sparklineSvg(curves: CurveView[], model: CurvesModel, axes: Axes): string {
  const box = { ...SPARK, left: 1, right: 4, top: 3, bottom: 3 };
  const { x, y } = scales(axes, box);
  const mean = model.baselineBand.map((b) => `${f(x(b.step))},${f(y(b.mean))}`).join(' ');
  return (
    `<svg class="sparkline" viewBox="0 0 ${SPARK.width} ${SPARK.height}" width="${SPARK.width}" height="${SPARK.height}" xmlns="http://www.w3.org/2000/svg">` +
    (mean ? `<polyline class="curve-band-mean" points="${mean}"/>` : '') +
    curves.map((c) => curveShapes(c, x, y, 'curve-line')).join('') +
    '</svg>'
  );
}

/** "Running now": a sparkline per idea with a run in progress that reported progress. Empty when none. */
export function runningCurvesPanel(model: ReportModel): string {
  const { curves } = model;
  const running = model.ideas.filter((idea) => curves.byIdea.get(idea.id)?.some((c) => c.running));
  if (running.length === 0) return '';
  const axes = axesOf(curves);
  const rows = running.map((idea) => {
    const live = curves.byIdea.get(idea.id)!.filter((c) => c.running);
    const latest = live.map((c) => c.points[c.points.length - 1]).sort((a, b) => b.step - a.step)[0];
    const of = curves.fullStep === null ? '' : ` of ${formatNumber(curves.fullStep)}`;
    const base = curves.baselineBand.find((b) => b.step >= latest.step);
    const vsBase = base ? ` · baseline ${formatNumber(base.mean)} at step ${formatNumber(base.step)}` : '';
    return `<li class="running-curve" data-idea="${idea.id}"><a href="#idea-${idea.id}">${escapeHtml(ideaLabel(idea.id))}</a> ${sparklineSvg(live, curves, axes)} <span class="curve-now">${escapeHtml(`${formatNumber(latest.value)} at step ${formatNumber(latest.step)}${of}${vsBase}`)}</span> <span class="curve-title">${escapeHtml(idea.id === 0 ? '' : idea.title)}</span></li>`;
  });
  return `<section id="running" class="panel">
  <div class="panel-head"><h2>Running now</h2><span class="hint">the curves of runs in progress, as they report (dashed: the baseline's mean)</span></div>
  <ul class="running-curves">
${rows.join('\n')}
  </ul>
</section>`;
}
