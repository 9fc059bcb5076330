/**
 * The same change twice is not run twice: an idea whose code is exactly an earlier idea's (or the
 * baseline's), whatever its title or parent, is recorded as a duplicate and never evaluated.
 */
import { describe, expect, it } from 'vitest';
import { copyEnvironment, createTestRun, scriptedCoder, scriptedThinker } from '../helpers/sweep.ts';

const setX = (from: string, to: string) => ({
  kind: 'search-replace' as const,
  blocks: [{ path: 'config.py', search: `X = ${from}`, replace: `X = ${to}` }],
});

describe('identical code', () => {
  it('is recorded as a duplicate of the idea that had it first, and not run', async () => {
    const run = await createTestRun(copyEnvironment(), { ideas: 3, repairRounds: 0 });
    await run.sweep({
      thinker: scriptedThinker([{ title: 'x to 3' }, { title: 'the same, said differently' }, { title: 'x to 2' }]),
      coder: scriptedCoder([setX('0.5', '3'), setX('0.5', '3'), setX('0.5', '2')]),
    });
    const [, first, second, third] = run.store.ideas();
    expect(first).toMatchObject({ status: 'succeeded', reward: 10 });
    expect(second).toMatchObject({ status: 'failed', failureReason: 'duplicate' });
    expect(second.error).toMatch(/the same code as idea 1 \(identical tree [0-9a-f]{8}\): not run twice/);
    expect(run.store.evaluations(second.id)).toEqual([]);
    expect(second.commit).toBeTruthy(); // its commit is kept, like any idea's
    expect(third).toMatchObject({ status: 'succeeded' });
  });
});
