/**
 * A clean copy of what a run step left, for whoever reads it next (the evaluator, or this
 * machine copying a job's outputs back). The run step is hostile: its outputs may hold symbolic
 * links (`predictions.json -> ../evaluator/heldout_answers.json`, `metrics.json -> /etc/passwd`),
 * hard links to files it could read but not ship, fifos that block a reader, devices, sockets,
 * a million files or a file of terabytes. The copy keeps only regular files and folders, copies
 * their content (never a link), skips a file with more than one hard link (it is someone else's
 * file too), stops at a size and a file-count cap, and says what it left out.
 */
import { closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, readdirSync, readSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';

export interface SnapshotLimits {
  /** Total bytes of file content copied. */
  maxBytes: number;
  /** Files and folders copied. */
  maxEntries: number;
  /** Folder depth below the top. */
  maxDepth: number;
}

/** Generous for checkpoints and predictions, small enough that a runaway run cannot fill the disk twice. */
export const DEFAULT_SNAPSHOT_LIMITS: SnapshotLimits = { maxBytes: 64 * 2 ** 30, maxEntries: 100_000, maxDepth: 64 };

export interface Skipped {
  /** Path relative to the snapshot's source. */
  path: string;
  why: string;
}

export interface Snapshot {
  files: number;
  folders: number;
  bytes: number;
  skipped: Skipped[];
  /** A cap was reached: some regular files were left out (they are in `skipped`). */
  capped: boolean;
}

/** O_NOFOLLOW: never open through a link swapped in after the lstat; O_NONBLOCK: a fifo does not block. */
const READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
/** The destination is ours and fresh: create each file, never open an existing one (or a link). */
const WRITE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
const CHUNK = 1 << 20;
/** At most this many skipped entries are listed one by one (the rest are counted). */
const MAX_LISTED = 200;

/**
 * Copies `fromDir` into `toDir` (emptied first, created if need be). A missing `fromDir` gives an
 * empty snapshot; a `fromDir` that is itself a link gives an empty one with that skip noted.
 */
export function snapshotOutputs(fromDir: string, toDir: string, limits: SnapshotLimits = DEFAULT_SNAPSHOT_LIMITS): Snapshot {
  const result: Snapshot = { files: 0, folders: 0, bytes: 0, skipped: [], capped: false };
  let unlisted = 0;
  const skip = (relative: string, why: string) => {
    if (result.skipped.length < MAX_LISTED) result.skipped.push({ path: relative || '.', why });
    else unlisted++;
  };
  rmSync(toDir, { recursive: true, force: true });
  mkdirSync(toDir, { recursive: true, mode: 0o755 });
  let top;
  try {
    top = lstatSync(fromDir);
  } catch {
    return result;
  }
  if (!top.isDirectory()) {
    skip('', top.isSymbolicLink() ? 'the outputs folder is a symbolic link' : 'the outputs folder is not a folder');
    return result;
  }
  const buffer = Buffer.alloc(CHUNK);

  const copyFile = (source: string, target: string, relative: string): void => {
    let input: number;
    try {
      input = openSync(source, READ_FLAGS);
    } catch (error) {
      skip(relative, (error as NodeJS.ErrnoException).code === 'ELOOP' ? 'a symbolic link' : 'could not be opened');
      return;
    }
    try {
      const stat = fstatSync(input);
      if (!stat.isFile()) return skip(relative, 'not a regular file');
      if (stat.nlink > 1) return skip(relative, `has ${stat.nlink} hard links (a link to a file elsewhere is not an output)`);
      if (result.bytes + stat.size > limits.maxBytes) {
        result.capped = true;
        return skip(relative, `${stat.size} bytes would pass the ${limits.maxBytes}-byte cap on outputs`);
      }
      const output = openSync(target, WRITE_FLAGS, 0o644);
      try {
        // Copy at most the size seen at open: a file still growing cannot pass the cap.
        let left = stat.size;
        let position = 0;
        while (left > 0) {
          const read = readSync(input, buffer, 0, Math.min(CHUNK, left), position);
          if (read <= 0) break;
          writeSync(output, buffer, 0, read);
          position += read;
          left -= read;
        }
        result.bytes += position;
      } finally {
        closeSync(output);
      }
      result.files++;
    } finally {
      closeSync(input);
    }
  };

  const visit = (relative: string, depth: number): void => {
    const sourceDir = path.join(fromDir, relative);
    let entries;
    try {
      entries = readdirSync(sourceDir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    } catch {
      return skip(relative, 'folder could not be read');
    }
    for (const entry of entries) {
      const child = relative ? `${relative}/${entry.name}` : entry.name;
      if (result.files + result.folders >= limits.maxEntries) {
        result.capped = true;
        skip(child, `past the cap of ${limits.maxEntries} files and folders`);
        continue;
      }
      // lstat, not the dirent: the type must be the one of the path as it is now, links not followed.
      let stat;
      try {
        stat = lstatSync(path.join(sourceDir, entry.name));
      } catch {
        continue; // gone since the listing
      }
      if (stat.isSymbolicLink()) {
        skip(child, 'a symbolic link');
      } else if (stat.isDirectory()) {
        if (depth >= limits.maxDepth) {
          skip(child, `folder deeper than ${limits.maxDepth} levels`);
          continue;
        }
        mkdirSync(path.join(toDir, child), { mode: 0o755 });
        result.folders++;
        visit(child, depth + 1);
      } else if (stat.isFile()) {
        copyFile(path.join(sourceDir, entry.name), path.join(toDir, child), child);
      } else {
        skip(child, stat.isFIFO() ? 'a fifo' : stat.isSocket() ? 'a socket' : 'a device');
      }
    }
  };
  visit('', 0);
  if (unlisted > 0) result.skipped.push({ path: '…', why: `and ${unlisted} more entries` });
  return result;
}

/** One line saying what a snapshot left out, for logs and failure messages; '' when nothing was. */
export function describeSkipped(snapshot: Snapshot, max = 5): string {
  if (snapshot.skipped.length === 0) return '';
  const listed = snapshot.skipped.slice(0, max).map((s) => `${shownName(s.path)} (${s.why})`);
  const more = snapshot.skipped.length > max ? `, and ${snapshot.skipped.length - max} more` : '';
  return `left out of the outputs: ${listed.join(', ')}${more}`;
}

/** A name the run chose, as a message may quote it: printable, and short. */
function shownName(name: string): string {
  const printable = name.replace(/[^\x20-\x7e]/g, '?');
  return printable.length > 80 ? `${printable.slice(0, 79)}…` : printable;
}
