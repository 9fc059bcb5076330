/**
 * Noise-honest defaults, through the CLI as a new user runs it: a default sweep of the noisy
 * fixture (each seed moves the score by up to ±0.5, the knob by a thousandth) measures the
 * baseline on 3 seeds, confirms a would-be best with 2 more, compares it seed by seed, and
 * announces no win anywhere: not in the closing line, `show`, `show --json`, summary.md,
 * report.html or `compare`.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.ts';
import type { RunSummary } from '../../src/report/run-summary.ts';
import { REPO_ROOT, tempDir } from '../helpers/sweep.ts';

const NOISY = path.join(REPO_ROOT, 'test/fixtures/noisy');

async function cli(...args: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const log = vi.spyOn(console, 'log').mockImplementation((...parts: unknown[]) => void (out += `${parts.join(' ')}\n`));
  try {
    return { code: await main(args), out };
  } finally {
    log.mockRestore();
  }
}

describe('a default sweep whose best idea is within the seed noise', () => {
  let runs: string;
  let closing: string;

  beforeAll(async () => {
    runs = tempDir('researcher-noise-');
    // Researcher seeds 2 and 1: with 2 the top idea beats the baseline's mean, with 1 it does not.
    const lucky = await cli('run', NOISY, '--ideas', '4', '--seed', '2', '--runs-dir', runs, '--run-id', 'lucky');
    expect(lucky.code).toBe(0);
    closing = lucky.out;
    // --fresh: the second run must not start from the first one's lab notebook (same runs folder).
    expect((await cli('run', NOISY, '--ideas', '4', '--seed', '1', '--fresh', '--runs-dir', runs, '--run-id', 'other')).code).toBe(0);
  }, 180_000);

  it('measures the baseline on 3 seeds and confirms the would-be best on the baseline’s next seeds', async () => {
    const summary = JSON.parse((await cli('show', path.join(runs, 'lucky'), '--json')).out) as RunSummary;
    expect(summary.run).toMatchObject({ seeds: 1, baselineSeeds: 3, confirmSeeds: 2 });
    expect(summary.baseline!.rewardCount).toBe(3);
    const best = summary.ideas.find((idea) => idea.id === summary.best!.id)!;
    expect(best.id).not.toBe(0);
    expect(best.reward!).toBeGreaterThan(summary.baseline!.reward!);
    expect(best.evaluations.map((e) => e.seed)).toEqual([0, 1, 2]);
    // Paired on the 3 seeds both ran: the mean of the per-seed differences.
    const base = summary.ideas[0].evaluations;
    const perSeed = best.evaluations.map((e) => e.reward! - base.find((b) => b.seed === e.seed)!.reward!);
    expect(meanOf(perSeed)).toBeCloseTo(summary.best!.improvement!, 12);
    expect(summary.best).toMatchObject({ noise: 'within', comparison: { noise: 'within', pairedSeeds: 3, basis: 'paired' } });
    expect(summary.best!.comparison!.threshold).toBeCloseTo(4.303);
    expect(Math.abs(summary.best!.comparison!.ratio!)).toBeLessThan(4.303);
  });

  it('does not announce a win in the closing line or in show', async () => {
    for (const out of [closing, (await cli('show', path.join(runs, 'lucky'))).out]) {
      expect(out).not.toContain('★');
      expect(out).not.toMatch(/^best: /m);
      expect(out).toMatch(
        /^no win beyond noise: the top idea is idea \d+ ".*" [\d.]+ vs baseline [\d.]+, within noise \(\+[\d.]+ = [\d.]+ standard errors of [\d.]+, paired over 3 seeds; beyond takes more than 4\.303\)$/m,
      );
    }
  });

  it('does not announce a win in summary.md or report.html', () => {
    const markdown = readFileSync(path.join(runs, 'lucky', 'summary.md'), 'utf8');
    expect(markdown).not.toContain('**Best:');
    expect(markdown).toMatch(
      /\*\*No win beyond noise\.\*\* The top idea, idea \d+ — .*The gain is within noise \(.*paired over 3 seeds.*\): rerun with more seeds/,
    );
    const html = readFileSync(path.join(runs, 'lucky', 'report.html'), 'utf8');
    expect(html).not.toContain('Best: <a');
    expect(html).toContain('<b>No win beyond noise.</b> The top idea');
  });

  it('compare names no winner when the gap between the two runs is within their noise', async () => {
    const { code, out } = await cli('compare', path.join(runs, 'lucky'), path.join(runs, 'other'));
    expect(code).toBe(0);
    expect(out).not.toContain('★');
    expect(out).not.toMatch(/found the better|is ahead/);
    expect(out).toMatch(
      /no winner beyond noise \(\+[\d.]+ vs [+−-][\d.]+ over their own baselines; within noise \(.*each run's gain over its own baseline; beyond takes more than 4\.303\)\); neither run's best is beyond its own baseline's noise\./,
    );
    const json = JSON.parse((await cli('compare', path.join(runs, 'lucky'), path.join(runs, 'other'), '--json')).out);
    expect(json).toMatchObject({ winner: null, gainComparison: { noise: 'within', basis: 'gains' } });
  });
});

function meanOf(values: number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}
