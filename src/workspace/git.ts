/**
 * The git adapter: the run's own repository, one commit per idea, a worktree per running idea.
 *
 * Each run clones (or, for a plain folder, snapshots) the environment's code into
 * runs/<run-id>/repo, so a sweep never writes to the user's repository, and every idea is a real
 * commit on its own branch (`idea/<id>`) that plain git can inspect.
 */
import { existsSync, mkdirSync, readdirSync, rmSync, cpSync } from 'node:fs';
import path from 'node:path';
import { simpleGit, type SimpleGit } from 'simple-git';
import type { CommitResult, Workspace } from '../core/interfaces.ts';
import { WorkspaceError, describeError } from '../core/errors.ts';
import type { Environment } from '../environment/load.ts';

/** Identity for commits the researcher makes; set per command so no global git config is needed. */
const IDENTITY = ['user.name=ai-researcher', 'user.email=ai-researcher@localhost', 'commit.gpgsign=false'];

function git(dir: string): SimpleGit {
  return simpleGit({ baseDir: dir, config: IDENTITY });
}

export const BASE_BRANCH = 'base';
export const ideaBranch = (ideaId: number) => `idea/${ideaId}`;

/** Files a snapshot never copies: caches and build outputs that are not part of the code. */
const SNAPSHOT_SKIP = new Set(['.git', '__pycache__', 'node_modules', '.pytest_cache', '.mypy_cache']);

export class GitWorkspace implements Workspace {
  private constructor(
    readonly repoDir: string,
    readonly baseCommit: string,
    private readonly worktreesDir: string,
  ) {}

  /** Creates the run's repository from the environment's code and returns the workspace. */
  static async create(environment: Environment, runDir: string): Promise<GitWorkspace> {
    const repoDir = path.join(runDir, 'repo');
    const code = environment.code;
    try {
      if (code.kind === 'git') {
        await simpleGit({ config: IDENTITY }).clone(code.url, repoDir, ['--no-checkout']);
        await git(repoDir).checkout(['-B', BASE_BRANCH, code.ref]);
      } else if (isRepositoryRoot(code.path)) {
        // A repository of its own: clone it (hard links, so cheap) at the requested ref.
        await simpleGit({ config: IDENTITY }).clone(code.path, repoDir, ['--no-checkout']);
        await git(repoDir).checkout(['-B', BASE_BRANCH, code.ref ?? 'HEAD']);
      } else {
        if (code.ref) {
          throw new WorkspaceError(
            `${environment.file}: code.ref is set but ${code.path} is not a git repository; remove ref or point code.path at a repository`,
          );
        }
        snapshotFolder(code.path, repoDir);
        const repo = git(repoDir);
        await repo.init(['--initial-branch', BASE_BRANCH]);
        await repo.add(['-A']);
        await repo.commit(`Snapshot of environment ${environment.config.name}`, undefined, { '--allow-empty': null });
      }
    } catch (error) {
      if (error instanceof WorkspaceError) throw error;
      const source = code.kind === 'git' ? code.url : code.path;
      throw new WorkspaceError(`could not prepare the code from ${source}: ${firstLine(error)}`, { cause: error });
    }
    const baseCommit = (await git(repoDir).revparse(['HEAD'])).trim();
    return new GitWorkspace(repoDir, baseCommit, path.join(runDir, 'worktrees'));
  }

  /** Opens the repository of an existing run (resume, show, apply). */
  static async open(runDir: string): Promise<GitWorkspace> {
    const repoDir = path.join(runDir, 'repo');
    if (!existsSync(path.join(repoDir, '.git'))) {
      throw new WorkspaceError(`${repoDir} is missing: the run's repository was deleted, so the run cannot continue`);
    }
    const baseCommit = (await git(repoDir).revparse([BASE_BRANCH])).trim();
    return new GitWorkspace(repoDir, baseCommit, path.join(runDir, 'worktrees'));
  }

