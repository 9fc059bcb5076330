/**
 * The early-stopping rule on its own: curves in, a decision with its reason out.
 */
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_EARLY_STOP,
  earlyStopDecision,
  formatEarlyStop,
  parseEarlyStop,
  windowMean,
  type CurvePoint,
} from '../../src/core/early-stopping.ts';

/** A curve rising towards `level`, with a seed wobble, up to `until`. */
function curve(level: number, until: number, seed = 0): CurvePoint[] {
  return Array.from({ length: until }, (_, i) => {
    const step = i + 1;
    return { step, value: level * (1 - Math.exp(-step / 10)) + 0.01 * Math.sin(3 * step + seed) };
  });
}

const progress = { steps: 100, goal: 'maximize' as const };
const baseline = [curve(0.5, 100, 0), curve(0.5, 100, 1), curve(0.5, 100, 2)];

describe('earlyStopDecision', () => {
  it('stops a run clearly below the baseline at the same step, once past the grace fraction, and says why', () => {
    const losing = curve(0.2, 40);
    const decision = earlyStopDecision(DEFAULT_EARLY_STOP, progress, losing, { baseline, leaders: [] });
    expect(decision.stop).toBe(true);
    if (!decision.stop) return;
    expect(decision.step).toBe(40);
    expect(decision.value).toBeLessThan(decision.threshold);
    expect(decision.threshold).toBeLessThan(decision.reference);
    expect(decision.reason).toMatch(
      /^stopped early at step 40 of 100: .*below .*\(the baseline's seed spread\) under .*the baseline's 3 seeds reached at that step/,
    );
  });

  it('never stops inside the grace fraction, however bad the run', () => {
    const terrible = curve(-5, 24);
    expect(earlyStopDecision(DEFAULT_EARLY_STOP, progress, terrible, { baseline, leaders: [] }).stop).toBe(false);
    expect(earlyStopDecision(DEFAULT_EARLY_STOP, progress, curve(-5, 25), { baseline, leaders: [] }).stop).toBe(true);
  });

  it('never stops a run in its last tenth: little time is left to save, and its real reward would be lost', () => {
    const losing = curve(0.2, 100);
    expect(earlyStopDecision(DEFAULT_EARLY_STOP, progress, losing.slice(0, 90), { baseline, leaders: [] }).stop).toBe(true);
    for (const until of [91, 95, 100]) {
      expect(earlyStopDecision(DEFAULT_EARLY_STOP, progress, losing.slice(0, until), { baseline, leaders: [] })).toEqual({ stop: false });
    }
  });

  it('keeps a run within the seed noise of the reference, and one above it', () => {
    expect(earlyStopDecision(DEFAULT_EARLY_STOP, progress, curve(0.5, 60, 7), { baseline, leaders: [] }).stop).toBe(false);
    expect(earlyStopDecision(DEFAULT_EARLY_STOP, progress, curve(0.9, 60), { baseline, leaders: [] }).stop).toBe(false);
  });

  it('compares with the best finished idea when it is above the baseline, with the baseline noise', () => {
    const leaders = [{ ideaId: 7, curves: [curve(0.9, 100)] }];
    const middling = curve(0.6, 50);
    expect(earlyStopDecision(DEFAULT_EARLY_STOP, progress, middling, { baseline, leaders: [] }).stop).toBe(false);
    const decision = earlyStopDecision(DEFAULT_EARLY_STOP, progress, middling, { baseline, leaders });
    expect(decision.stop && decision.reason).toMatch(/idea 7 reached at that step/);
  });

  it('follows the goal: for a loss, higher is worse', () => {
    const lossProgress = { steps: 100, goal: 'minimize' as const };
    const lowLoss = baseline;
    const highLoss = curve(0.9, 50);
    expect(earlyStopDecision(DEFAULT_EARLY_STOP, lossProgress, highLoss, { baseline: lowLoss, leaders: [] }).stop).toBe(true);
    expect(earlyStopDecision(DEFAULT_EARLY_STOP, lossProgress, curve(0.2, 50), { baseline: lowLoss, leaders: [] }).stop).toBe(false);
  });

  it('acts only on evidence: no reference, a reference that never got this far, or no measure of noise', () => {
    const losing = curve(0.1, 50);
    expect(earlyStopDecision(DEFAULT_EARLY_STOP, progress, losing, { baseline: [], leaders: [] }).stop).toBe(false);
    expect(
      earlyStopDecision(DEFAULT_EARLY_STOP, progress, losing, { baseline: [curve(0.5, 30), curve(0.5, 30, 1)], leaders: [] }).stop,
    ).toBe(false);
    // One baseline seed logged once per 50 steps: no spread at all to judge the gap by.
    const sparse = [
      { step: 50, value: 0.5 },
      { step: 100, value: 0.5 },
    ];
    expect(earlyStopDecision(DEFAULT_EARLY_STOP, progress, losing, { baseline: [sparse], leaders: [] }).stop).toBe(false);
  });

  it('with one baseline seed, takes its step-to-step spread as the noise', () => {
    const decision = earlyStopDecision(DEFAULT_EARLY_STOP, progress, curve(0.1, 50), { baseline: [baseline[0]], leaders: [] });
    expect(decision.stop && decision.reason).toMatch(
      /\(the spread of the baseline's curve there\) under the .* the baseline reached at that step/,
    );
  });

  it('ignores a hostile step far past the full run (no reference reaches it)', () => {
    const jump = [...curve(0.1, 30), { step: 1e12, value: -1 }];
    expect(earlyStopDecision(DEFAULT_EARLY_STOP, progress, jump, { baseline, leaders: [] }).stop).toBe(false);
  });
});

describe('windowMean', () => {
  it('averages the points in the window, falls back to the last point before it, and needs the curve to reach the step', () => {
    const points = [
      { step: 10, value: 1 },
      { step: 20, value: 2 },
      { step: 21, value: 4 },
    ];
    expect(windowMean(points, 21, 5)).toBe(3);
    expect(windowMean(points, 15, 2)).toBe(1);
    expect(windowMean(points, 22, 5)).toBeNull();
    expect(windowMean(points, 5, 2)).toBeNull();
  });
});

describe('parseEarlyStop', () => {
  it('reads off, on and margin settings, and round-trips through formatEarlyStop', () => {
    expect(parseEarlyStop('off')).toBeNull();
    expect(parseEarlyStop('on')).toEqual(DEFAULT_EARLY_STOP);
    const rule = parseEarlyStop('margin:k=3,grace=0.5');
    expect(rule).toEqual({ kind: 'margin', k: 3, grace: 0.5, window: DEFAULT_EARLY_STOP.window });
    expect(parseEarlyStop(formatEarlyStop(rule))).toEqual(rule);
    expect(formatEarlyStop(null)).toBe('off');
  });

  it('refuses what it does not know, with a one-line message', () => {
    expect(() => parseEarlyStop('median')).toThrow(/--early-stop expects off, on/);
    expect(() => parseEarlyStop('margin:k=-1')).toThrow(/k must be 0 or more/);
    expect(() => parseEarlyStop('margin:grace=1')).toThrow(/grace is a fraction/);
    expect(() => parseEarlyStop('margin:grace=0.95')).toThrow(/up to \(not including\) 0\.9, after which no run is stopped/);
    expect(() => parseEarlyStop('margin:k=abc')).toThrow(/should be key=number/);
    expect(() => parseEarlyStop('margin:speed=2')).toThrow(/unknown setting "speed"/);
  });
});
