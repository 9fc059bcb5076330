/**
 * The learning curves of the report model, from a real run store (see curve-run.ts): each
 * evaluation's curve, the baseline's band across its seeds, the full run's length read off the
 * curves, and runs that ended before it marked with why.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { band, buildCurvesModel, type CurvesModel } from '../../src/report/curve-model.ts';
import { buildReportModel } from '../../src/report/report-model.ts';
import { summarizeRun } from '../../src/report/run-summary.ts';
import { RunStore } from '../../src/store/run-store.ts';
import { createCurveRun, FULL, type CurveRun } from './curve-run.ts';

describe('learning curves in the report model', () => {
  let run: CurveRun;
  let curves: CurvesModel;

  beforeAll(async () => {
    run = await createCurveRun();
    const store = RunStore.open(run.runDir);
    curves = buildReportModel(summarizeRun(store), { curves: store.curves() }).curves;
    store.close();
  }, 120_000);

  it('has every evaluation curve by idea, seeds in order, and the full run length from the succeeded runs', () => {
    expect([...curves.byIdea.keys()].sort()).toEqual([0, 1, 2, run.runningId].sort());
    expect(curves.byIdea.get(0)!.map((c) => c.seed)).toEqual([0, 1]);
    expect(curves.byIdea.get(1)![0].points.map((p) => p.step)).toEqual(FULL);
    expect(curves.fullStep).toBe(100);
  });

  it('marks the crashed run where its curve ended, with its failure reason, and the running one as running', () => {
    expect(curves.byIdea.get(2)![0]).toMatchObject({ running: false, endedEarly: { step: 30, reason: 'crashed' } });
    expect(curves.byIdea.get(run.runningId)![0]).toMatchObject({ running: true, endedEarly: null });
    expect(curves.byIdea.get(1)![0].endedEarly).toBeNull();
  });

  it("summarises the baseline's seeds at each step: mean and sample std", () => {
    expect(curves.baselineBand.map((b) => b.step)).toEqual(FULL);
    for (const point of curves.baselineBand) {
      expect(point.n).toBe(2);
      expect(point.mean).toBeCloseTo(0.5 + point.step / 400, 9);
      expect(point.std).toBeCloseTo(Math.sqrt(2) * 0.02, 9); // two seeds at ±0.02
    }
  });

  it('is empty for a run whose environment reported no progress', () => {
    const store = RunStore.open(run.runDir);
    const empty = buildCurvesModel([], summarizeRun(store).ideas);
    store.close();
    expect(empty).toEqual({ byIdea: new Map(), baselineBand: [], fullStep: null });
  });
});

describe('the band of seeds that logged different steps', () => {
  it('interpolates a seed between its points and leaves it out past its range', () => {
    const points = (pairs: [number, number][]) => pairs.map(([step, value]) => ({ step, value, atMs: 0 }));
    const result = band([
      {
        points: points([
          [0, 0],
          [10, 1],
        ]),
      },
      {
        points: points([
          [0, 0.2],
          [5, 0.4],
        ]),
      },
    ]);
    expect(result).toEqual([
      { step: 0, mean: 0.1, std: expect.closeTo(Math.sqrt(0.02), 9), n: 2 },
      { step: 5, mean: 0.45, std: expect.closeTo(Math.sqrt(0.005), 9), n: 2 },
      { step: 10, mean: 1, std: 0, n: 1 },
    ]);
  });
});
