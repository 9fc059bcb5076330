import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { WorkspaceError } from '../../src/core/errors.ts';
import { loadEnvironment } from '../../src/environment/load.ts';
import { GitWorkspace } from '../../src/workspace/git.ts';
import { copyEnvironment, tempDir } from '../helpers/sweep.ts';

const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd, encoding: 'utf8' }).trim();

function environmentFor(codeYaml: string): string {
  const dir = tempDir('researcher-env-');
  writeFileSync(
    path.join(dir, 'environment.yaml'),
    `name: demo\ndescription: d\ncode: ${codeYaml}\neditable: ["*.py"]\nrun: { command: "true", timeout: 5s }\nreward: { source: regex, pattern: "x=(\\\\S+)", goal: maximize }\n`,
  );
  return dir;
}

describe('GitWorkspace', () => {
  it('snapshots a plain folder into a repository of its own, leaving caches out', async () => {
    const environmentDir = copyEnvironment();
    mkdirSync(path.join(environmentDir, 'code', '__pycache__'));
    writeFileSync(path.join(environmentDir, 'code', '__pycache__', 'config.cpython-311.pyc'), 'x');
    const runDir = tempDir();
    const workspace = await GitWorkspace.create(loadEnvironment(environmentDir), runDir);
    expect((await workspace.listFiles(workspace.baseCommit)).sort()).toEqual(['config.py', 'data/public.json', 'train.py']);
    expect(git(workspace.repoDir, 'branch', '--show-current')).toBe('base');
    // The environment folder itself is untouched: no .git appears in it.
    expect(existsSync(path.join(environmentDir, 'code', '.git'))).toBe(false);
  });

  it('makes each idea a commit on its own branch, built on its parent, with a clean diff', async () => {
    const workspace = await GitWorkspace.create(loadEnvironment(copyEnvironment()), tempDir());
    const first = await workspace.checkout(1, workspace.baseCommit);
    writeFileSync(path.join(first, 'config.py'), 'X = 2\n');
    const one = await workspace.commit(first, 1, 'x to 2');
    await workspace.release(first);
    expect(one.changedFiles).toEqual(['config.py']);
    expect(one.diff).toContain('-X = 0.5\n+X = 2');

    const second = await workspace.checkout(2, one.commit);
    writeFileSync(path.join(second, 'train.py'), 'print("hi")\n');
    const two = await workspace.commit(second, 2, 'new train');
    await workspace.release(second);
    expect(two.diff).not.toContain('X = 2'); // only its own change, not its parent's
    expect(git(workspace.repoDir, 'rev-parse', 'idea/2^')).toBe(one.commit);
    expect(git(workspace.repoDir, 'log', '--format=%s', 'idea/2')).toBe('new train\nx to 2\nSnapshot of environment quadratic');
    expect(await workspace.readFile(two.commit, 'config.py')).toBe('X = 2\n');
  });

  it('reports symlinks among pending changes, and cleans up worktrees a killed process left', async () => {
    const workspace = await GitWorkspace.create(loadEnvironment(copyEnvironment()), tempDir());
    const dir = await workspace.checkout(3, workspace.baseCommit);
    execFileSync('ln', ['-s', '/etc/passwd', path.join(dir, 'link.py')]);
    expect(await workspace.pendingChanges(dir)).toEqual([{ path: 'link.py', symlink: true, deleted: false }]);
    await workspace.cleanup();
    expect(existsSync(dir)).toBe(false);
    expect(await workspace.listWorktrees()).toEqual([]);
  });

  it('clones a code path that is a git repository at the requested ref', async () => {
    const repo = tempDir('user-repo-');
    git(repo, 'init', '-q', '-b', 'main');
    writeFileSync(path.join(repo, 'train.py'), 'v1\n');
    git(repo, 'add', '.');
    git(repo, 'commit', '-qm', 'v1');
    git(repo, 'tag', 'v1');
    writeFileSync(path.join(repo, 'train.py'), 'v2\n');
    git(repo, 'commit', '-qam', 'v2');
    const environmentDir = environmentFor(`{ path: ${JSON.stringify(repo)}, ref: v1 }`);
    const workspace = await GitWorkspace.create(loadEnvironment(environmentDir), tempDir());
    expect(await workspace.readFile(workspace.baseCommit, 'train.py')).toBe('v1\n');
    // The user's repository is not touched: no new branch appears in it.
    expect(git(repo, 'branch', '--list')).toBe('* main');
  });

  it('gives a one-line error naming the fix when code.ref is set on a plain folder', async () => {
    const folder = tempDir('plain-');
    const environmentDir = environmentFor(`{ path: ${JSON.stringify(folder)}, ref: main }`);
    await expect(GitWorkspace.create(loadEnvironment(environmentDir), tempDir())).rejects.toThrow(
      /code\.ref is set but .* is not a git repository; remove ref or point code\.path at a repository/,
    );
  });

  it('gives a one-line WorkspaceError for a git URL that cannot be cloned', async () => {
    const environmentDir = environmentFor(`{ git: ${JSON.stringify(path.join(tempDir(), 'missing.git'))} }`);
    const error = await GitWorkspace.create(loadEnvironment(environmentDir), tempDir()).catch((e) => e);
    expect(error).toBeInstanceOf(WorkspaceError);
    expect(error.message).toMatch(/^could not prepare the code from .*missing\.git: /);
    expect(error.message.split('\n')).toHaveLength(1);
  });
});