  async checkout(ideaId: number, commit: string): Promise<string> {
    mkdirSync(this.worktreesDir, { recursive: true });
    const dir = path.join(this.worktreesDir, `idea-${ideaId}`);
    if (existsSync(dir)) await this.release(dir);
    await git(this.repoDir).raw(['worktree', 'add', '--detach', '--quiet', dir, commit]);
    return dir;
  }

  async commit(dir: string, ideaId: number, message: string): Promise<CommitResult> {
    const tree = git(dir);
    await tree.add(['-A']);
    const changedFiles = (await tree.raw(['diff', '--cached', '--name-only', '-z']))
      .split('\0')
      .filter(Boolean);
    await tree.commit(message, undefined, { '--allow-empty': null, '--no-verify': null });
    const commit = (await tree.revparse(['HEAD'])).trim();
    await tree.raw(['branch', '-f', ideaBranch(ideaId), commit]);
    const diff = await tree.raw(['diff', '--no-color', '--no-ext-diff', 'HEAD~1', 'HEAD']);
    return { commit, diff, changedFiles };
  }

  /** Paths changed in a working tree (staged, unstaged and untracked), with whether each is a symlink. */
  async pendingChanges(dir: string): Promise<{ path: string; symlink: boolean; deleted: boolean }[]> {
    const tree = git(dir);
    await tree.add(['-A']);
    const raw = await tree.raw(['diff', '--cached', '--raw', '-z', '--no-renames']);
    // --raw -z output: ":<oldmode> <newmode> <oldsha> <newsha> <status>\0<path>\0" per file.
    const fields = raw.split('\0').filter(Boolean);
    const changes: { path: string; symlink: boolean; deleted: boolean }[] = [];
    for (let i = 0; i + 1 < fields.length; i += 2) {
      const [, newMode, , , status] = fields[i].slice(1).split(' ');
      changes.push({ path: fields[i + 1], symlink: newMode === '120000', deleted: status === 'D' });
    }
    return changes;
  }

  async reset(dir: string): Promise<void> {
    const tree = git(dir);
    await tree.raw(['reset', '--hard', '--quiet']);
    await tree.raw(['clean', '-fdq']);
  }

  async release(dir: string): Promise<void> {
    // Deleting the folder and pruning is much faster than `git worktree remove` on big trees.
    rmSync(dir, { recursive: true, force: true });
    await git(this.repoDir).raw(['worktree', 'prune']);
  }

  async readFile(commit: string, relativePath: string): Promise<string | null> {
    try {
      return await git(this.repoDir).show([`${commit}:${relativePath}`]);
    } catch {
      return null;
    }
  }

  async listFiles(commit: string): Promise<string[]> {
    const out = await git(this.repoDir).raw(['ls-tree', '-r', '--name-only', '-z', commit]);
    return out.split('\0').filter(Boolean);
  }

  async cleanup(): Promise<void> {
    if (existsSync(this.worktreesDir)) {
      for (const entry of readdirSync(this.worktreesDir)) {
        rmSync(path.join(this.worktreesDir, entry), { recursive: true, force: true });
      }
    }
    await git(this.repoDir).raw(['worktree', 'prune']);
  }

  /** Worktrees git still knows about, other than the main checkout. */
  async listWorktrees(): Promise<string[]> {
    const out = await git(this.repoDir).raw(['worktree', 'list', '--porcelain']);
    return out
      .split('\n')
      .filter((line) => line.startsWith('worktree '))
      .map((line) => line.slice('worktree '.length))
      .filter((dir) => path.resolve(dir) !== path.resolve(this.repoDir));
  }
}

function isRepositoryRoot(dir: string): boolean {
  return existsSync(path.join(dir, '.git'));
}

function snapshotFolder(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  cpSync(from, to, {
    recursive: true,
    filter: (source) => !SNAPSHOT_SKIP.has(path.basename(source)),
  });
}

function firstLine(error: unknown): string {
  return describeError(error).trim().split('\n')[0];
}
