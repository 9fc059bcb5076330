/**
 * An in-memory workspace: commits are snapshots held in a Map, worktrees are plain folders
 * (the edit appliers write real files). No git, no processes: checking out and committing take
 * microseconds, so the sweep's scheduling can be tested on its own.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createTwoFilesPatch } from 'diff';
import type { CommitResult, Workspace } from '../../src/core/interfaces.ts';

type Snapshot = ReadonlyMap<string, string>;

export class MemoryWorkspace implements Workspace {
  readonly repoDir: string;
  readonly baseCommit = 'commit-0';
  private readonly commits = new Map<string, Snapshot>();
  /** Each live worktree and the commit it was checked out at. */
  private readonly worktrees = new Map<string, string>();
  private nextWorktree = 0;

  constructor(files: Record<string, string>) {
    this.repoDir = mkdtempSync(path.join(os.tmpdir(), 'researcher-memory-workspace-'));
    this.commits.set(this.baseCommit, new Map(Object.entries(files)));
  }

  /** Worktrees checked out and not released. */
  get liveWorktrees(): number {
    return this.worktrees.size;
  }

  async checkout(ideaId: number, commit: string): Promise<string> {
    const snapshot = this.snapshot(commit);
    const dir = path.join(this.repoDir, `worktree-${ideaId}-${this.nextWorktree++}`);
    mkdirSync(dir);
    writeSnapshot(dir, snapshot);
    this.worktrees.set(dir, commit);
    return dir;
  }

  async commit(dir: string, _ideaId: number, _message: string): Promise<CommitResult> {
    const before = this.snapshot(this.worktreeCommit(dir));
    const after = readSnapshot(dir);
    const commit = `commit-${this.commits.size}`;
    this.commits.set(commit, after);
    this.worktrees.set(dir, commit);
    const changedFiles = changedPaths(before, after);
    const diff = changedFiles
      .map((file) => createTwoFilesPatch(`a/${file}`, `b/${file}`, before.get(file) ?? '', after.get(file) ?? ''))
      .join('');
    return { commit, diff, changedFiles };
  }

  async pendingChanges(dir: string): Promise<{ path: string; symlink: boolean; deleted: boolean }[]> {
    const after = readSnapshot(dir);
    return changedPaths(this.snapshot(this.worktreeCommit(dir)), after).map((file) => ({
      path: file,
      symlink: false,
      deleted: !after.has(file),
    }));
  }

  async reset(dir: string): Promise<void> {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir);
    writeSnapshot(dir, this.snapshot(this.worktreeCommit(dir)));
  }

  async release(dir: string): Promise<void> {
    rmSync(dir, { recursive: true, force: true });
    this.worktrees.delete(dir);
  }

  async readFile(commit: string, relativePath: string): Promise<string | null> {
    return this.snapshot(commit).get(relativePath) ?? null;
  }

  async diff(from: string, to: string): Promise<string> {
    const before = this.snapshot(from);
    const after = this.snapshot(to);
    return changedPaths(before, after)
      .map((file) => createTwoFilesPatch(`a/${file}`, `b/${file}`, before.get(file) ?? '', after.get(file) ?? ''))
      .join('');
  }

  async listFiles(commit: string): Promise<string[]> {
    return [...this.snapshot(commit).keys()].sort();
  }

  async cleanup(): Promise<void> {
    for (const dir of [...this.worktrees.keys()]) await this.release(dir);
  }

  private snapshot(commit: string): Snapshot {
    const snapshot = this.commits.get(commit);
    if (!snapshot) throw new Error(`no commit ${commit} in the memory workspace`);
    return snapshot;
  }

  private worktreeCommit(dir: string): string {
    const commit = this.worktrees.get(dir);
    if (!commit) throw new Error(`${dir} is not a live worktree`);
    return commit;
  }
}

function writeSnapshot(dir: string, snapshot: Snapshot): void {
  for (const [file, text] of snapshot) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), text);
  }
}

function readSnapshot(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const full = path.join(entry.parentPath, entry.name);
    files.set(path.relative(dir, full), readFileSync(full, 'utf8'));
  }
  return files;
}

function changedPaths(before: Snapshot, after: Snapshot): string[] {
  const paths = new Set([...before.keys(), ...after.keys()]);
  return [...paths].filter((file) => before.get(file) !== after.get(file)).sort();
}
