/**
 * Reading a file a run step left, on the host, without trusting it: every byte and every path a
 * step writes is hostile. A path whose last part or any folder on the way is a symbolic link is
 * refused (a run that leaves `metrics.json -> /etc/passwd` must not make the researcher read, and
 * quote, a host file); so is anything but a regular file (a fifo would block the sweep forever,
 * a device would never end); and no more than a cap is ever read (a 10 GB metrics.json is not
 * read whole).
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readSync } from 'node:fs';
import path from 'node:path';

export type SafeRead =
  | { ok: true; text: string; /** Bytes of the file not read (only when reading the tail). */ dropped: number }
  | { ok: false; why: 'missing' | 'symlink' | 'not-a-file' | 'too-large'; message: string };

export interface SafeReadOptions {
  /** The most bytes read. */
  maxBytes: number;
  /** Past the cap: refuse (the default; a metrics file must be whole), or read only its last `maxBytes`. */
  overflow?: 'refuse' | 'tail';
}

/** O_NOFOLLOW: open fails on a symlink; O_NONBLOCK: opening a fifo returns at once instead of waiting for a writer. */
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/**
 * Reads `relative` under `root` (a folder the researcher made), refusing links anywhere below
 * `root`. `shown` names the file in messages (never its target, never its contents).
 */
export function readRunFile(root: string, relative: string, options: SafeReadOptions, shown = relative): SafeRead {
  const checked = checkRunPath(root, relative, shown);
  return typeof checked === 'string' ? readFileNoFollow(checked, options, shown) : checked;
}

export type SafeRangeRead = { ok: true; bytes: Buffer; /** The file's size when read. */ size: number } | Extract<SafeRead, { ok: false }>;

/**
 * Reads at most `maxBytes` of `relative` under `root` from byte `offset` (a file a running step
 * is still appending to), with readRunFile's refusals: no link on the way, nothing but a regular file.
 */
export function readRunFileFrom(root: string, relative: string, offset: number, maxBytes: number, shown = relative): SafeRangeRead {
  const checked = checkRunPath(root, relative, shown);
  if (typeof checked !== 'string') return checked;
  const opened = openNoFollow(checked, shown);
  if (!opened.ok) return opened;
  const { fd } = opened;
  try {
    const size = fstatSync(fd).size;
    const length = Math.max(0, Math.min(size - offset, maxBytes));
    const buffer = Buffer.alloc(length);
    let filled = 0;
    while (filled < length) {
      const read = readSync(fd, buffer, filled, length - filled, offset + filled);
      if (read <= 0) break;
      filled += read;
    }
    return { ok: true, bytes: buffer.subarray(0, filled), size };
  } finally {
    closeSync(fd);
  }
}

/** The absolute path of `relative` under `root` when no part of it below `root` is a link, else the refusal. */
function checkRunPath(root: string, relative: string, shown: string): string | Extract<SafeRead, { ok: false }> {
  const parts = relative.split(/[\\/]+/).filter((part) => part && part !== '.');
  if (parts.length === 0 || parts.includes('..'))
    return { ok: false, why: 'not-a-file', message: `${shown} is not a path inside the outputs; refused` };
  let current = root;
  for (const [i, part] of parts.entries()) {
    current = path.join(current, part);
    let stat;
    try {
      stat = lstatSync(current);
    } catch {
      return { ok: false, why: 'missing', message: `${shown} was not written` };
    }
    const where = i === parts.length - 1 ? shown : `${parts.slice(0, i + 1).join('/')} (on the way to ${shown})`;
    if (stat.isSymbolicLink()) return { ok: false, why: 'symlink', message: `${where} is a symbolic link; refused` };
    if (i < parts.length - 1 && !stat.isDirectory())
      return { ok: false, why: 'missing', message: `${shown} was not written (${where} is not a folder)` };
  }
  return current;
}

/** Opens a regular file without following a link or blocking on a fifo. */
function openNoFollow(file: string, shown: string): { ok: true; fd: number } | Extract<SafeRead, { ok: false }> {
  let fd: number;
  try {
    fd = openSync(file, OPEN_FLAGS);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { ok: false, why: 'missing', message: `${shown} was not written` };
    // ELOOP is O_NOFOLLOW meeting a symlink (it may have been swapped in after any lstat).
    if (code === 'ELOOP' || code === 'EMLINK') return { ok: false, why: 'symlink', message: `${shown} is a symbolic link; refused` };
    return { ok: false, why: 'not-a-file', message: `${shown} could not be opened (${code ?? 'error'})` };
  }
  if (!fstatSync(fd).isFile()) {
    closeSync(fd);
    return { ok: false, why: 'not-a-file', message: `${shown} is not a regular file; refused` };
  }
  return { ok: true, fd };
}

/** Reads one file by absolute path, refusing it when it is a symlink or not a regular file. */
export function readFileNoFollow(file: string, options: SafeReadOptions, shown = file): SafeRead {
  const opened = openNoFollow(file, shown);
  if (!opened.ok) return opened;
  const { fd } = opened;
  try {
    const size = fstatSync(fd).size;
    if (size > options.maxBytes && (options.overflow ?? 'refuse') === 'refuse') {
      return { ok: false, why: 'too-large', message: `${shown} is ${size} bytes, more than the ${options.maxBytes} read from it; refused` };
    }
    const length = Math.min(size, options.maxBytes);
    const start = size - length;
    const buffer = Buffer.alloc(length);
    let filled = 0;
    while (filled < length) {
      const read = readSync(fd, buffer, filled, length - filled, start + filled);
      if (read <= 0) break; // truncated while being read
      filled += read;
    }
    return { ok: true, text: buffer.subarray(0, filled).toString('utf8'), dropped: start };
  } finally {
    closeSync(fd);
  }
}
