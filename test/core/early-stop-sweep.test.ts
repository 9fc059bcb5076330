/**
 * Early stopping inside real sweeps: the curves fixture's train.py (real python processes in the
 * local sandbox) prints a progress line per step; a clearly losing idea is stopped mid-run and
 * recorded as `stopped-early` with its partial curve and the rule's reason.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { formatLeaderboard } from '../../src/report/leaderboard.ts';
import { renderReportHtml } from '../../src/report/report-html.ts';
import { buildReportModel } from '../../src/report/report-model.ts';
import { summarizeRun } from '../../src/report/run-summary.ts';
import { renderSummaryMarkdown } from '../../src/report/summary-markdown.ts';
import { CURVES, curvesEnvironment, setCurveX as setX } from '../helpers/curves.ts';
import { createTestRun, scriptedCoder, scriptedThinker } from '../helpers/sweep.ts';

describe('early stopping in a sweep', () => {
  it('stops a clearly losing idea mid-run, keeps its curve and reason, lets the next idea run, and resumes it as stopped', async () => {
    const [on, off] = await Promise.all([
      createTestRun(CURVES, { ideas: 2, baselineSeeds: 2 }),
      createTestRun(CURVES, { ideas: 1, baselineSeeds: 2, earlyStop: 'off' }),
    ]);
    const thinker = () => scriptedThinker([{ title: 'tiny X' }, { title: 'large X' }]);
    await Promise.all([
      on.sweep({ thinker: thinker(), coder: scriptedCoder([setX('0.05'), setX('0.9')]) }),
      off.sweep({ thinker: thinker(), coder: scriptedCoder([setX('0.05')]) }),
    ]);

    const [baseline, losing, winning] = on.store.ideas();
    expect(baseline.status).toBe('succeeded');
    expect(losing.status).toBe('failed');
    expect(losing.failureReason).toBe('stopped-early');
    expect(losing.error).toMatch(/^stopped early at step \d+ of 20: its progress value .* below .* reached at that step$/);
    // The next idea ran in the freed slot, to its end.
    expect(winning.status).toBe('succeeded');
    expect(winning.reward).toBeGreaterThan(baseline.reward!);

    const [evaluation] = on.store.evaluations(losing.id);
    expect(on.store.evaluations(losing.id)).toHaveLength(1);
    expect(evaluation.failureReason).toBe('stopped-early');
    const [curve] = on.store.curves(losing.id);
    const lastStep = curve.points.at(-1)!.step;
    expect(lastStep).toBeGreaterThanOrEqual(5); // not before the grace fraction (25 % of 20 steps)
    expect(lastStep).toBeLessThan(20); // stopped before its end
    expect(readFileSync(evaluation.logPath!, 'utf8')).not.toContain('done');
    // Every run's curve is kept: the baseline's seeds and the winner in full.
    expect(on.store.curves(0).map((c) => c.points.length)).toEqual([20, 20]);
    expect(on.store.curves(winning.id)[0].points.map((p) => p.step)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(on.events.some((e) => e.type === 'log' && e.message.startsWith(`idea ${losing.id} seed 0: stopped early`))).toBe(true);

    // show --json: the idea's status, the rule's reason and its curve.
    const summary = summarizeRun(on.store);
    const shown = summary.ideas.find((idea) => idea.id === losing.id)!;
    // Stored as failed (so that resume never retries it), shown as stopped-early: not a failure.
    expect(shown.status).toBe('stopped-early');
    expect(shown.failureReason).toBe('stopped-early');
    expect(summary.run).toMatchObject({ ideasFailed: 0, ideasStoppedEarly: 1 });
    // Every view says so, with the rule's reason, and none counts it as a failure.
    const shownText = formatLeaderboard(summary);
    expect(shownText).toMatch(new RegExp(`\\b${losing.id}\\s+—.*stopped-early`));
    expect(shownText).toContain('ideas finished, 0 failed, 1 stopped early');
    const model = buildReportModel(summary, { curves: on.store.curves() });
    expect(model.totals).toMatchObject({ failed: 0, stoppedEarly: 1, unfinished: 0 });
    const markdown = renderSummaryMarkdown(model);
    expect(markdown).toContain(`## Stopped early`);
    expect(markdown).toContain(`- idea ${losing.id} (tiny X): ${losing.error}`);
    expect(markdown).not.toContain('## Failures');
    const html = renderReportHtml(model);
    expect(html).toContain('<div class="stopped"><b>Stopped early</b> (a low result, not a failure): stopped early at step ');
    expect(html).toContain('<span class="badge wait">stopped early</span>');
    expect(shown.error).toBe(losing.error);
    expect(shown.evaluations[0].curve.map((p) => p.step)).toEqual(curve.points.map((p) => p.step));

    // With the rule off, the same losing idea runs to its end and gets its (low) score.
    const [offBaseline, offLosing] = off.store.ideas();
    expect(offLosing.status).toBe('succeeded');
    expect(offLosing.reward).toBeLessThan(offBaseline.reward!);
    expect(off.store.curves(offLosing.id)[0].points).toHaveLength(20);

    // A researcher killed after the stop was recorded but before the idea's result: resumed,
    // the idea ends stopped-early again without running another seed.
    on.store.setIdeaStatus(losing.id, 'running');
    await on.sweep({ thinker: thinker(), coder: scriptedCoder([setX('0.05')]) });
    expect(on.store.idea(losing.id)!.failureReason).toBe('stopped-early');
    expect(on.store.evaluations(losing.id)).toHaveLength(1);
  }, 120_000);

  it('reads the curve from a JSON-lines progress file in $OUTPUT_DIR while the run runs', async () => {
    const run = await createTestRun(curvesEnvironment({ progressFile: true }), { ideas: 1, baselineSeeds: 2 });
    await run.sweep({ thinker: scriptedThinker([{ title: 'tiny X' }]), coder: scriptedCoder([setX('0.05')]) });
    const [, losing] = run.store.ideas();
    expect(losing).toMatchObject({ status: 'failed', failureReason: 'stopped-early' });
    expect(run.store.curves(0).map((c) => c.points.length)).toEqual([20, 20]);
    expect(run.store.curves(losing.id)[0].points.at(-1)!.step).toBeLessThan(20);
  }, 120_000);
});
