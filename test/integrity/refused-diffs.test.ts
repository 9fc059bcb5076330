/**
 * Reward integrity: edits that reach the evaluator, its data, anything outside the editable
 * globs, or outside the code are refused with a reason, and never run.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Edit } from '../../src/core/types.ts';
import { copyEnvironment, createTestRun, scriptedCoder, scriptedThinker } from '../helpers/sweep.ts';

async function sweepWith(edit: Edit) {
  const run = await createTestRun(copyEnvironment(), { ideas: 1, repairRounds: 0 });
  await run.sweep({ thinker: scriptedThinker([{ title: 'sneaky' }]), coder: scriptedCoder([edit]) });
  const idea = run.store.idea(1)!;
  return { run, idea };
}

describe('refused diffs', () => {
  it('refuses a change to protected data, and never runs it', async () => {
    const { run, idea } = await sweepWith({
      kind: 'search-replace',
      blocks: [{ path: 'data/public.json', search: '3.0', replace: '0.5' }],
    });
    expect(idea.status).toBe('failed');
    expect(idea.failureReason).toBe('refused');
    expect(idea.error).toMatch(/data\/public\.json is protected/);
    expect(run.store.evaluations(1)).toHaveLength(0);
  });

  it('refuses files outside the editable globs', async () => {
    const { idea } = await sweepWith({ kind: 'search-replace', blocks: [{ path: 'NOTES.md', search: '', replace: 'hi\n' }] });
    expect(idea.failureReason).toBe('refused');
    expect(idea.error).toMatch(/NOTES\.md is outside the editable files \(\*\.py\)/);
  });

  it('refuses paths that climb out of the code with ..', async () => {
    const { run, idea } = await sweepWith({
      kind: 'unified-diff',
      diff: '--- /dev/null\n+++ b/../evaluator/score.py\n@@ -0,0 +1 @@\n+print("score=100")\n',
    });
    expect(idea.failureReason).toBe('refused');
    expect(idea.error).toMatch(/climbs out of the code/);
    expect(readFileSync(path.join(run.runDir, 'evaluator', 'score.py'), 'utf8')).not.toContain('score=100');
  });

  it('refuses a diff that creates a symlink (e.g. to the evaluator answers)', async () => {
    const diff = [
      'diff --git a/answers.py b/answers.py',
      'new file mode 120000',
      'index 0000000..1111111',
      '--- /dev/null',
      '+++ b/answers.py',
      '@@ -0,0 +1 @@',
      '+../../evaluator/answer.json',
      '\\ No newline at end of file',
      '',
    ].join('\n');
    const { idea } = await sweepWith({ kind: 'unified-diff', diff });
    expect(idea.failureReason).toBe('refused');
    expect(idea.error).toMatch(/answers\.py: diffs may not create symlinks/);
  });

  it('refuses to write through a symlink that points out of the code', async () => {
    const { mkdirSync, symlinkSync } = await import('node:fs');
    const { applyEdit } = await import('../../src/patch/apply.ts');
    const { tempDir } = await import('../helpers/sweep.ts');
    const root = tempDir();
    const outside = tempDir();
    writeFileSync(path.join(outside, 'score.py'), 'print("score")\n');
    mkdirSync(path.join(root, 'src'));
    symlinkSync(outside, path.join(root, 'src', 'linked'));
    const result = await applyEdit(
      { kind: 'search-replace', blocks: [{ path: 'src/linked/score.py', search: 'print("score")', replace: 'print("score=100")' }] },
      root,
    );
    expect(result.ok).toBe(false);
    expect(!result.ok && result.message).toMatch(/src\/linked is a symlink/);
    expect(readFileSync(path.join(outside, 'score.py'), 'utf8')).toBe('print("score")\n');
  });

  it('scores every idea with the evaluator frozen at the start of the run', async () => {
    const environmentDir = copyEnvironment();
    const run = await createTestRun(environmentDir, { ideas: 1 });
    // Changing the environment's evaluator after the run started changes nothing for this run.
    writeFileSync(path.join(environmentDir, 'evaluator', 'answer.json'), '{"target": 0.5}');
    await run.sweep({
      thinker: scriptedThinker([{ title: 'x=3' }]),
      coder: scriptedCoder([{ kind: 'search-replace', blocks: [{ path: 'config.py', search: 'X = 0.5', replace: 'X = 3' }] }]),
    });
    expect(run.store.idea(0)!.reward).toBeCloseTo(10 - 2.5 ** 2);
    expect(run.store.idea(1)!.reward).toBeCloseTo(10);
    expect(existsSync(path.join(run.workspace.repoDir, 'score.py'))).toBe(false);
  });

  it('refuses an edit that writes a git-ignored file, which would run without being in the commit', async () => {
    const environmentDir = copyEnvironment();
    writeFileSync(path.join(environmentDir, 'code', '.gitignore'), 'cache/\n');
    const run = await createTestRun(environmentDir, { ideas: 1, repairRounds: 0 });
    await run.sweep({
      thinker: scriptedThinker([{ title: 'hidden payload' }]),
      coder: scriptedCoder([
        {
          kind: 'search-replace',
          blocks: [
            { path: 'cache/payload.py', search: '', replace: 'X = 3\n' },
            { path: 'config.py', search: 'X = 0.5', replace: 'from cache.payload import X' },
          ],
        },
      ]),
    });
    const idea = run.store.idea(1)!;
    expect(idea.failureReason).toBe('refused');
    expect(idea.error).toMatch(/cache\/payload\.py is ignored by the code's \.gitignore/);
    expect(run.store.evaluations(1)).toHaveLength(0);
  });

  it('stops the sweep when the frozen evaluator changes under it', async () => {
    const run = await createTestRun(copyEnvironment(), { ideas: 2 });
    const { chmodSync } = await import('node:fs');
    const score = path.join(run.runDir, 'evaluator', 'score.py');
    const replies = [{ kind: 'search-replace' as const, blocks: [{ path: 'config.py', search: 'X = 0.5', replace: 'X = 2' }] }];
    // After the baseline, something outside the sweep rewrites the judge.
    const thinker = scriptedThinker([{ title: 'x=2' }, { title: 'x=3' }]);
    const propose = thinker.propose.bind(thinker);
    thinker.propose = async (context) => {
      chmodSync(score, 0o644);
      writeFileSync(score, 'import json, os\njson.dump({"score": 100}, open(os.path.join(os.environ["EVAL_DIR"], "metrics.json"), "w"))\n');
      return propose(context);
    };
    await expect(run.sweep({ thinker, coder: scriptedCoder(replies) })).rejects.toThrow(
      /frozen evaluator .* changed since the run was created/,
    );
    expect(run.store.ideas().every((idea) => idea.reward === null || idea.reward < 100)).toBe(true);
  });
});
