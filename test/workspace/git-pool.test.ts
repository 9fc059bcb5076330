/**
 * The git workspace's fast paths, on real repositories: worktrees are reused across ideas
 * without anything of one idea (its files, a run's leftovers) reaching the next; file reads go
 * through one long-lived git process and still answer exactly what `git show` would.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadEnvironment } from '../../src/environment/load.ts';
import { GitWorkspace } from '../../src/workspace/git.ts';
import { copyEnvironment, tempDir } from '../helpers/sweep.ts';

const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8' }).trim();

async function workspace(): Promise<GitWorkspace> {
  return GitWorkspace.create(loadEnvironment(copyEnvironment()), tempDir());
}

describe('pooled worktrees', () => {
  it('hands a released worktree to the next idea, clean and exactly at its commit', async () => {
    const ws = await workspace();
    const first = await ws.checkout(1, ws.baseCommit);
    writeFileSync(path.join(first, 'config.py'), 'X = 2\n');
    writeFileSync(path.join(first, 'new_module.py'), 'Y = 1\n');
    const one = await ws.commit(first, 1, 'idea one');
    expect(one.changedFiles.sort()).toEqual(['config.py', 'new_module.py']);
    // The run leaves junk behind: an untracked cache, an ignored-looking folder, an edited file.
    mkdirSync(path.join(first, '__pycache__'));
    writeFileSync(path.join(first, '__pycache__', 'config.cpython-311.pyc'), 'junk');
    writeFileSync(path.join(first, 'train.py'), 'edited by the run\n');
    await ws.release(first);

    const second = await ws.checkout(2, ws.baseCommit);
    expect(second).toBe(first); // reused, not a new `git worktree add`
    expect(readFileSync(path.join(second, 'config.py'), 'utf8')).toBe('X = 0.5\n');
    expect(existsSync(path.join(second, 'new_module.py'))).toBe(false);
    expect(existsSync(path.join(second, '__pycache__'))).toBe(false);
    expect(git(second, 'status', '--porcelain', '--untracked-files=all')).toBe('');
    expect(git(second, 'rev-parse', 'HEAD')).toBe(ws.baseCommit);

    // And on top of idea 1's commit, the tree is idea 1's.
    await ws.release(second);
    const third = await ws.checkout(3, one.commit);
    expect(readFileSync(path.join(third, 'new_module.py'), 'utf8')).toBe('Y = 1\n');
    writeFileSync(path.join(third, 'config.py'), 'X = 3\n');
    const three = await ws.commit(third, 3, 'idea three');
    expect(three.changedFiles).toEqual(['config.py']);
    expect(three.diff).toMatch(/^diff --git a\/config\.py b\/config\.py\n[^]*-X = 2\n\+X = 3\n$/);
    expect(git(ws.repoDir, 'rev-parse', 'idea/3^')).toBe(one.commit);
    expect(git(ws.repoDir, 'rev-parse', 'idea/3')).toBe(three.commit);
    await ws.release(third);
    ws.close();
  });

  it('gives concurrent ideas distinct worktrees and removes them all at cleanup', async () => {
    const ws = await workspace();
    const dirs = await Promise.all([1, 2, 3].map((id) => ws.checkout(id, ws.baseCommit)));
    expect(new Set(dirs).size).toBe(3);
    await Promise.all(dirs.map((dir) => ws.release(dir)));
    await ws.cleanup();
    for (const dir of dirs) expect(existsSync(dir)).toBe(false);
    expect(await ws.listWorktrees()).toEqual([]);
    ws.close();
  });

  it('reports pending changes: edits, deletions, new files and symlinks, with names that have spaces', async () => {
    const ws = await workspace();
    const dir = await ws.checkout(1, ws.baseCommit);
    writeFileSync(path.join(dir, 'config.py'), 'X = 9\n');
    unlinkSync(path.join(dir, 'train.py'));
    mkdirSync(path.join(dir, 'sub dir'));
    writeFileSync(path.join(dir, 'sub dir', 'a b.py'), 'pass\n');
    symlinkSync('/etc/hostname', path.join(dir, 'link.py'));
    const changes = (await ws.pendingChanges(dir)).sort((a, b) => a.path.localeCompare(b.path));
    expect(changes).toEqual([
      { path: 'config.py', symlink: false, deleted: false },
      { path: 'link.py', symlink: true, deleted: false },
      { path: 'sub dir/a b.py', symlink: false, deleted: false },
      { path: 'train.py', symlink: false, deleted: true },
    ]);
    // Nothing was staged by looking.
    expect(git(dir, 'diff', '--cached', '--name-only')).toBe('');
    ws.close();
  });
});

describe('reading files of a commit', () => {
  it('answers like git show, null for missing paths and folders, and many reads at once', async () => {
    const ws = await workspace();
    const dir = await ws.checkout(1, ws.baseCommit);
    const binary = Buffer.from([0, 1, 2, 10, 255, 10, 0]);
    writeFileSync(path.join(dir, 'blob.bin'), binary);
    writeFileSync(path.join(dir, 'empty.py'), '');
    const one = await ws.commit(dir, 1, 'files');
    expect(await ws.readFile(one.commit, 'empty.py')).toBe('');
    expect(await ws.readFile(one.commit, 'blob.bin')).toBe(binary.toString('utf8'));
    expect(await ws.readFile(one.commit, 'missing.py')).toBeNull();
    expect(await ws.readFile(one.commit, 'data')).toBeNull(); // a folder
    expect(await ws.readFile('0'.repeat(40), 'config.py')).toBeNull();
    const paths = ['config.py', 'train.py', 'data/public.json', 'missing', 'empty.py'];
    const reads = await Promise.all(
      Array.from({ length: 40 }, (_, i) => ws.readFile(i % 2 ? one.commit : ws.baseCommit, paths[i % paths.length])),
    );
    reads.forEach((text, i) => {
      const file = paths[i % paths.length];
      const commit = i % 2 ? one.commit : ws.baseCommit;
      let expected: string | null;
      try {
        expected = execFileSync('git', ['show', `${commit}:${file}`], {
          cwd: ws.repoDir,
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'ignore'],
        });
      } catch {
        expected = null;
      }
      expect(text).toBe(expected);
    });
    expect((await ws.listFiles(one.commit)).sort()).toEqual(['blob.bin', 'config.py', 'data/public.json', 'empty.py', 'train.py']);
    ws.close();
  });

  it('does not keep the process alive: a script that only reads files exits on its own', async () => {
    const ws = await workspace();
    const script = path.join(tempDir(), 'read.mts');
    writeFileSync(
      script,
      `import { GitWorkspace } from ${JSON.stringify(path.resolve('src/workspace/git.ts'))};\nconst ws = await GitWorkspace.open(${JSON.stringify(path.dirname(ws.repoDir))});\nconsole.log(await ws.readFile(ws.baseCommit, 'config.py'));\n`,
    );
    const out = execFileSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8', timeout: 60_000 });
    expect(out).toBe('X = 0.5\n\n');
    ws.close();
  });
});
