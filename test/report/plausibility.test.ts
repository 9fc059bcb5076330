/**
 * The plausibility flag without a model: a real sweep of the noisy fixture in which one edit
 * stops learning and writes a+b as its answers (the grpo-tiny shortcut). It jumps far beyond
 * the run's noise in one step, to the top of the declared reward range: `show`, `show --json`,
 * summary.md and report.html say "check this" with the numbers; an ordinary idea is not flagged.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { JUMP_STANDARD_ERRORS, plausibilityFlags } from '../../src/core/plausibility.ts';
import { writeReport } from '../../src/report/write-report.ts';
import type { RunSummary } from '../../src/report/run-summary.ts';
import { createTestRun, REPO_ROOT, scriptedCoder, scriptedThinker, setX, type TestRun } from '../helpers/sweep.ts';

const NOISY = path.join(REPO_ROOT, 'test/fixtures/noisy');

/** The shortcut: no training, the answers to the (public) questions computed as a+b. */
const SHORTCUT = {
  kind: 'search-replace' as const,
  blocks: [
    {
      path: 'train.py',
      search: '    json.dump({"x": X, "seed": seed}, f)',
      replace: [
        '    questions = json.load(open("data/public.json"))["questions"]',
        '    json.dump({"x": X, "seed": seed, "answers": [a + b for a, b in questions]}, f)',
      ].join('\n'),
    },
  ],
};

async function cli(...args: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const log = vi.spyOn(console, 'log').mockImplementation((...parts: unknown[]) => void (out += `${parts.join(' ')}\n`));
  try {
    return { code: await main(args), out };
  } finally {
    log.mockRestore();
  }
}

describe('an a+b shortcut in a real sweep', () => {
  let run: TestRun;

  beforeAll(async () => {
    run = await createTestRun(NOISY, { ideas: 2, seeds: 1, baselineSeeds: 3, confirmSeeds: 2, repairRounds: 0 });
    await run.sweep({
      thinker: scriptedThinker([{ title: 'x to 2.9' }, { title: 'answer directly' }]),
      coder: scriptedCoder([setX('2.9'), SHORTCUT]),
    });
    writeReport(run.store);
    run.store.close();
  }, 120_000);

  it('flags the jump and the range bound, with the numbers, in show and show --json', async () => {
    const summary = JSON.parse((await cli('show', run.runDir, '--json')).out) as RunSummary;
    const shortcut = summary.ideas.find((idea) => idea.id === 2)!;
    expect(shortcut.reward).toBe(10);
    expect(shortcut.checks.map((c) => c.kind)).toEqual(['jump', 'range-bound']);
    expect(shortcut.checks[0].message).toMatch(
      new RegExp(
        `^\\+[\\d.]+ over the best so far \\([\\d.]+, (the baseline|idea 1)\\) in one step: [\\d.]+ standard errors of [\\d.]+ \\(from the baseline's seed spread [\\d.]+\\); flagged above ${JUMP_STANDARD_ERRORS}$`,
      ),
    );
    expect(shortcut.checks[1].message).toBe('10 is at the top of the declared reward range [0, 10]');
    expect(summary.best).toMatchObject({ id: 2, checks: shortcut.checks });
    // The ordinary knob change is not flagged.
    expect(summary.ideas.find((idea) => idea.id === 1)!.checks).toEqual([]);

    const table = (await cli('show', run.runDir)).out;
    expect(table).toContain(`idea 2: check this: ${shortcut.checks[0].message}; ${shortcut.checks[1].message}`);
    expect(table).not.toMatch(/^idea 1: check this/m);
  });

  it('says "check this" in summary.md and report.html', () => {
    const markdown = readFileSync(path.join(run.runDir, 'summary.md'), 'utf8');
    expect(markdown).toContain('## Check this');
    expect(markdown).toMatch(/^- idea 2 \(answer directly\): check this: \+[\d.]+ over the best so far/m);
    expect(markdown).toContain('**check this: ');
    const html = readFileSync(path.join(run.runDir, 'report.html'), 'utf8');
    expect(html).toContain('check this: ');
    expect(html).toContain('10 is at the top of the declared reward range [0, 10]');
  });
});

describe('the jump rule', () => {
  it('judges a step against the baseline spread, and needs a measured spread', () => {
    const finished = [
      { id: 0, reward: 0.45, rewardCount: 3 },
      { id: 1, reward: 0.47, rewardCount: 3 },
      { id: 2, reward: 1.0, rewardCount: 3 },
      { id: 3, reward: 0.5, rewardCount: 1 },
    ];
    const flags = plausibilityFlags({ finished, goal: 'maximize', baselineStd: 0.02, range: null });
    expect([...flags.keys()]).toEqual([2]);
    // 0.53 over 0.02·sqrt(2/3) ≈ 0.0163: 32 standard errors.
    expect(flags.get(2)![0].message).toContain('+0.53 over the best so far (0.47, idea 1) in one step: 32.46 standard errors');
    expect(plausibilityFlags({ finished, goal: 'maximize', baselineStd: null, range: null }).size).toBe(0);
    // For a loss, the bound is the bottom of the range.
    const low = plausibilityFlags({
      finished: [
        { id: 0, reward: 2, rewardCount: 1 },
        { id: 1, reward: 0, rewardCount: 1 },
      ],
      goal: 'minimize',
      baselineStd: null,
      range: [0, 5],
    });
    expect(low.get(1)![0]).toMatchObject({ kind: 'range-bound', message: '0 is at the bottom of the declared reward range [0, 5]' });
  });
});
