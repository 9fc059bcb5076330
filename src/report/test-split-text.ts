/**
 * The test split in words, the same in the closing line, `show`, summary.md, report.html and
 * `compare`: the chosen idea's validation and test rewards with the gap between them, and which
 * idea is best on test.
 */
import { formatNumber, signed } from '../core/format.ts';
import { describeNoise } from '../core/noise.ts';
import type { RunSummary } from './run-summary.ts';

/** Sentences about the test split; empty before any idea was scored on it. */
export function testSplitSentences(summary: Pick<RunSummary, 'test'>): string[] {
  const test = summary.test;
  if (!test) return [];
  const sentences: string[] = [];
  const { chosen, bestOnTest, noise } = test;
  const name = (id: number) => (id === 0 ? 'the baseline' : `idea ${id}`);
  if (chosen && chosen.test !== null) {
    const gap =
      chosen.gap === null
        ? ''
        : ` (gap ${signed(chosen.gap)}: ${chosen.gap > 0 ? 'validation overstated it' : chosen.gap < 0 ? 'it did better on test' : 'none'})`;
    sentences.push(
      `on the test split, ${name(chosen.id)} (chosen on validation) scores ${formatNumber(chosen.test)} against ${formatNumber(chosen.validation)} on validation${gap}`,
    );
    if (noise && chosen.id !== 0) {
      // describeNoise's hint is about validation seeds; on test the seeds are --test-seeds'.
      const judged = noise.noise === 'unknown' ? 'noise unknown: one test seed each (--test-seeds 3 measures it)' : describeNoise(noise);
      sentences.push(`against the baseline on the test seeds: ${judged}`);
    }
  } else if (chosen) {
    sentences.push(`${name(chosen.id)} (chosen on validation) has no test reward yet: \`researcher confirm\` scores it`);
  }
  if (bestOnTest) {
    sentences.push(
      bestOnTest.id === chosen?.id
        ? `it is also the best on test`
        : `best on test: ${name(bestOnTest.id)} "${bestOnTest.title}" ${formatNumber(bestOnTest.testReward)}`,
    );
  }
  return sentences;
}
