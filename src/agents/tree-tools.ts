/**
 * Reading a coding session's tree for an agent: list, read and search its files. The tree holds
 * code earlier models wrote (a parent idea's change, a failed attempt), so it is hostile: every
 * path is taken relative to the tree, may not climb out of it or into .git, and no symlink is
 * followed — not at the end of a path, not on the way. Results are capped so one call cannot
 * flood the conversation. Each function returns the text the agent reads; a refusal is a
 * `ToolFailure` whose message says what to do instead.
 */
import { closeSync, constants, lstatSync, openSync, readdirSync, readSync } from 'node:fs';
import path from 'node:path';
import { symlinkOnPath, unsafePathReason } from '../patch/guard.ts';

export class ToolFailure extends Error {}

const MAX_LIST_ENTRIES = 1_000;
const MAX_READ_BYTES = 512 * 1024;
const MAX_READ_LINES = 1_500;
const MAX_SEARCH_MATCHES = 100;
const MAX_SEARCH_FILE_BYTES = 1024 * 1024;
/** Lines longer than this are matched and shown only up to it (minified files, data in code). */
const MAX_LINE_CHARS = 1_000;

/** The tree-relative path, checked: inside the tree, not in .git, no symlink on the way. */
function resolveInside(root: string, relative: string): { full: string; shown: string } {
  const shown = relative.trim().replace(/^\.\/+/, '').replace(/\/+$/, '') || '.';
  if (shown === '.') return { full: root, shown };
  const unsafe = unsafePathReason(shown);
  if (unsafe) throw new ToolFailure(`${shown}: ${unsafe}; give a path relative to the code folder`);
  const link = symlinkOnPath(root, shown);
  if (link) throw new ToolFailure(`${shown}: ${link} is a symlink, which is not followed`);
  return { full: path.join(root, shown), shown };
}

interface Entry {
  path: string;
  kind: 'file' | 'symlink' | 'other';
  bytes: number;
}

/** Every entry under `start` (files, and symlinks as such), .git left out, sorted. */
function walk(root: string, start: string): Entry[] {
  const entries: Entry[] = [];
  const visit = (dir: string) => {
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch {
      return;
    }
    for (const name of names) {
      if (name === '.git') continue;
      const full = path.join(dir, name);
      const relative = path.relative(root, full).split(path.sep).join('/');
      const stat = lstatSync(full, { throwIfNoEntry: false });
      if (!stat) continue;
      if (stat.isDirectory()) visit(full);
      else entries.push({ path: relative, kind: stat.isFile() ? 'file' : stat.isSymbolicLink() ? 'symlink' : 'other', bytes: stat.size });
    }
  };
  visit(start);
  return entries;
}

export function listFiles(root: string, folder = '.'): string {
  const { full, shown } = resolveInside(root, folder);
  const stat = lstatSync(full, { throwIfNoEntry: false });
  if (!stat) throw new ToolFailure(`${shown}: no such folder`);
  if (!stat.isDirectory()) throw new ToolFailure(`${shown} is a file, not a folder: read it with read_file`);
  const entries = walk(root, full);
  if (entries.length === 0) return `${shown}: no files`;
  const lines = entries
    .slice(0, MAX_LIST_ENTRIES)
    .map((e) => (e.kind === 'file' ? `${e.path} (${e.bytes} bytes)` : `${e.path} (${e.kind}, not readable)`));
  if (entries.length > MAX_LIST_ENTRIES) lines.push(`… and ${entries.length - MAX_LIST_ENTRIES} more: list a sub-folder`);
  return lines.join('\n');
}

/** The first `limit` bytes of a regular file, opened without following a final symlink. */
function readCapped(full: string, shown: string, limit: number): { text: string; cut: boolean } {
  const stat = lstatSync(full, { throwIfNoEntry: false });
  if (!stat) throw new ToolFailure(`${shown}: no such file`);
  if (stat.isSymbolicLink()) throw new ToolFailure(`${shown} is a symlink, which is not followed`);
  if (stat.isDirectory()) throw new ToolFailure(`${shown} is a folder: list it with list_files`);
  if (!stat.isFile()) throw new ToolFailure(`${shown} is not a regular file`);
  // O_NOFOLLOW: a link swapped in after the lstat above is refused by the kernel, not followed.
  const fd = openSync(full, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const buffer = Buffer.alloc(Math.min(stat.size, limit));
    const read = readSync(fd, buffer, 0, buffer.length, 0);
    return { text: buffer.subarray(0, read).toString('utf8'), cut: stat.size > limit };
  } finally {
    closeSync(fd);
  }
}

export function readFile(root: string, relative: string, startLine?: number, endLine?: number): string {
  const { full, shown } = resolveInside(root, relative);
  const { text, cut } = readCapped(full, shown, MAX_READ_BYTES);
  if (text.includes('\0')) throw new ToolFailure(`${shown} is a binary file`);
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  if (lines.length === 0) return `${shown} is empty`;
  const first = Math.max(1, startLine ?? 1);
  if (first > lines.length) throw new ToolFailure(`${shown} has ${lines.length} lines; startLine ${first} is past its end`);
  const last = Math.min(lines.length, endLine ?? lines.length, first + MAX_READ_LINES - 1);
  const width = String(last).length;
  const body = lines.slice(first - 1, last).map((line, i) => `${String(first + i).padStart(width)} | ${line}`);
  const whole = first === 1 && last === lines.length && !cut;
  const header = whole ? `${shown} (${lines.length} lines)` : `${shown}, lines ${first}-${last} of ${lines.length}${cut ? '+ (the file is cut at 512 KB)' : ''}`;
  return `${header}\n${body.join('\n')}`;
}

export function searchFiles(root: string, pattern: string, folder = '.', ignoreCase = false): string {
  let regex: RegExp;
  try {
    regex = new RegExp(pattern, ignoreCase ? 'i' : '');
  } catch (error) {
    throw new ToolFailure(`the pattern is not a valid regular expression: ${(error as Error).message}`);
  }
  const { full, shown } = resolveInside(root, folder);
  const stat = lstatSync(full, { throwIfNoEntry: false });
  if (!stat) throw new ToolFailure(`${shown}: no such file or folder`);
  const files = stat.isDirectory() ? walk(root, full).filter((e) => e.kind === 'file') : [{ path: shown, kind: 'file' as const, bytes: stat.size }];
  const matches: string[] = [];
  let more = 0;
  for (const file of files) {
    if (file.bytes > MAX_SEARCH_FILE_BYTES) continue;
    let text: string;
    try {
      text = readCapped(path.join(root, file.path), file.path, MAX_SEARCH_FILE_BYTES).text;
    } catch {
      continue; // changed under us, or not a regular file: nothing to search
    }
    if (text.includes('\0')) continue;
    text.split('\n').forEach((line, i) => {
      const shownLine = line.length > MAX_LINE_CHARS ? line.slice(0, MAX_LINE_CHARS) : line;
      if (!regex.test(shownLine)) return;
      if (matches.length < MAX_SEARCH_MATCHES) matches.push(`${file.path}:${i + 1}: ${shownLine}`);
      else more += 1;
    });
  }
  if (matches.length === 0) return `no match for /${pattern}/ in ${shown}`;
  return matches.join('\n') + (more ? `\n… and ${more} more matches: narrow the pattern or the folder` : '');
}
