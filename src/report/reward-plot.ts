/**
 * The reward-over-time plot as inline SVG, drawn by hand (a few dozen shapes do not need a
 * charting library, and the report must open with no network): every finished evaluation is a
 * point, the best-so-far idea mean is a step line, the baseline is a dashed line inside its
 * ±1 std band, and failures are red crosses in a lane under the axis.
 *
 * Rewards far worse than everything interesting (a diverged run at −1e6) would squash the plot,
 * so such points are drawn as triangles on the edge; their tooltip still gives the value.
 */
import { escapeHtml } from './diff-html.ts';
import { fraction } from '../core/statistics.ts';
import type { ReportModel } from './report-model.ts';
import { formatNumber } from '../core/format.ts';

const WIDTH = 960;
const HEIGHT = 380;
const MARGIN = { top: 16, right: 24, bottom: 48, left: 64 };
/** Height of the lane under the x axis where failures are marked (only when something failed). */
const FAIL_LANE = 24;
/**
 * The plotted range never reaches past ±1e307, so every span, pad and tick step below stays a
 * finite double (a run may report ±1.79e308, and 1.79e308 − (−1.79e308) is Infinity); rewards
 * past it are drawn on the edge like any other clipped point.
 */
const PLOT_LIMIT = 1e307;

export function rewardPlotSvg(model: ReportModel): string {
  const { points, earlyFailures, bestSoFar, baseline, summary } = model;
  const maximize = summary.goal === 'maximize';
  const rewards = points.filter((p) => p.reward !== null).map((p) => limited(p.reward!));
  const base = baseline?.reward ?? null;
  const baseStd = baseline && baseline.rewardCount > 1 ? (baseline.rewardStd ?? 0) : 0;
  // The baseline band's edges, inside the plottable range (base ± std may not even be finite).
  const bandLo = base === null ? null : limited(limited(base) - limited(baseStd));
  const bandHi = base === null ? null : limited(limited(base) + limited(baseStd));

  if (rewards.length === 0 && points.length === 0 && earlyFailures.length === 0) {
    return '<p class="empty">No evaluation has finished yet.</p>';
  }

  // ── y domain: everything, unless far-worse outliers would hide the interesting range ──
  // The better three quarters of the rewards and the baseline band are what a reader looks at.
  const bestFirst = [...rewards].sort((a, b) => (maximize ? b - a : a - b));
  const interesting = bestFirst.slice(0, Math.ceil(bestFirst.length * 0.75));
  if (bandLo !== null && bandHi !== null) interesting.push(bandLo, bandHi);
  let lo = Math.min(...(rewards.length ? rewards : [0]), ...(bandLo !== null ? [bandLo] : []));
  let hi = Math.max(...(rewards.length ? rewards : [1]), ...(bandHi !== null ? [bandHi] : []));
  if (interesting.length >= 2) {
    const iLo = Math.min(...interesting);
    const iHi = Math.max(...interesting);
    const span = Math.max(iHi - iLo, Math.abs(iHi) * 1e-3, 1e-9);
    // Clip the worse side when it would take more than two thirds of the plot.
    if (maximize && iLo - lo > 2 * span) lo = iLo - 0.6 * span;
    if (!maximize && hi - iHi > 2 * span) hi = iHi + 0.6 * span;
  }
  // Flat (or flat to within rounding, which at 1e300 is a gap of 1e284): give the range some height.
  if (hi - lo < 1e-12 || hi - lo <= Math.max(Math.abs(lo), Math.abs(hi)) * 1e-9) {
    const pad = Math.abs(hi) * 0.05 || Math.abs(lo) * 0.05 || 1;
    lo -= pad;
    hi += pad;
  }
  const yTicks = niceTicks(lo, hi, 6);
  const yMin = Math.min(lo, yTicks[0]);
  const yMax = Math.max(hi, yTicks[yTicks.length - 1]);

  // ── x domain: time since the run started ──
  const lastMs = Math.max(1, model.totals.elapsedMs, ...points.map((p) => p.atMs), ...earlyFailures.map((f) => f.atMs));
  const unit = timeUnit(lastMs);
  const xTicks = niceTicks(0, lastMs / unit.ms, 8).filter((t) => t >= 0);
  const xMax = Math.max(lastMs, xTicks[xTicks.length - 1] * unit.ms);

  const anyFailure = points.some((p) => p.failureReason) || earlyFailures.length > 0;
  const lane = anyFailure ? FAIL_LANE : 0;
  const height = HEIGHT - FAIL_LANE + lane;
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = height - MARGIN.top - MARGIN.bottom - lane;
  const x = (ms: number) => MARGIN.left + (ms / xMax) * plotW;
  const y = (r: number) => MARGIN.top + (1 - fraction(r, yMin, yMax)) * plotH;
  const laneY = MARGIN.top + plotH + lane / 2 + 1;
  const f = (n: number) => n.toFixed(1);

  const parts: string[] = [];
  parts.push(
    `<svg class="reward-plot" viewBox="0 0 ${WIDTH} ${height}" role="img" aria-label="Reward of every evaluation over time" xmlns="http://www.w3.org/2000/svg">`,
  );

  // grid and y axis
  for (const t of yTicks) {
    parts.push(`<line class="grid" x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${f(y(t))}" y2="${f(y(t))}"/>`);
    parts.push(`<text class="tick" x="${MARGIN.left - 8}" y="${f(y(t) + 4)}" text-anchor="end">${escapeHtml(formatNumber(t))}</text>`);
  }
  for (const t of xTicks) {
    const px = x(t * unit.ms);
    parts.push(`<line class="grid grid-x" x1="${f(px)}" x2="${f(px)}" y1="${MARGIN.top}" y2="${MARGIN.top + plotH}"/>`);
    parts.push(
      `<text class="tick" x="${f(px)}" y="${MARGIN.top + plotH + lane + 16}" text-anchor="middle">${formatNumber(t)}${unit.label}</text>`,
    );
  }
  parts.push(`<line class="axis" x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${MARGIN.top + plotH}" y2="${MARGIN.top + plotH}"/>`);
  parts.push(
    `<text class="axis-label" x="${MARGIN.left + plotW / 2}" y="${height - 8}" text-anchor="middle">time since the run started</text>`,
  );
  parts.push(
    `<text class="axis-label" transform="translate(16 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle">reward (${maximize ? 'higher' : 'lower'} is better)</text>`,
  );
  if (anyFailure) {
    parts.push(`<rect class="fail-lane" x="${MARGIN.left}" y="${f(MARGIN.top + plotH + 1)}" width="${plotW}" height="${lane - 2}"/>`);
    parts.push(`<text class="lane-label" x="${MARGIN.left - 8}" y="${f(laneY + 4)}" text-anchor="end">no reward</text>`);
  }

  // baseline band and line
  if (base !== null) {
    if (baseStd > 0) {
      const top = y(clamp(bandHi!, yMin, yMax));
      const bottom = y(clamp(bandLo!, yMin, yMax));
      parts.push(
        `<rect class="baseline-band" x="${MARGIN.left}" y="${f(top)}" width="${plotW}" height="${f(Math.max(1, bottom - top))}"><title>baseline ± 1 std: ${formatNumber(base)} ± ${formatNumber(baseStd)}</title></rect>`,
      );
    }
    parts.push(
      `<line class="baseline" x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${f(y(clamp(base, yMin, yMax)))}" y2="${f(y(clamp(base, yMin, yMax)))}"><title>baseline ${formatNumber(base)}</title></line>`,
    );
  }

  // best-so-far step line, extended to the end of the run
  if (bestSoFar.length) {
    let d = '';
    bestSoFar.forEach((step, i) => {
      const px = x(step.atMs);
      const py = y(clamp(step.reward, yMin, yMax));
      d += i === 0 ? `M${f(px)} ${f(py)}` : `H${f(px)}V${f(py)}`;
    });
    d += `H${f(x(lastMs))}`;
    parts.push(`<path class="best-line" d="${d}"/>`);
    for (const step of bestSoFar) {
      parts.push(
        `<circle class="best-step" cx="${f(x(step.atMs))}" cy="${f(y(clamp(step.reward, yMin, yMax)))}" r="3"><title>new best: ${escapeHtml(label(step.ideaId))} mean ${formatNumber(step.reward)}</title></circle>`,
      );
    }
  }

  // every evaluation
  const bestId = model.best?.id;
  for (const p of points) {
    const outcome =
      p.reward !== null
        ? `reward ${formatNumber(p.reward)}`
        : p.failureReason === 'stopped-early'
          ? 'stopped early (no reward: a low result)'
          : `failed: ${p.failureReason}`;
    const title = `${label(p.ideaId)} · seed ${p.seed} · ${outcome}\n${p.title}`;
    const common = `class="eval-point ${p.reward === null ? 'is-failed' : p.ideaId === 0 ? 'is-baseline' : p.ideaId === bestId ? 'is-best' : 'is-idea'}" data-idea="${p.ideaId}" data-seed="${p.seed}"`;
    const px = f(x(p.atMs));
    let shape: string;
    if (p.reward === null) {
      shape = `<path ${common} d="${crossPath(x(p.atMs), laneY, 5)}"/>`;
    } else if (p.reward < yMin || p.reward > yMax) {
      const below = p.reward < yMin;
      const py = below ? MARGIN.top + plotH - 6 : MARGIN.top + 6;
      const d = below ? `M${px} ${f(py + 5)}l-5 -9h10z` : `M${px} ${f(py - 5)}l-5 9h10z`;
      shape = `<path ${common} data-clipped="true" d="${d}"/>`;
    } else {
      shape = `<circle ${common} cx="${px}" cy="${f(y(p.reward))}" r="${p.ideaId === bestId ? 6 : 4.5}"/>`;
    }
    parts.push(
      `<a href="#idea-${p.ideaId}">${shape.replace(/\/>$/, `><title>${escapeHtml(title)}</title>${shape.startsWith('<circle') ? '</circle>' : '</path>'}`)}</a>`,
    );
  }
  for (const failure of earlyFailures) {
    const title = `${label(failure.ideaId)} failed before running: ${failure.failureReason}\n${failure.title}`;
    parts.push(
      `<a href="#idea-${failure.ideaId}"><path class="idea-failure" data-idea="${failure.ideaId}" d="${crossPath(x(failure.atMs), laneY, 4)}"><title>${escapeHtml(title)}</title></path></a>`,
    );
  }
  // Usually only the worse side is clipped; rewards past ±1e307 may be clipped on either side.
  for (const side of ['below', 'above'] as const) {
    const clipped = points.filter((p) => p.reward !== null && (side === 'below' ? p.reward < yMin : p.reward > yMax));
    if (!clipped.length) continue;
    const extreme = clipped.reduce((a, b) => (side === 'below' ? (b.reward! < a.reward! ? b : a) : b.reward! > a.reward! ? b : a));
    const text = `${clipped.length === 1 ? '1 evaluation' : `${clipped.length} evaluations`} ${side} the plotted range (${side === 'below' ? 'down' : 'up'} to ${formatNumber(extreme.reward!)}) ${side === 'below' ? '▼' : '▲'}`;
    parts.push(
      `<text class="clip-note" x="${WIDTH - MARGIN.right - 6}" y="${side === 'below' ? MARGIN.top + plotH - 8 : MARGIN.top + 14}" text-anchor="end">${escapeHtml(text)}</text>`,
    );
  }
  parts.push('</svg>');
  return parts.join('');
}

