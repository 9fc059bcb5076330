/**
 * The test split on a real sweep of the noisy fixture (its `test:` evaluator has its own hidden
 * target and noise): when the sweep ends, the top ideas and the baseline are re-run on fresh
 * seeds and scored by the frozen test evaluator; `researcher confirm` scores more on demand; the
 * reports give validation, test and the gap; and the thinker's prompt never holds a test reward.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { historySection } from '../../src/agents/llm/context.ts';
import { main } from '../../src/cli/main.ts';
import type { AgentResult, ResearchContext, Thinker } from '../../src/core/interfaces.ts';
import { formatNumber } from '../../src/core/format.ts';
import { ZERO_USAGE, type IdeaDraft } from '../../src/core/types.ts';
import { summarizeRun, type RunSummary } from '../../src/report/run-summary.ts';
import { RunStore } from '../../src/store/run-store.ts';
import { createTestRun, QUADRATIC, REPO_ROOT, scriptedCoder, scriptedThinker, setX, tempDir, type TestRun } from '../helpers/sweep.ts';

const NOISY = path.join(REPO_ROOT, 'test/fixtures/noisy');

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const log = vi.spyOn(console, 'log').mockImplementation((...parts: unknown[]) => void (out += `${parts.join(' ')}\n`));
  const error = vi.spyOn(console, 'error').mockImplementation((...parts: unknown[]) => void (err += `${parts.join(' ')}\n`));
  try {
    return { code: await main(args), out, err };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

/** A thinker that proposes one idea and keeps the prompt's history section the LLM thinker would send. */
function recordingThinker(prompts: string[]): Thinker {
  return {
    name: 'recording',
    async propose(context: ResearchContext): Promise<AgentResult<IdeaDraft>> {
      prompts.push(historySection(context, { budgetTokens: 100_000, diffLines: 40 }), JSON.stringify(context.history));
      return { value: { title: 'x to 2.5', hypothesis: 'in between', plan: '', expectedEffect: '' }, usage: ZERO_USAGE };
    },
  };
}

