/**
 * The report model of a real sweep with known outcomes (scripted thinker and coder on the
 * quadratic fixture: one good idea, one edit that does not apply, one run that crashes), and the
 * noise judgement that tells a reader whether a gain is real.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { buildReportModel, type ReportModel } from '../../src/report/report-model.ts';
import { rewardPlotSvg } from '../../src/report/reward-plot.ts';
import { summarizeRun } from '../../src/report/run-summary.ts';
import { renderSummaryMarkdown } from '../../src/report/summary-markdown.ts';
import { createTestRun, QUADRATIC, scriptedCoder, scriptedThinker, setX } from '../helpers/sweep.ts';

describe('the report model of a sweep', () => {
  let model: ReportModel;

  beforeAll(async () => {
    const run = await createTestRun(QUADRATIC, { ideas: 3, seeds: 2, baselineSeeds: 2, confirmSeeds: 0, repairRounds: 0 });
    await run.sweep({
      thinker: scriptedThinker([
        { title: 'x to 2', hypothesis: 'closer to the target' },
        { title: 'edit a line that is not there', hypothesis: 'a coder mistake' },
        { title: 'x to 9', hypothesis: 'past the point where training diverges' },
      ]),
      coder: scriptedCoder([
        setX('2'),
        { kind: 'search-replace', blocks: [{ path: 'config.py', search: 'Y = 1', replace: 'Y = 2' }] },
        setX('9'),
      ]),
    });
    model = buildReportModel(summarizeRun(run.store));
    run.store.close();
  }, 120_000);

  it('has one timeline point per finished evaluation, with failed ones marked', () => {
    const byIdea = (id: number) => model.points.filter((p) => p.ideaId === id);
    expect(byIdea(0)).toHaveLength(2);
    expect(byIdea(1).map((p) => p.seed)).toEqual([0, 1]);
    expect(byIdea(1).every((p) => p.reward !== null && p.failureReason === null)).toBe(true);
    expect(byIdea(2)).toHaveLength(0);
    // A crash under the first seed stops the idea: one failed evaluation.
    expect(byIdea(3)).toEqual([expect.objectContaining({ reward: null, failureReason: 'crashed', seed: 0 })]);
    const times = model.points.map((p) => p.atMs);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(times[0]).toBeGreaterThanOrEqual(0);
  });

  it('marks ideas that failed before running, and keeps the best-so-far curve monotone', () => {
    expect(model.earlyFailures).toEqual([expect.objectContaining({ ideaId: 2, failureReason: 'patch-failed' })]);
    expect(model.bestSoFar.map((s) => s.ideaId)).toEqual([0, 1]);
    expect(model.bestSoFar[1].reward).toBeGreaterThan(model.bestSoFar[0].reward);
  });

  it('ranks the best idea first and judges its gain against the seed-to-seed noise', () => {
    expect(model.best?.id).toBe(1);
    expect(model.ranked.map((idea) => idea.id)).toEqual([1, 0, 2, 3]);
    expect(model.ranked[0].rank).toBe(1);
    expect(model.ranked[2].rank).toBeNull();
    // score = 10 − (x − 3)² + 0.01·seed: x = 2 gives 9.005 ± 0.007 against 3.755 ± 0.007.
    expect(model.best!.reward).toBeCloseTo(9.005, 9);
    expect(model.best!.verdict).toBe('better');
    // Both ran seeds 0 and 1: compared seed by seed, the seed's +0.01 cancels and no noise is left.
    expect(model.best!.noise).toMatchObject({ noise: 'beyond', pairedSeeds: 2 });
    expect(model.best!.noise!.delta).toBeCloseTo(5.25, 9);
    expect(model.best!.noise!.standardError).toBeLessThan(1e-9);
  });

  it('totals the night: ideas by outcome, failures by reason, evaluations, compute', () => {
    const { totals } = model;
    expect(totals).toMatchObject({ tried: 3, succeeded: 1, failed: 2, unfinished: 0, evaluations: 5, gpuHours: 0, costUsd: 0 });
    expect(totals.failedByReason).toEqual([
      ['crashed', 1],
      ['patch-failed', 1],
    ]);
    expect(totals.computeHours).toBeGreaterThan(0);
  });

  it("keeps the tail of a failed idea's log, where the traceback is", () => {
    const crashed = model.ideas.find((idea) => idea.id === 3)!;
    expect(crashed.logTail?.file).toBe('ideas/3/seed-0/run.log');
    expect(crashed.logTail?.text).toContain('RuntimeError: diverged at X=9');
    expect(model.ideas.find((idea) => idea.id === 2)!.logTail).toBeNull();
  });

  it('draws each evaluation and each early failure on the plot', () => {
    const svg = rewardPlotSvg(model);
    expect(svg.match(/class="eval-point /g)).toHaveLength(5);
    expect(svg.match(/class="eval-point is-failed"/g)).toHaveLength(1);
    expect(svg.match(/class="idea-failure"/g)).toHaveLength(1);
    expect(svg).toContain('class="baseline-band"');
  });

  it('writes the failures into summary.md', () => {
    const markdown = renderSummaryMarkdown(model);
    expect(markdown).toContain('**Best: idea 1 — x to 2**');
    expect(markdown).toContain('3 ideas tried: 1 succeeded, 2 failed (1 crashed, 1 patch-failed)');
    expect(markdown).toContain('- idea 2 (edit a line that is not there): **patch-failed**');
    expect(markdown).toContain('+X = 2');
  });
});