function label(ideaId: number): string {
  return ideaId === 0 ? 'baseline' : `idea #${ideaId}`;
}

function crossPath(cx: number, cy: number, r: number): string {
  const f = (n: number) => n.toFixed(1);
  return `M${f(cx - r)} ${f(cy - r)}L${f(cx + r)} ${f(cy + r)}M${f(cx - r)} ${f(cy + r)}L${f(cx + r)} ${f(cy - r)}`;
}

function clamp(value: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, value));
}

/** A value as the plot's range may use it (see PLOT_LIMIT); Infinity, should one ever arrive, included. */
function limited(value: number): number {
  return Number.isNaN(value) ? 0 : clamp(value, -PLOT_LIMIT, PLOT_LIMIT);
}

/** Seconds, minutes or hours, whichever gives readable tick labels for the run's length. */
function timeUnit(ms: number): { ms: number; label: string } {
  if (ms < 3 * 60_000) return { ms: 1000, label: 's' };
  if (ms < 3 * 3_600_000) return { ms: 60_000, label: 'm' };
  return { ms: 3_600_000, label: 'h' };
}

/** Round tick values (1, 2, 5 × 10^k steps) covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count: number): number[] {
  if (!(hi > lo) || !Number.isFinite(lo) || !Number.isFinite(hi)) return [Number.isFinite(lo) ? lo : 0];
  const rough = (hi - lo) / Math.max(1, count - 1);
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= rough) ?? 10 * magnitude;
  const first = Math.floor(lo / step) * step;
  // A step below the rounding of lo and hi (or one that overflowed) would never advance: no ticks between.
  if (!Number.isFinite(step) || !Number.isFinite(first) || step <= 0 || first + step === first) return [lo, hi];
  const ticks: number[] = [];
  // At most about `count` ticks fit [lo, hi]; the bound only guards against rounding surprises.
  for (let t = first, i = 0; t <= hi + step * 1e-9 && i <= 4 * count + 4; t += step, i++) ticks.push(Number(t.toPrecision(12)));
  if (ticks.length && ticks[ticks.length - 1] < hi) ticks.push(Number((ticks[ticks.length - 1] + step).toPrecision(12)));
  return ticks.length ? ticks : [lo, hi];
}