describe('the test split', () => {
  let run: TestRun;
  let afterSweep: RunSummary;
  const prompts: string[] = [];

  beforeAll(async () => {
    run = await createTestRun(NOISY, { ideas: 3, seeds: 1, baselineSeeds: 3, confirmSeeds: 2, testTop: 2, testSeeds: 2, repairRounds: 0 });
    const summary = await run.sweep({ thinker: scriptedThinker([{}]), coder: scriptedCoder([setX('0.373'), setX('4'), setX('1')]) });
    expect(summary.stoppedBy).toBe('budget');
    afterSweep = summarizeRun(run.store);
    // One more idea, resumed: its thinker sees the run after the test split was scored.
    run.store.setMeta('config', { ...run.store.config, ideas: 4 });
    await run.sweep({ thinker: recordingThinker(prompts), coder: scriptedCoder([setX('2.5')]) });
    run.store.close();
  }, 180_000);

  it('re-scores the top ideas and the baseline on fresh seeds when the sweep ends', () => {
    const ranked = afterSweep.ideas
      .filter((idea) => idea.id !== 0 && idea.reward !== null)
      .sort((a, b) => b.reward! - a.reward! || a.id - b.id)
      .map((idea) => idea.id);
    const scored = afterSweep.ideas.filter((idea) => idea.testRewardCount > 0).map((idea) => idea.id);
    expect(scored).toEqual([0, ...ranked.slice(0, 2)].sort());
    for (const idea of afterSweep.ideas.filter((i) => scored.includes(i.id))) {
      // Fresh seeds, the same for every idea: never one the search used.
      expect(idea.testRewards.map((r) => r.seed)).toEqual([1000, 1001]);
      expect(idea.evaluations.every((e) => e.seed < 1000)).toBe(true);
      expect(idea.testReward).toBeCloseTo((idea.testRewards[0].reward! + idea.testRewards[1].reward!) / 2, 12);
      // The test evaluator's own data: not the validation score of the same setting.
      expect(idea.testReward).not.toBe(idea.reward);
    }
    const best = afterSweep.best!;
    expect(best.testReward).toBe(afterSweep.ideas.find((i) => i.id === best.id)!.testReward);
    expect(best.testGap).toBeCloseTo(best.reward - best.testReward!, 12);
    expect(afterSweep.test!.chosen).toMatchObject({ id: best.id, validation: best.reward, test: best.testReward, gap: best.testGap });
    const onTest = afterSweep.ideas.filter((i) => i.testReward !== null).sort((a, b) => b.testReward! - a.testReward!)[0];
    expect(afterSweep.test!.bestOnTest).toMatchObject({ id: onTest.id, testReward: onTest.testReward });
    // x = 0.373 beats the baseline on validation (within noise): the chosen idea is an idea, compared on the 2 test seeds.
    expect(best.id).toBe(1);
    expect(afterSweep.test!.noise).toMatchObject({ pairedSeeds: 2, basis: 'paired' });
  });

  it('never shows a test reward to the thinker', () => {
    const testRewards = afterSweep.ideas.flatMap((idea) => idea.testRewards.map((r) => r.reward!));
    expect(testRewards.length).toBeGreaterThan(0);
    expect(prompts).toHaveLength(2);
    // The prompt does carry the validation rewards, so looking for the test ones means something.
    expect(prompts[0]).toContain(formatNumber(afterSweep.best!.reward));
    for (const prompt of prompts) {
      for (const reward of testRewards) {
        expect(prompt).not.toContain(formatNumber(reward));
        expect(prompt).not.toContain(String(reward));
      }
      expect(prompt).not.toMatch(/testReward|test split/i);
    }
  });

  it('`researcher confirm` scores chosen ideas on more seeds and the reports show validation, test and the gap', async () => {
    const { code, out } = await cli('confirm', run.runDir, '1', '--seeds', '3');
    expect(code).toBe(0);
    expect(out).toMatch(/^confirming the baseline, idea 1 on the test split, seeds 1000, 1001, 1002$/m);
    expect(out).toMatch(/^test split: idea 1 seed 1002: [\d.]+$/m);
    expect(out).toMatch(
      /^test split: on the test split, idea \d+ \(chosen on validation\) scores [\d.]+ against [\d.]+ on validation \(gap [+−][\d.]+/m,
    );
    const shown = JSON.parse((await cli('show', run.runDir, '--json')).out) as RunSummary;
    const idea1 = shown.ideas.find((i) => i.id === 1)!;
    expect(new Set(idea1.testRewards.map((r) => r.seed))).toEqual(new Set([1000, 1001, 1002]));
    expect(shown.ideas[0].testRewards.map((r) => r.seed).sort()).toEqual([1000, 1001, 1002]);

    const markdown = readFileSync(path.join(run.runDir, 'summary.md'), 'utf8');
    expect(markdown).toContain('## Test split');
    expect(markdown).toMatch(/\| idea \| title \| validation \| test \| gap \|/);
    expect(markdown).toMatch(/On the test split, idea \d+ \(chosen on validation\) scores/);
    const html = readFileSync(path.join(run.runDir, 'report.html'), 'utf8');
    expect(html).toMatch(
      /<p class="test-split">On the test split, idea \d+ \(chosen on validation\) scores [\d.]+ against [\d.]+ on validation/,
    );
    expect(html).toContain('fresh seeds</span>');
    // The leaderboard has a test column, with each scored idea's test reward.
    expect(html).toContain('<button type="button">test<span class="sort-mark">');
    // The test cell, after the reward and vs-baseline cells, sorts by the test reward.
    expect(html).toMatch(new RegExp(`<tr data-idea="1"[^>]*>(<td[^>]*>.*?</td>){5}<td class="num" data-sort="${idea1.testReward}">`));
  }, 120_000);

  it('refuses bad input in one line and loses nothing', async () => {
    const before = (() => {
      const store = RunStore.open(run.runDir);
      try {
        return store.testEvaluations.list().length;
      } finally {
        store.close();
      }
    })();
    const unknown = await cli('confirm', run.runDir, '99');
    expect(unknown.code).toBe(2);
    expect(unknown.err.trim().split('\n')).toHaveLength(1);
    expect(unknown.err).toMatch(/^error: "99" is not an idea of this run/);
    const store = RunStore.open(run.runDir);
    try {
      expect(store.testEvaluations.list()).toHaveLength(before);
    } finally {
      store.close();
    }

    const runs = tempDir('researcher-no-test-');
    expect((await cli('run', QUADRATIC, '--ideas', '1', '--baseline-seeds', '1', '--runs-dir', runs, '--run-id', 'q')).code).toBe(0);
    const noTest = await cli('confirm', path.join(runs, 'q'));
    expect(noTest.code).toBe(2);
    expect(noTest.err).toMatch(/^error: .*environment\.yaml: has no test: evaluator; declare one/);
  }, 120_000);
});
