/**
 * (About 400 lines: the two directions of one tar protocol, code in and outputs out, whose
 * header rules — owners, modes, no links or escaping paths — must stay side by side.)
 *
 * Moving code and outputs between this machine and a container as tar archives, so that a
 * Docker host needs no shared file system and per-idea work does not grow with the repository:
 *
 * - the run's base commit goes into an image once per run and host (`git archive`, streamed);
 * - each idea then ships only the files it changed relative to that base (and a list of the
 *   files it deleted);
 * - outputs come back as a tar of one folder, extracted with no links, devices or paths that
 *   escape the destination.
 *
 * Ownership and modes in the archives are set here, so the unprivileged user a container runs
 * as owns its code and output folders whatever the host's files say.
 */
import { createHash } from 'node:crypto';
import {
  constants,
  createReadStream,
  createWriteStream,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readlinkSync,
  rmSync,
  type Stats,
} from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { runGit, spawnGit } from '../workspace/git-command.ts';
import tar from 'tar-stream';
import { BASE_BRANCH } from '../workspace/git.ts';

/** Where things live inside a sandbox container. */
export const CONTAINER_PATHS = {
  root: '/sandbox',
  code: '/sandbox/code',
  outputs: '/sandbox/outputs',
  eval: '/sandbox/eval',
  home: '/sandbox/home',
} as const;

export interface Owner {
  uid: number;
  gid: number;
}

const ROOT: Owner = { uid: 0, gid: 0 };

/** What of a work dir must reach the container. */
export type CodeSnapshot =
  | {
      kind: 'git';
      /** Folder to run git in (the worktree). */
      gitDir: string;
      baseCommit: string;
      /** Files that differ from the base commit (added, modified, untracked), relative paths. */
      changed: string[];
      /** Files of the base commit that the work dir no longer has. */
      deleted: string[];
    }
  | { kind: 'folder'; dir: string; fingerprint: string };

/**
 * Describes a work dir: a worktree of the run's repository (it has the `base` branch) is the base
 * commit plus its changes; anything else (the frozen evaluator) is a plain folder.
 */
export async function snapshotCode(workDir: string): Promise<CodeSnapshot> {
  const dir = path.resolve(workDir);
  // Hardened git (no hooks, fsmonitor or global config; a scrubbed environment): the worktree
  // was written by a coder, and may have been by a step.
  const git = { raw: (args: string[]) => runGit(dir, args) };
  try {
    const top = (await git.raw(['rev-parse', '--show-toplevel'])).trim();
    if (path.resolve(top) !== dir) throw new Error('not the top of a repository');
    const baseCommit = (await git.raw(['rev-parse', '--verify', '--quiet', `${BASE_BRANCH}^{commit}`])).trim();
    if (!baseCommit) throw new Error('no base branch');
    const changed = new Set<string>();
    const deleted: string[] = [];
    // --name-status -z: "<status>\0<path>\0" per file; the working tree against the base commit.
    const fields = (await git.raw(['diff', '--no-renames', '--name-status', '-z', baseCommit, '--'])).split('\0').filter(Boolean);
    for (let i = 0; i + 1 < fields.length; i += 2) {
      if (fields[i] === 'D') deleted.push(fields[i + 1]);
      else changed.add(fields[i + 1]);
    }
    for (const file of (await git.raw(['ls-files', '--others', '--exclude-standard', '-z'])).split('\0').filter(Boolean)) {
      changed.add(file);
    }
    return { kind: 'git', gitDir: dir, baseCommit, changed: [...changed].sort(), deleted: deleted.sort() };
  } catch {
    return { kind: 'folder', dir, fingerprint: fingerprintFolder(dir) };
  }
}

/** A hash of a folder's file names, sizes, modes and modification times (not its contents). */
export function fingerprintFolder(dir: string): string {
  const hash = createHash('sha256');
  for (const file of walk(dir)) {
    const stat = lstatSync(path.join(dir, file));
    hash.update(`${file}\0${stat.mode}\0${stat.size}\0${stat.mtimeMs}\n`);
  }
  return hash.digest('hex').slice(0, 16);
}

