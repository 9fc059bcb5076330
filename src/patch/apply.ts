/**
 * Applying an Edit (search/replace blocks or a unified diff) to a working tree.
 *
 * Failure to apply is an expected outcome, returned as { ok: false, message } where the message
 * is written for the coder: which block or hunk failed and what the file really says there.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import type { Edit, SearchReplace } from '../core/types.ts';
import { symlinkOnPath, unsafePathReason } from './guard.ts';

export type ApplyResult = { ok: true; changedFiles: string[] } | { ok: false; message: string };

export async function applyEdit(edit: Edit, root: string): Promise<ApplyResult> {
  return edit.kind === 'search-replace' ? applySearchReplace(edit.blocks, root) : applyUnifiedDiff(edit.diff, root);
}

function checkPath(root: string, relative: string): string | null {
  const unsafe = unsafePathReason(relative);
  if (unsafe) return `${relative}: ${unsafe}`;
  const link = symlinkOnPath(root, relative);
  if (link) return `${relative}: ${link} is a symlink; edits may not write through symlinks`;
  return null;
}

/** Applies blocks in order; all or nothing (files are written only when every block matched). */
export function applySearchReplace(blocks: readonly SearchReplace[], root: string): ApplyResult {
  const contents = new Map<string, string>();
  for (const [index, block] of blocks.entries()) {
    const label = `block ${index + 1} (${block.path})`;
    const problem = checkPath(root, block.path);
    if (problem) return { ok: false, message: `${label}: ${problem}` };
    const file = path.join(root, block.path);
    const current = contents.get(block.path) ?? (existsSync(file) ? readFileSync(file, 'utf8') : null);
    if (block.search === '') {
      if (current !== null && current !== '') {
        return { ok: false, message: `${label}: an empty search creates a new file, but ${block.path} already exists` };
      }
      contents.set(block.path, block.replace);
      continue;
    }
    if (current === null) return { ok: false, message: `${label}: ${block.path} does not exist` };
    const first = current.indexOf(block.search);
    if (first === -1) {
      return { ok: false, message: `${label}: the search text was not found in ${block.path}` };
    }
    if (current.indexOf(block.search, first + 1) !== -1) {
      return { ok: false, message: `${label}: the search text matches more than once in ${block.path}; include more lines to make it unique` };
    }
    contents.set(block.path, current.slice(0, first) + block.replace + current.slice(first + block.search.length));
  }
  for (const [relative, text] of contents) {
    const file = path.join(root, relative);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, text);
  }
  return { ok: true, changedFiles: [...contents.keys()] };
}

const DIFF_PATH = /^(?:\+\+\+|---) (?:[ab]\/)?(\S+)/gm;

/** Applies a unified diff with `git apply --recount` (wrong hunk counts are the commonest slip). */
export async function applyUnifiedDiff(diff: string, root: string): Promise<ApplyResult> {
  const paths = new Set<string>();
  for (const match of diff.matchAll(DIFF_PATH)) if (match[1] !== '/dev/null') paths.add(match[1]);
  if (paths.size === 0) return { ok: false, message: 'the diff names no file (expected ---/+++ headers)' };
  for (const relative of paths) {
    const problem = checkPath(root, relative);
    if (problem) return { ok: false, message: problem };
  }
  const input = diff.endsWith('\n') ? diff : `${diff}\n`;
  const result = await execa('git', ['apply', '--recount', '--whitespace=nowarn', '-'], {
    cwd: root,
    input,
    reject: false,
  });
  if (result.exitCode !== 0) return { ok: false, message: `git apply: ${result.stderr.trim()}` };
  return { ok: true, changedFiles: [...paths] };
}
