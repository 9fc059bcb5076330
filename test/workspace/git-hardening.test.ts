/**
 * Git that runs nothing it did not write: hooks, fsmonitor and configuration a run step could
 * have planted in the run's repository, its worktrees or the user's HOME are never executed by
 * the researcher's git, and the researcher's environment (its API key) never reaches git.
 */
import { appendFileSync, chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadEnvironment } from '../../src/environment/load.ts';
import { GitWorkspace } from '../../src/workspace/git.ts';
import { copyEnvironment, tempDir } from '../helpers/sweep.ts';

function plantEverywhere(gitDir: string, evidence: string): void {
  mkdirSync(path.join(gitDir, 'hooks'), { recursive: true });
  for (const hook of ['post-checkout', 'pre-commit', 'post-commit', 'commit-msg', 'reference-transaction', 'pre-auto-gc']) {
    const file = path.join(gitDir, 'hooks', hook);
    writeFileSync(file, `#!/bin/sh\nenv > ${evidence}-${hook}\n`);
    chmodSync(file, 0o755);
  }
  appendFileSync(
    path.join(gitDir, 'config'),
    `[core]\n\tfsmonitor = "env > ${evidence}-fsmonitor; echo"\n[filter "x"]\n\tclean = "env > ${evidence}-filter; cat"\n`,
  );
}

describe("the researcher's git", () => {
  it('runs no hook or fsmonitor planted in the run repository, and passes no API key', async () => {
    const evidence = path.join(tempDir('researcher-evidence-'), 'ran');
    process.env.OPENAI_API_KEY = 'sk-hook-test';
    try {
      const workspace = await GitWorkspace.create(loadEnvironment(copyEnvironment()), tempDir());
      plantEverywhere(path.join(workspace.repoDir, '.git'), evidence);
      writeFileSync(path.join(workspace.repoDir, '.gitattributes'), '* filter=x\n');
      const tree = await workspace.checkout(1, workspace.baseCommit);
      writeFileSync(path.join(tree, 'config.py'), 'X = 2\n');
      await workspace.pendingChanges(tree);
      const committed = await workspace.commit(tree, 1, 'x to 2');
      await workspace.release(tree);
      const again = await workspace.checkout(2, committed.commit);
      await workspace.reset(again);
      await workspace.cleanup();
      const ran = [
        'post-checkout',
        'pre-commit',
        'post-commit',
        'commit-msg',
        'reference-transaction',
        'pre-auto-gc',
        'fsmonitor',
        'filter',
      ].filter((what) => existsSync(`${evidence}-${what}`));
      expect(ran).toEqual([]);
    } finally {
      delete process.env.OPENAI_API_KEY;
    }
  });

  it('never follows a .git file a run step rewrote in a worktree', async () => {
    const evidence = path.join(tempDir('researcher-evidence-'), 'ran');
    const workspace = await GitWorkspace.create(loadEnvironment(copyEnvironment()), tempDir());
    const tree = await workspace.checkout(1, workspace.baseCommit);
    // The step (unisolated, or through a Docker bind mount) points the worktree at a git dir of its own.
    const fake = path.join(tree, 'evil-git');
    mkdirSync(fake);
    writeFileSync(path.join(fake, 'HEAD'), 'ref: refs/heads/main\n');
    mkdirSync(path.join(fake, 'objects'));
    mkdirSync(path.join(fake, 'refs'));
    writeFileSync(path.join(fake, 'config'), '[core]\n\trepositoryformatversion = 0\n');
    plantEverywhere(fake, evidence);
    writeFileSync(path.join(tree, '.git'), `gitdir: ${fake}\n`);
    writeFileSync(path.join(tree, 'config.py'), 'X = 3\n');
    const committed = await workspace.commit(tree, 1, 'x to 3');
    expect(await workspace.readFile(committed.commit, 'config.py')).toBe('X = 3\n');
    await workspace.release(tree);
    expect(['pre-commit', 'post-commit', 'fsmonitor', 'reference-transaction'].filter((what) => existsSync(`${evidence}-${what}`))).toEqual(
      [],
    );
    expect(readFileSync(path.join(workspace.repoDir, '.git', 'config'), 'utf8')).not.toContain('fsmonitor');
    // The pooled worktree points at the real git dir again, for any tool that walks up to it.
    const reused = await workspace.checkout(2, committed.commit);
    expect(reused).toBe(tree);
    expect(readFileSync(path.join(reused, '.git'), 'utf8')).not.toContain(fake);
    expect(execFileSync('git', ['rev-parse', '--git-common-dir'], { cwd: reused, encoding: 'utf8' }).trim()).toBe(
      path.join(workspace.repoDir, '.git'),
    );
  });

  it('ignores global git configuration a run could have written under HOME', async () => {
    const home = tempDir('researcher-home-');
    const evidence = path.join(home, 'ran');
    writeFileSync(
      path.join(home, '.gitconfig'),
      `[core]\n\thooksPath = ${home}/hooks\n\tfsmonitor = "env > ${evidence}-fsmonitor; echo"\n`,
    );
    const savedHome = process.env.HOME;
    process.env.HOME = home;
    try {
      const workspace = await GitWorkspace.create(loadEnvironment(copyEnvironment()), tempDir());
      const tree = await workspace.checkout(1, workspace.baseCommit);
      writeFileSync(path.join(tree, 'config.py'), 'X = 4\n');
      await workspace.pendingChanges(tree);
      await workspace.commit(tree, 1, 'x to 4');
      expect(existsSync(`${evidence}-fsmonitor`)).toBe(false);
    } finally {
      process.env.HOME = savedHome;
    }
  });
});