/** Relative paths of everything under `dir` (folders before their contents), `.git` skipped. */
export function walk(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(path.join(dir, prefix), { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (entry.name === '.git') continue;
    const relative = prefix ? `${prefix}/${entry.name}` : entry.name;
    out.push(relative);
    if (entry.isDirectory()) out.push(...walk(dir, relative));
  }
  return out;
}

// ─── archives going into a container ────────────────────────────────────────────────────────

/** The /sandbox folders (relative to /). Outputs are read-only in an evaluate container. */
export function layoutEntries(user: Owner, kind: 'run' | 'evaluate'): FileEntry[] {
  const dir = (name: string, owner: Owner, mode: number): FileEntry => ({ name: name.slice(1), owner, mode });
  return [
    dir(CONTAINER_PATHS.root, ROOT, 0o755),
    dir(CONTAINER_PATHS.code, user, 0o755),
    dir(CONTAINER_PATHS.home, user, 0o700),
    kind === 'run' ? dir(CONTAINER_PATHS.outputs, user, 0o755) : dir(CONTAINER_PATHS.outputs, ROOT, 0o555),
    dir(CONTAINER_PATHS.eval, user, 0o755),
  ];
}

/** Normalised modes: owner-writable, executable only if it was. */
function fileMode(mode: number | undefined): number {
  return (mode ?? 0o644) & 0o111 ? 0o755 : 0o644;
}

/**
 * The base commit of a repository, laid out under /sandbox/code and owned by `user`, plus the
 * empty /sandbox folders: streamed from `git archive`, never written to disk.
 */
export function baseCommitArchive(gitDir: string, commit: string, user: Owner, kind: 'run' | 'evaluate' = 'run'): Readable {
  const pack = tar.pack();
  const extract = tar.extract();
  for (const entry of layoutEntries(user, kind)) {
    pack.entry({
      name: `${entry.name}/`,
      type: 'directory',
      mode: entry.mode,
      uid: entry.owner.uid,
      gid: entry.owner.gid,
      mtime: new Date(),
    });
  }
  const prefix = `${CONTAINER_PATHS.code.slice(1)}/`;
  extract.on('entry', (header, body, next) => {
    if (header.type !== 'file' && header.type !== 'directory' && header.type !== 'symlink') {
      body.resume(); // the pax global header git writes (the commit id)
      body.on('end', () => next());
      return;
    }
    const entry = pack.entry(
      {
        ...header,
        name: prefix + header.name,
        uid: user.uid,
        gid: user.gid,
        uname: '',
        gname: '',
        mode: header.type === 'directory' ? 0o755 : header.type === 'symlink' ? 0o777 : fileMode(header.mode),
      },
      (error) => next(error),
    );
    body.pipe(entry);
  });
  const child = spawnGit({ cwd: gitDir }, ['archive', '--format=tar', commit], { stdoutToStream: true });
  child.stdout!.pipe(extract);
  const extracted = new Promise<void>((resolve, reject) => {
    extract.on('finish', resolve);
    extract.on('error', reject);
  });
  // The archive ends only once git has exited cleanly: a failed git must not look like an empty commit.
  Promise.all([child, extracted]).then(
    ([result]) => {
      if (result.exitCode === 0) pack.finalize();
      else {
        const stderr = result.stderr instanceof Uint8Array ? Buffer.from(result.stderr).toString() : String(result.stderr ?? '');
        pack.destroy(new Error(`git archive failed: ${(stderr || result.message || `exit code ${result.exitCode}`).trim()}`));
      }
    },
    (error: { stderr?: unknown; message: string }) => {
      const stderr = error.stderr instanceof Uint8Array ? Buffer.from(error.stderr).toString() : String(error.stderr ?? '');
      pack.destroy(new Error(`git archive failed: ${(stderr || error.message).trim()}`));
    },
  );
  return pack;
}

export interface FileEntry {
  /** Path inside the archive (relative to /). */
  name: string;
  /** File on this machine to read; absent for a folder entry. */
  source?: string;
  stat?: Stats;
  owner: Owner;
  /** Mode to give it; by default normalised from the source. */
  mode?: number;
}

/** A tar of files of this machine, read one at a time as the archive is consumed. */
export function filesArchive(entries: Iterable<FileEntry>): Readable {
  const pack = tar.pack();
  const add = async () => {
    for (const entry of entries) {
      const stat = entry.stat ?? (entry.source ? lstatSync(entry.source) : undefined);
      const base = { uid: entry.owner.uid, gid: entry.owner.gid, mtime: stat?.mtime ?? new Date() };
      if (!stat || stat.isDirectory()) {
        await entryDone(pack, { ...base, name: `${entry.name.replace(/\/$/, '')}/`, type: 'directory', mode: entry.mode ?? 0o755 });
      } else if (stat.isSymbolicLink()) {
        await entryDone(pack, { ...base, name: entry.name, type: 'symlink', linkname: readlinkSync(entry.source!), mode: 0o777 });
      } else if (stat.isFile()) {
        await new Promise<void>((resolve, reject) => {
          const sink = pack.entry(
            { ...base, name: entry.name, type: 'file', size: stat.size, mode: entry.mode ?? fileMode(stat.mode) },
            (error) => (error ? reject(error) : resolve()),
          );
          pipeline(createReadStream(entry.source!), sink).catch(reject);
        });
      }
      // Sockets, fifos and devices are never shipped.
    }
    pack.finalize();
  };
  add().catch((error) => pack.destroy(error));
  return pack;
}

function entryDone(pack: tar.Pack, header: tar.Headers): Promise<void> {
  return new Promise((resolve, reject) => pack.entry(header, (error) => (error ? reject(error) : resolve())));
}

/** An idea's changed files, laid over /sandbox/code (with their parent folders, owned by `user`). */
export function changedFilesArchive(workDir: string, changed: readonly string[], user: Owner): Readable {
  return filesArchive(entriesUnder(workDir, changed, CONTAINER_PATHS.code, user));
}

/** A plain folder as the code of a container (/sandbox/code), with the /sandbox folders. */
export function folderCodeArchive(dir: string, user: Owner, kind: 'run' | 'evaluate'): Readable {
  return filesArchive([...layoutEntries(user, kind), ...folderEntries(dir, CONTAINER_PATHS.code, user)]);
}

/** A folder as a build context (paths relative to the archive root, owned by root). */
export function contextArchive(dir: string): Readable {
  return filesArchive(walk(dir).map((file) => ({ name: file, source: path.join(dir, file), owner: ROOT })));
}

/** A run's outputs for an evaluate container: owned by root and read-only to the evaluator. */
export function readOnlyOutputsArchive(dir: string): Readable {
  return filesArchive([
    { name: CONTAINER_PATHS.outputs.slice(1), owner: ROOT, mode: 0o555 },
    ...folderEntries(dir, CONTAINER_PATHS.outputs, ROOT, true),
  ]);
}

function folderEntries(dir: string, target: string, owner: Owner, readOnly = false): FileEntry[] {
  return walk(dir).map((file) => {
    const source = path.join(dir, file);
    const stat = lstatSync(source);
    const readOnlyMode = stat.isDirectory() || stat.mode & 0o111 ? 0o555 : 0o444;
    return { name: `${target.slice(1)}/${file}`, source, stat, owner, mode: readOnly ? readOnlyMode : undefined };
  });
}

function* entriesUnder(dir: string, files: readonly string[], target: string, owner: Owner): Generator<FileEntry> {
  const folders = new Set<string>();
  for (const file of files) {
    const parts = file.split('/');
    for (let i = 1; i < parts.length; i++) {
      const folder = parts.slice(0, i).join('/');
      if (folders.has(folder)) continue;
      folders.add(folder);
      yield { name: `${target.slice(1)}/${folder}`, owner };
    }
    const source = path.join(dir, file);
    let stat: Stats;
    try {
      stat = lstatSync(source);
    } catch {
      continue; // vanished since it was listed
    }
    yield { name: `${target.slice(1)}/${file}`, source, stat, owner };
  }
}

// ─── archives coming out of a container ─────────────────────────────────────────────────────

export interface Extracted {
  files: number;
  bytes: number;
  /** Entries not written: links, devices, paths escaping the destination, entries past a cap. */
  skipped: number;
  /** A cap was reached: files past it were not written. */
  capped: boolean;
}

export interface ExtractLimits {
  /** Total bytes of file content written. */
  maxBytes: number;
  /** Files and folders written. */
  maxEntries: number;
}

/** The same caps as the evaluator's copy of the outputs (see snapshotOutputs). */
export const DEFAULT_EXTRACT_LIMITS: ExtractLimits = { maxBytes: 64 * 2 ** 30, maxEntries: 100_000 };

/** Create the file, never open an existing one or a link swapped in under its name. */
const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/**
 * Writes a tar (as `getArchive` returns it: one top folder) into `destDir`, dropping the top
 * folder. The archive comes from a container the run step controlled, so: only plain files and
 * folders are written (no symlinks, hard links or devices are created), nothing lands outside
 * `destDir` (no `..`, and no folder on the way may be a link), an entry that clashes with what is
 * already there is skipped rather than written through, and size and entry caps hold.
 */
export async function extractArchive(
  archive: NodeJS.ReadableStream,
  destDir: string,
  stripComponents = 1,
  limits: ExtractLimits = DEFAULT_EXTRACT_LIMITS,
): Promise<Extracted> {
  const result: Extracted = { files: 0, bytes: 0, skipped: 0, capped: false };
  const root = path.resolve(destDir);
  mkdirSync(root, { recursive: true });
  let entries = 0; // files and folders written
  const extract = tar.extract();
  extract.on('entry', (header, body, next) => {
    const parts = header.name
      .split('/')
      .filter((part) => part && part !== '.')
      .slice(stripComponents);
    const target = path.resolve(root, ...parts);
    const inside = parts.length > 0 && !parts.includes('..') && target.startsWith(root + path.sep);
    const skip = () => {
      if (parts.length > 0) result.skipped++; // the top folder itself is dropped, not skipped
      body.resume();
      body.on('end', () => next());
    };
    if (!inside || (header.type !== 'file' && header.type !== 'directory')) return skip();
    const size = header.type === 'file' ? (header.size ?? 0) : 0;
    if (entries + 1 > limits.maxEntries || result.bytes + size > limits.maxBytes) {
      result.capped = true;
      return skip();
    }
    let fd: number;
    try {
      if (!foldersAreReal(root, parts.slice(0, -1))) return skip();
      if (header.type === 'directory') {
        if (!makeFolder(target)) return skip();
        entries++;
        body.resume();
        body.on('end', () => next());
        return;
      }
      removeIfLinkOrFile(target);
      fd = openSync(target, CREATE_FLAGS, ((header.mode ?? 0o644) & 0o755) | 0o600);
    } catch {
      return skip(); // a clash the archive made (a file where a folder should be, and the like)
    }
    entries++;
    result.files++;
    result.bytes += size;
    pipeline(body, createWriteStream(target, { fd })).then(() => next(), next);
  });
  await pipeline(archive as Readable, extract);
  return result;
}

/** Creates the folders under `root` on the way to an entry; false when one of them is not a real folder. */
function foldersAreReal(root: string, folders: string[]): boolean {
  let current = root;
  for (const folder of folders) {
    current = path.join(current, folder);
    if (!makeFolder(current)) return false;
  }
  return true;
}

/** A real folder at `dir` (made if missing); false when something else (a link, a file) is there. */
function makeFolder(dir: string): boolean {
  try {
    return lstatSync(dir).isDirectory();
  } catch {
    mkdirSync(dir);
    return true;
  }
}

/** An existing link or file of that name goes (a later entry wins); a folder stays and the entry fails. */
function removeIfLinkOrFile(target: string): void {
  try {
    if (!lstatSync(target).isDirectory()) rmSync(target);
  } catch {
    // does not exist
  }
}

/** Empties a folder (keeps the folder itself). */
export function emptyFolder(dir: string): void {
  mkdirSync(dir, { recursive: true });
  for (const entry of readdirSync(dir)) rmSync(path.join(dir, entry), { recursive: true, force: true });
}
