/**
 * The git adapter: the run's own repository, one commit per idea, a worktree per running idea.
 *
 * Each run clones (or, for a plain folder, snapshots) the environment's code into
 * runs/<run-id>/repo, so a sweep never writes to the user's repository, and every idea is a real
 * commit on its own branch (`idea/<id>`) that plain git can inspect.
 */
import { existsSync, lstatSync, mkdirSync, readdirSync, cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { simpleGit } from 'simple-git';
import type { CommitResult, Workspace } from '../core/interfaces.ts';
import { WorkspaceError } from '../core/errors.ts';
import type { Environment } from '../environment/load.ts';
import { GIT_IDENTITY, runGit, type GitLocation } from './git-command.ts';
import { ObjectReader } from './object-reader.ts';
import { errorLine } from '../core/format.ts';

export const BASE_BRANCH = 'base';
export const ideaBranch = (ideaId: number) => `idea/${ideaId}`;

/** Files a snapshot never copies: caches and build outputs that are not part of the code. */
const SNAPSHOT_SKIP = new Set(['.git', '__pycache__', 'node_modules', '.pytest_cache', '.mypy_cache', '.venv', 'venv']);

export class GitWorkspace implements Workspace {
  /** Clean worktrees ready for the next idea. */
  private readonly pool: string[] = [];
  /** Worktrees being cleaned after their idea. */
  private readonly releasing = new Set<Promise<void>>();
  private nextTree = 0;
  private readonly filesByCommit = new Map<string, Promise<string[]>>();
  private readonly objects: ObjectReader;
  /** Each worktree's own git dir, read when the worktree was made (before anything ran in it). */
  private readonly worktreeGitDirs = new Map<string, string>();

  private constructor(
    readonly repoDir: string,
    readonly baseCommit: string,
    private readonly worktreesDir: string,
  ) {
    this.objects = new ObjectReader(repoDir);
    this.nextTree = existsSync(worktreesDir) ? readdirSync(worktreesDir).length : 0;
  }

  /** Creates the run's repository from the environment's code and returns the workspace. */
  static async create(environment: Environment, runDir: string): Promise<GitWorkspace> {
    const repoDir = path.join(runDir, 'repo');
    const code = environment.code;
    try {
      if (code.kind === 'git') {
        // The one git command that uses the user's own configuration and environment (SSH keys,
        // credential helpers for a private repository); it runs before any generated code has.
        await simpleGit({ config: [...GIT_IDENTITY, 'core.hooksPath=/dev/null'] }).clone(code.url, repoDir, ['--no-checkout']);
        await runGit(repoDir, ['checkout', '--quiet', '-B', BASE_BRANCH, code.ref]);
      } else if (isRepositoryRoot(code.path)) {
        // A repository of its own: clone it (hard links, so cheap) at the requested ref.
        mkdirSync(runDir, { recursive: true });
        await runGit(runDir, ['clone', '--quiet', '--no-checkout', code.path, repoDir]);
        await runGit(repoDir, ['checkout', '--quiet', '-B', BASE_BRANCH, code.ref ?? 'HEAD']);
      } else {
        if (code.ref) {
          throw new WorkspaceError(
            `${environment.file}: code.ref is set but ${code.path} is not a git repository; remove ref or point code.path at a repository`,
          );
        }
        snapshotFolder(code.path, repoDir);
        await runGit(repoDir, ['init', '--quiet', '--initial-branch', BASE_BRANCH]);
        await runGit(repoDir, ['add', '-A']);
        await runGit(repoDir, [
          'commit',
          '--quiet',
          '--no-verify',
          '--allow-empty',
          '-m',
          `Snapshot of environment ${environment.config.name}`,
        ]);
      }
    } catch (error) {
      if (error instanceof WorkspaceError) throw error;
      const source = code.kind === 'git' ? code.url : code.path;
      throw new WorkspaceError(`could not prepare the code from ${source}: ${errorLine(error)}`, { cause: error });
    }
    const baseCommit = (await runGit(repoDir, ['rev-parse', 'HEAD'])).trim();
    return new GitWorkspace(repoDir, baseCommit, path.join(runDir, 'worktrees'));
  }

  /** Opens the repository of an existing run (resume, show, apply). */
  static async open(runDir: string): Promise<GitWorkspace> {
    const repoDir = path.join(runDir, 'repo');
    if (!existsSync(path.join(repoDir, '.git'))) {
      throw new WorkspaceError(`${repoDir} is missing: the run's repository was deleted, so the run cannot continue`);
    }
    const baseCommit = (await runGit(repoDir, ['rev-parse', BASE_BRANCH])).trim();
    return new GitWorkspace(repoDir, baseCommit, path.join(runDir, 'worktrees'));
  }

  /**
   * A working tree at `commit` for idea `ideaId`. Worktrees are pooled: a released one is cleaned
   * (off the critical path) and handed to the next idea, which then only rewrites the files that
   * differ between the two commits. A fresh `git worktree add` writes every file of the
   * repository — seconds for a large one — and is needed only when no clean worktree is free.
   */
  async checkout(ideaId: number, commit: string): Promise<string> {
    // Cleaning a used worktree is much cheaper than writing a new one: wait for one if any is due.
    while (this.pool.length === 0 && this.releasing.size > 0) await Promise.race(this.releasing);
    const pooled = this.pool.pop();
    if (pooled) {
      try {
        this.restoreGitFile(pooled);
        await runGit(this.tree(pooled), ['checkout', '--detach', '--force', '--quiet', commit]);
        return pooled;
      } catch {
        await this.discard(pooled); // fall through to a fresh worktree
      }
    }
    mkdirSync(this.worktreesDir, { recursive: true });
    const dir = path.join(this.worktreesDir, `tree-${this.nextTree++}-idea-${ideaId}`);
    if (existsSync(dir)) await rm(dir, { recursive: true, force: true });
    await runGit(this.repo(), ['worktree', 'add', '--detach', '--quiet', dir, commit]);
    this.worktreeGitDirs.set(dir, worktreeGitDir(this.repoDir, dir));
    return dir;
  }

  /**
   * Rewrites a worktree's `.git` file to point at its real git dir. A step that could write the
   * worktree (unisolated, or a Docker bind mount) may have pointed it at a git dir of its own,
   * whose config names programs to run; anything that later finds the repository by walking up
   * from the worktree (any git, any tool) must find the researcher's.
   */
  private restoreGitFile(dir: string): void {
    const marker = path.join(dir, '.git');
    rmSync(marker, { recursive: true, force: true });
    writeFileSync(marker, `gitdir: ${this.tree(dir).gitDir}\n`);
  }

  /** Where git finds the run's repository: its git dir, named explicitly. */
  private repo(): GitLocation {
    return { cwd: this.repoDir, gitDir: path.join(this.repoDir, '.git') };
  }

  /**
   * Where git finds a worktree: its git dir and working tree, named explicitly, so a `.git` file
   * a run step rewrote in the worktree (unisolated, or a Docker bind mount) is never followed.
   */
  private tree(dir: string): GitLocation {
    const gitDir = this.worktreeGitDirs.get(dir) ?? path.join(this.repoDir, '.git', 'worktrees', path.basename(dir));
    return { cwd: dir, gitDir, workTree: dir };
  }

  async commit(dir: string, ideaId: number, message: string): Promise<CommitResult> {
    const tree = this.tree(dir);
    await runGit(tree, ['add', '-A']);
    await runGit(tree, ['commit', '--quiet', '--allow-empty', '--no-verify', '-m', message]);
    // One process for the commit's id, its changed paths and its diff: "<sha>\0" then the raw
    // lines (":<modes> <shas> <status>\0<path>\0" each, -z), then the patch.
    const shown = await runGit(tree, [
      'show',
      '--format=%H %T%x00',
      '--raw',
      '--patch',
      '-z',
      '--no-color',
      '--no-ext-diff',
      '--no-renames',
      'HEAD',
    ]);
    const header = shown.slice(0, shown.indexOf('\0'));
    const [commit, treeId] = header.split(' ');
    const { paths, patchStart } = parseRaw(shown, header.length);
    await runGit(tree, ['update-ref', `refs/heads/${ideaBranch(ideaId)}`, commit]);
    // What runs is what was recorded: nothing that is not in the commit (an ignored file, say)
    // stays in the tree the run step gets.
    await runGit(tree, ['clean', '-ffdxq']);
    return { commit, diff: shown.slice(patchStart), changedFiles: paths.map((p) => p.path), tree: treeId };
  }

  async treesOf(commits: string[]): Promise<Map<string, string>> {
    const trees = new Map<string, string>();
    if (commits.length === 0) return trees;
    const out = await runGit(this.repo(), ['show', '--no-patch', '--no-walk=unsorted', '--format=%H %T', ...commits]);
    for (const line of out.split('\n')) {
      const [commit, tree] = line.trim().split(' ');
      if (commit && tree) trees.set(commit, tree);
    }
    return trees;
  }

  /**
   * Paths changed in a working tree (staged, unstaged, untracked and git-ignored), with whether
   * each is a symlink. Ignored files are listed because they would run without being committed.
   */
  async pendingChanges(dir: string): Promise<PendingChange[]> {
    // One process, nothing staged: "1 XY sub mH mI mW hH hI path" per changed tracked file
    // (mW: its mode in the worktree, 120000 for a symlink), "? path" per untracked file,
    // "! path" per ignored one.
    const out = await runGit(this.tree(dir), [
      'status',
      '--porcelain=v2',
      '-z',
      '--untracked-files=all',
      '--ignored=traditional',
      '--no-renames',
    ]);
    const changes: PendingChange[] = [];
    for (const entry of out.split('\0')) {
      if (entry.startsWith('1 ') || entry.startsWith('u ')) {
        const fields = entry.split(' ');
        const xy = fields[1];
        const worktreeMode = entry.startsWith('1 ') ? fields[5] : fields[6];
        const file = fields.slice(entry.startsWith('1 ') ? 8 : 10).join(' ');
        changes.push({ path: file, symlink: worktreeMode === '120000', deleted: xy.includes('D') });
      } else if (entry.startsWith('? ') || entry.startsWith('! ')) {
        const file = entry.slice(2);
        let symlink = false;
        try {
          symlink = lstatSync(path.join(dir, file)).isSymbolicLink();
        } catch {
          // gone since: reported as a plain change
        }
        changes.push({ path: file, symlink, deleted: false, ...(entry.startsWith('! ') ? { ignored: true } : {}) });
      }
    }
    return changes;
  }

  async reset(dir: string): Promise<void> {
    const tree = this.tree(dir);
    await runGit(tree, ['reset', '--hard', '--quiet']);
    await runGit(tree, ['clean', '-ffdxq']);
  }

  /** Gives a working tree back: cleaned (its commit stays) and kept for the next idea. */
  async release(dir: string): Promise<void> {
    const cleaning = (async () => {
      try {
        await this.reset(dir);
        this.restoreGitFile(dir);
        this.pool.push(dir);
      } catch {
        await this.discard(dir);
      }
    })();
    this.releasing.add(cleaning);
    await cleaning.finally(() => this.releasing.delete(cleaning));
  }

  private async discard(dir: string): Promise<void> {
    await rm(dir, { recursive: true, force: true });
    this.worktreeGitDirs.delete(dir);
    await runGit(this.repo(), ['worktree', 'prune']).catch(() => {});
  }

  async readFile(commit: string, relativePath: string): Promise<string | null> {
    const blob = await this.objects.read(`${commit}:${relativePath}`);
    return blob === null ? null : blob.toString('utf8');
  }

  async diff(from: string, to: string): Promise<string> {
    // The same form as commit()'s patch, so an idea's diff reads the same after a debug round.
    return runGit(this.repo(), ['diff', '--no-color', '--no-ext-diff', '--no-renames', from, to]);
  }

  async listFiles(commit: string): Promise<string[]> {
    // Commits never change: list each one once.
    let files = this.filesByCommit.get(commit);
    if (!files) {
      files = runGit(this.repo(), ['ls-tree', '-r', '--name-only', '-z', commit]).then((out) => out.split('\0').filter(Boolean));
      files.catch(() => this.filesByCommit.delete(commit));
      this.filesByCommit.set(commit, files);
    }
    return [...(await files)];
  }

  /** Removes every worktree (pooled ones and those a killed process left behind). */
  async cleanup(): Promise<void> {
    await Promise.allSettled([...this.releasing]);
    this.pool.length = 0;
    if (existsSync(this.worktreesDir)) {
      await Promise.all(
        readdirSync(this.worktreesDir).map((entry) => rm(path.join(this.worktreesDir, entry), { recursive: true, force: true })),
      );
    }
    this.worktreeGitDirs.clear();
    await runGit(this.repo(), ['worktree', 'prune']);
  }

  /** Stops the helper process that reads objects (it is also stopped when this process exits). */
  close(): void {
    this.objects.close();
  }

  /** Worktrees git still knows about, other than the main checkout. */
  async listWorktrees(): Promise<string[]> {
    const out = await runGit(this.repo(), ['worktree', 'list', '--porcelain']);
    return out
      .split('\n')
      .filter((line) => line.startsWith('worktree '))
      .map((line) => line.slice('worktree '.length))
      .filter((dir) => path.resolve(dir) !== path.resolve(this.repoDir));
  }
}

export interface PendingChange {
  path: string;
  symlink: boolean;
  deleted: boolean;
  /** Ignored by the code's .gitignore: it would run but never be committed. */
  ignored?: boolean;
}

/** A new worktree's git dir, from the `.git` file git just wrote (nothing has run in it yet). */
function worktreeGitDir(repoDir: string, dir: string): string {
  try {
    const pointer = /^gitdir: (.+)$/m.exec(readFileSync(path.join(dir, '.git'), 'utf8'))?.[1]?.trim();
    if (pointer) return path.resolve(dir, pointer);
  } catch {
    // fall through to git's naming rule
  }
  return path.join(repoDir, '.git', 'worktrees', path.basename(dir));
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

/** Parses `--raw -z` lines from `start`; returns the paths and where the text after them begins. */
function parseRaw(text: string, start: number): { paths: { path: string; newMode: string; status: string }[]; patchStart: number } {
  const paths: { path: string; newMode: string; status: string }[] = [];
  let at = start;
  const skipSeparators = () => {
    while (text[at] === '\0' || text[at] === '\n') at++;
  };
  skipSeparators();
  while (text[at] === ':') {
    const headerEnd = text.indexOf('\0', at);
    const pathEnd = text.indexOf('\0', headerEnd + 1);
    if (headerEnd === -1 || pathEnd === -1) break;
    const [, newMode, , , status] = text.slice(at + 1, headerEnd).split(' ');
    paths.push({ path: text.slice(headerEnd + 1, pathEnd), newMode, status });
    at = pathEnd + 1;
  }
  skipSeparators();
  return { paths, patchStart: at };
}
