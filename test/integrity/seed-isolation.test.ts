/**
 * What ran is what was recorded, seed after seed: a run that writes next to its code (a cache, a
 * checkpoint, a tampered file) leaves nothing for the idea's next seed, which starts again from
 * exactly the idea's commit.
 */
import { describe, expect, it } from 'vitest';
import { copyEnvironment, createTestRun, scriptedCoder, scriptedThinker } from '../helpers/sweep.ts';

describe('seeds of one idea', () => {
  it("each start from the idea's commit, whatever the previous seed wrote in the worktree", async () => {
    const run = await createTestRun(copyEnvironment(), { ideas: 1, seeds: 3, confirmSeeds: 0, repairRounds: 0 });
    // The edit crashes when an earlier seed's leftover is there, and leaves one (and edits its own code).
    const edit = {
      kind: 'search-replace' as const,
      blocks: [
        {
          path: 'config.py',
          search: 'X = 0.5',
          replace: [
            'import os',
            'if os.path.exists("leftover.txt") or "\\nTAMPERED = 1" in open(__file__).read():',
            '    raise SystemExit("a previous seed left its files")',
            'open("leftover.txt", "w").write("seed")',
            'open(__file__, "a").write("\\nTAMPERED = 1\\n")',
            'X = 3',
          ].join('\n'),
        },
      ],
    };
    await run.sweep({ thinker: scriptedThinker([{ title: 'leaves files behind' }]), coder: scriptedCoder([edit]) });
    const evaluations = run.store.evaluations(1);
    expect(evaluations.map((e) => [e.seed, e.status])).toEqual([
      [0, 'succeeded'],
      [1, 'succeeded'],
      [2, 'succeeded'],
    ]);
    // What the seeds appended to their code is in no commit.
    expect(await run.workspace.readFile(run.store.idea(1)!.commit!, 'config.py')).not.toMatch(/^TAMPERED = 1$/m);
  });
});
