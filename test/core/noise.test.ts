/**
 * The one definition of "beyond noise" (src/core/noise.ts): paired seed by seed where seeds
 * match, means otherwise, and Student t thresholds that take the number of seeds into account.
 */
import { describe, expect, it } from 'vitest';
import { compareWithBaseline, describeNoise, isWin, tThreshold } from '../../src/core/noise.ts';

const seeds = (...rewards: number[]) => new Map(rewards.map((reward, seed) => [seed, reward]));
const at = (entries: [seed: number, reward: number][]) => new Map(entries);

describe('judging a gain against the seed-to-seed noise', () => {
  it('compares seed by seed where the seeds match: a no-op that reproduces seed 0 is +0, not −(baseline mean − seed 0)', () => {
    const baseline = seeds(0.508, 0.796, 0.652);
    const noOp = compareWithBaseline(at([[0, 0.508]]), baseline, 'maximize')!;
    expect(noOp.delta).toBe(0);
    expect(noOp).toMatchObject({ noise: 'within', pairedSeeds: 1 });
  });

  it('pairs cancel what a seed does to both: a small gain repeated on every seed is beyond noise', () => {
    // The seed moves both by up to ±0.3; the change adds 0.05 ± 0.001 on each seed.
    const baseline = seeds(0.2, 0.8, 0.5);
    const idea = seeds(0.251, 0.849, 0.55);
    const paired = compareWithBaseline(idea, baseline, 'maximize')!;
    expect(paired.pairedSeeds).toBe(3);
    expect(paired.noise).toBe('beyond');
    expect(paired.delta).toBeCloseTo(0.05, 9);
    // The same numbers on other seeds than the baseline's cannot be paired: within the noise.
    const unpaired = compareWithBaseline(
      at([
        [10, 0.251],
        [11, 0.849],
        [12, 0.55],
      ]),
      baseline,
      'maximize',
    )!;
    expect(unpaired).toMatchObject({ noise: 'within', pairedSeeds: 0 });
  });

  it('asks for more standard errors when fewer seeds measure the noise (Student t, 95% two-sided)', () => {
    expect(tThreshold(1)).toBeCloseTo(12.706);
    expect(tThreshold(2)).toBeCloseTo(4.303);
    expect(tThreshold(11)).toBeCloseTo(2.228); // between table entries: the stricter one
    expect(tThreshold(5000)).toBeCloseTo(1.96);
    // A one-seed idea against 4 baseline seeds with spread 0.1: SE = hypot(0.1/2, 0.1) ≈ 0.112, df 3 → 3.18 SE.
    const baseline = seeds(0.9, 1.0, 1.0, 1.1); // mean 1.0, std ≈ 0.0816
    const se = Math.hypot(0.0816 / 2, 0.0816);
    expect(compareWithBaseline(at([[7, 1.0 + 3 * se]]), baseline, 'maximize')!.noise).toBe('within');
    expect(compareWithBaseline(at([[7, 1.0 + 3.3 * se]]), baseline, 'maximize')!.noise).toBe('beyond');
    expect(compareWithBaseline(at([[7, 1.0 - 3.3 * se]]), baseline, 'maximize')).toMatchObject({ noise: 'beyond' });
    expect(isWin(compareWithBaseline(at([[7, 1.0 - 3.3 * se]]), baseline, 'maximize'))).toBe(false);
  });

  it('follows the goal: for a loss, lower is the gain', () => {
    const baseline = seeds(2.0, 2.01, 1.99);
    const lower = compareWithBaseline(seeds(1.5, 1.51, 1.49), baseline, 'minimize')!;
    expect(lower.delta).toBeCloseTo(0.5, 9);
    expect(isWin(lower)).toBe(true);
  });

  it('says the noise is unknown when the baseline ran one seed, and states the numbers otherwise', () => {
    const unknown = compareWithBaseline(at([[0, 5]]), at([[0, 1]]), 'maximize')!;
    expect(unknown).toMatchObject({ noise: 'unknown', delta: 4, standardError: null });
    expect(describeNoise(unknown)).toContain('noise unknown');
    const within = compareWithBaseline(seeds(1.01, 1.0, 1.02), seeds(1.0, 1.01, 1.0), 'maximize')!;
    expect(describeNoise(within)).toMatch(
      /^within noise \(\+0\.006\d* = [\d.]+ standard errors of [\d.]+, paired over 3 seeds; beyond takes more than 4\.303\)$/,
    );
  });

  it('stays finite at the ends of the doubles', () => {
    const max = Number.MAX_VALUE;
    const comparison = compareWithBaseline(seeds(max, max), seeds(-max, 0), 'maximize')!;
    expect(Number.isFinite(comparison.delta)).toBe(true);
    expect(comparison.ratio === null || Number.isFinite(comparison.ratio)).toBe(true);
  });
});
