/**
 * Taking an idea home with git: its commits (the idea and the ideas it was built on) from the
 * run's repository onto a new branch of another repository. The git side of `researcher apply`.
 *
 * - A repository that has the run's base commit gets the exact commits that were evaluated.
 * - Any other (a folder inside a repository, or `onto` another start) gets them replayed with
 *   `git am -3` in a temporary worktree, so the user's checkout is never touched.
 */
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { simpleGit, type SimpleGit } from 'simple-git';
import { UsageError, WorkspaceError, describeError } from '../core/errors.ts';
import { BASE_BRANCH } from './git.ts';
import { runGit } from './git-command.ts';
import { errorLine } from '../core/format.ts';

/** Identity for commits replayed into a repository that has none configured. */
const FALLBACK_IDENTITY = ['user.name=ai-researcher', 'user.email=ai-researcher@localhost'];

/** The run's repository, for hardened git (no hooks, fsmonitor or user config; a scrubbed environment). */
const runRepository = (runRepo: string) => ({ cwd: runRepo, gitDir: path.join(runRepo, '.git') });

export async function runBaseCommit(runRepo: string): Promise<string> {
  return (await runGit(runRepository(runRepo), ['rev-parse', BASE_BRANCH])).trim();
}

/** The whole change from the run's base to `commit`, as one patch. */
export function changeSinceBase(runRepo: string, base: string, commit: string): Promise<string> {
  return runGit(runRepository(runRepo), ['diff', '--binary', '--no-color', '--no-ext-diff', base, commit]);
}

/** The repository holding `target` and the target's path inside it, or null for a plain folder. */
export async function repositoryHolding(target: string): Promise<{ top: string; prefix: string } | null> {
  let top: string;
  try {
    top = (await simpleGit({ baseDir: target }).raw(['rev-parse', '--show-toplevel'])).trim();
  } catch {
    return null;
  }
  if (!top) return null;
  return { top, prefix: path.relative(realpathSync(top), realpathSync(target)).split(path.sep).join('/') };
}

export interface PutOnBranch {
  runRepo: string;
  base: string;
  commit: string;
  /** The target repository and the code's folder inside it ('' for the top). */
  top: string;
  prefix: string;
  branch: string;
  /** Start the branch here instead of the run's base commit. */
  onto?: string;
}

/** Creates `branch` in the target holding the idea's commits; returns where it starts and its log. */
export async function putOnBranch(options: PutOnBranch): Promise<{ start: string; log: string }> {
  const { runRepo, base, commit, top, prefix, branch, onto } = options;
  const repo = simpleGit({ baseDir: top });
  await checkBranchName(repo, branch, top);
  const knowsBase = await hasCommit(top, base);
  // Bring the run's commits (and so the blobs `am -3` may need) into the target's object store.
  await repo.raw(['-c', 'uploadpack.allowAnySHA1InWant=true', 'fetch', '--quiet', '--no-tags', runRepo, commit]);

  let start: string;
  if (knowsBase && prefix === '' && onto === undefined) {
    await repo.raw(['branch', branch, commit]);
    start = base;
  } else {
    const from = onto ?? 'HEAD';
    start = await resolveCommit(repo, from, top);
    const patches = await runGit(runRepository(runRepo), ['format-patch', '--stdout', '--binary', '--no-signature', `${base}..${commit}`]);
    await replay(top, branch, start, patches, prefix, from);
  }
  const log = (await repo.raw(['log', '--format=%h %s', `${start}..${branch}`])).trim();
  return { start, log };
}

async function checkBranchName(repo: SimpleGit, branch: string, top: string): Promise<void> {
  try {
    await repo.raw(['check-ref-format', '--branch', branch]);
  } catch {
    throw new UsageError(`"${branch}" is not a valid branch name; pick another with --branch`);
  }
  if (await hasRef(top, `refs/heads/${branch}`)) {
    throw new UsageError(
      `branch ${branch} already exists in ${top}; pick another with --branch, or delete it first (git branch -D ${branch})`,
    );
  }
}

/** Runs a git query whose answer is its exit status (simple-git reports a silent failure as success). */
async function gitSucceeds(dir: string, args: string[]): Promise<boolean> {
  const result = await execa('git', args, { cwd: dir, reject: false, stdin: 'ignore' });
  return result.exitCode === 0;
}

function hasCommit(top: string, commit: string): Promise<boolean> {
  return gitSucceeds(top, ['cat-file', '-e', `${commit}^{commit}`]);
}

function hasRef(top: string, ref: string): Promise<boolean> {
  return gitSucceeds(top, ['show-ref', '--verify', '--quiet', ref]);
}

async function resolveCommit(repo: SimpleGit, ref: string, top: string): Promise<string> {
  try {
    return (await repo.raw(['rev-parse', '--verify', `${ref}^{commit}`])).trim();
  } catch {
    throw new UsageError(
      ref === 'HEAD'
        ? `${top} has no commits yet: commit something first, or pass --onto <ref>`
        : `--onto ${ref}: no such commit or branch in ${top}`,
    );
  }
}

/**
 * Replays the run's commits onto `start` as a new branch, in a temporary worktree so the user's
 * checkout is never touched. On a conflict everything is undone and the branch is not created.
 */
async function replay(top: string, branch: string, start: string, patches: string, prefix: string, onto: string): Promise<void> {
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'researcher-apply-'));
  const worktree = path.join(scratch, 'tree');
  const patchFile = path.join(scratch, 'ideas.mbox');
  writeFileSync(patchFile, patches);
  const repo = simpleGit({ baseDir: top });
  const identity = (await hasIdentity(top)) ? [] : FALLBACK_IDENTITY;
  try {
    await repo.raw(['worktree', 'add', '--quiet', '-b', branch, worktree, start]);
    const tree = simpleGit({ baseDir: worktree, config: identity });
    try {
      await tree.raw(['am', '--3way', '--quiet', ...(prefix ? [`--directory=${prefix}`] : []), patchFile]);
    } catch (error) {
      await tree.raw(['am', '--abort']).catch(() => undefined);
      await repo.raw(['worktree', 'remove', '--force', worktree]).catch(() => undefined);
      await repo.raw(['branch', '-D', branch]).catch(() => undefined);
      throw new WorkspaceError(
        `the change does not apply on top of ${onto} (${start.slice(0, 8)}): ${amFailure(error)}; the code has moved on since the run — apply it at the commit the run started from (leave out --onto), or take the patch (--patch) and merge by hand`,
      );
    }
  } finally {
    await repo.raw(['worktree', 'remove', '--force', worktree]).catch(() => undefined);
    await repo.raw(['worktree', 'prune']).catch(() => undefined);
    rmSync(scratch, { recursive: true, force: true });
  }
}

async function hasIdentity(top: string): Promise<boolean> {
  return (await gitSucceeds(top, ['config', '--get', 'user.name'])) && (await gitSucceeds(top, ['config', '--get', 'user.email']));
}

function amFailure(error: unknown): string {
  const lines = describeError(error)
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => /^(error|fatal|CONFLICT|Patch failed)/i.test(line));
  return lines.slice(0, 2).join('; ') || errorLine(error);
}
