/**
 * (Over 400 lines on purpose: the planning of every edit kind over one in-memory PendingTree,
 * with the checks that tell a complete diff from a cut-off one beside the code they guard; the
 * parsing lives in unified-diff.ts and edit-text.ts, the matching in hunk.ts.)
 *
 * Applying an Edit (search/replace blocks or a unified diff) to a working tree.
 *
 * Every edit is planned in memory first — each hunk or block located in layers (exact, then
 * tolerant: see hunk.ts) — and files are written only when all of it applies: a failed edit
 * leaves the tree untouched. Failure to apply is an expected outcome, returned as
 * { ok: false, message } where the message is written for the coder: which block or hunk failed
 * and what the file really says there. Pure TypeScript, no git process: deterministic and cheap.
 */
import { lstatSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { diffArrays } from 'diff';
import type { Edit, SearchReplace } from '../core/types.ts';
import { symlinkOnPath, unsafePathReason } from './guard.ts';
import { FileIndex, type Hunk, type HunkLine, type HunkMatch, locateHunk } from './hunk.ts';
import { type FileText, joinText, normalizeLine, splitModelLines, splitText } from './text.ts';
import { type FilePatch, parseUnifiedDiff } from './unified-diff.ts';
import { parseSearchReplaceBlocks } from './edit-text.ts';

/** `refused`: the edit reaches somewhere no edit may go (outside the code, through or into a symlink). */
export type ApplyResult = { ok: true; changedFiles: string[]; notes?: string[] } | { ok: false; message: string; refused?: boolean };

/** One file as the edit leaves it. `before`/`after` null: the file does not exist (before) or is deleted (after). */
export interface PlannedFile {
  path: string;
  before: string | null;
  after: string | null;
}

export type EditPlan = { ok: true; files: PlannedFile[]; notes: string[] } | { ok: false; message: string; refused?: boolean };

export async function applyEdit(edit: Edit, root: string): Promise<ApplyResult> {
  const plan = planEdit(edit, root);
  if (!plan.ok) return plan;
  // Every file the edit names is already as it would leave it: applying it would commit nothing,
  // and calling that a success would send an unchanged tree to a full run.
  if (plan.files.length === 0) return { ok: false, message: `the edit applied but changed nothing: ${unchangedReason(edit)}` };
  return writePlan(plan, root);
}

function unchangedReason(edit: Edit): string {
  const paths =
    edit.kind === 'search-replace'
      ? [...new Set(edit.blocks.map((b) => b.path.trim()))]
      : [
          ...new Set(
            parseUnifiedDiff(edit.diff)
              .map((f) => f.newPath ?? f.oldPath)
              .filter((p): p is string => p !== null),
          ),
        ];
  const named = paths.length ? paths.slice(0, 5).join(', ') + (paths.length > 5 ? ', …' : '') : 'the files it names';
  return `${named} would read exactly as they do now (each REPLACE equal to its SEARCH, or the change is already there); write the change the idea needs`;
}

/** Works out what the edit does to each file without touching the tree. */
export function planEdit(edit: Edit, root: string): EditPlan {
  const tree = new PendingTree(root);
  const notes: string[] = [];
  const failure = edit.kind === 'search-replace' ? planSearchReplace(edit.blocks, tree, notes) : planUnifiedDiff(edit.diff, tree, notes);
  if (failure) return { ok: false, message: failure, refused: tree.refused };
  return { ok: true, files: tree.changes(), notes };
}

/** Writes a plan: all files, or (on an I/O error) as far as it got, with the error. */
export function writePlan(plan: Extract<EditPlan, { ok: true }>, root: string): ApplyResult {
  const changed: string[] = [];
  try {
    for (const file of plan.files) {
      const target = path.join(root, file.path);
      if (file.after === null) {
        rmSync(target, { force: true });
      } else {
        mkdirSync(path.dirname(target), { recursive: true });
        writeFileSync(target, file.after);
      }
      changed.push(file.path);
    }
  } catch (error) {
    return {
      ok: false,
      message: `could not write ${changed.length < plan.files.length ? plan.files[changed.length].path : 'the files'}: ${(error as Error).message}`,
    };
  }
  return { ok: true, changedFiles: changed, notes: plan.notes };
}

export function applySearchReplace(blocks: readonly SearchReplace[], root: string): Promise<ApplyResult> {
  return applyEdit({ kind: 'search-replace', blocks: [...blocks] }, root);
}

export function applyUnifiedDiff(diff: string, root: string): Promise<ApplyResult> {
  return applyEdit({ kind: 'unified-diff', diff }, root);
}

// ─── the files as the edit changes them, in memory ──────────────────────────────────────────

class PendingTree {
  private readonly original = new Map<string, string | null>();
  private readonly current = new Map<string, string | null>();
  /** Set once the edit tried to reach a path no edit may touch: a refusal, not a slip to repair. */
  refused = false;

  constructor(readonly root: string) {}

  /** Why `relative` may not be touched, or null. */
  problem(relative: string): string | null {
    const unsafe = unsafePathReason(relative);
    if (unsafe) return this.refuse(`${relative}: ${unsafe}`);
    const link = symlinkOnPath(this.root, relative);
    if (link) return this.refuse(`${relative}: ${link} is a symlink; edits may not write through symlinks`);
    return null;
  }

  refuse(message: string): string {
    this.refused = true;
    return message;
  }

  /** The file's text as the edit has left it so far; null when it does not exist. */
  read(relative: string): string | null {
    if (this.current.has(relative)) return this.current.get(relative)!;
    const text = readFromDisk(this.root, relative);
    this.original.set(relative, text);
    this.current.set(relative, text);
    return text;
  }

  exists(relative: string): boolean {
    return this.read(relative) !== null;
  }

  /** Whether the path is taken by a folder on disk. */
  isFolder(relative: string): boolean {
    try {
      return lstatSync(path.join(this.root, relative)).isDirectory();
    } catch {
      return false;
    }
  }

  write(relative: string, text: string | null): void {
    this.read(relative);
    this.current.set(relative, text);
  }

  changes(): PlannedFile[] {
    const out: PlannedFile[] = [];
    for (const [relative, after] of this.current) {
      const before = this.original.get(relative) ?? null;
      if (before !== after) out.push({ path: relative, before, after });
    }
    return out;
  }
}

function readFromDisk(root: string, relative: string): string | null {
  const file = path.join(root, relative);
  try {
    if (!lstatSync(file).isFile()) return null;
  } catch {
    return null;
  }
  return readFileSync(file, 'utf8');
}

/**
 * Which file a path in an edit means: `a/x`/`b/x` is `x` unless only the prefixed path exists.
 * New files take the stripped path when the diff used git's prefixes.
 */
function resolvePath(raw: string, tree: PendingTree, gitPrefixed: boolean): string {
  const cleaned = raw.replace(/^\.\//, '');
  const prefixed = /^[ab]\//.test(cleaned);
  const candidates = prefixed ? [cleaned.slice(2), cleaned] : [cleaned];
  for (const candidate of candidates) {
    if (unsafePathReason(candidate)) continue;
    if (tree.exists(candidate)) return candidate;
  }
  if (prefixed && (gitPrefixed || !tree.isFolder(cleaned.slice(0, 1)))) return candidates[0];
  return cleaned;
}

// ─── unified diffs ──────────────────────────────────────────────────────────────────────────

function planUnifiedDiff(diff: string, tree: PendingTree, notes: string[]): string | null {
  const files = parseUnifiedDiff(diff);
  if (files.length === 0) {
    // A coder that was asked for a diff but wrote search/replace blocks: take them.
    const blocks = parseSearchReplaceBlocks(diff);
    if (blocks && blocks.length) return planSearchReplace(blocks, tree, notes);
    return 'the diff names no file: expected "--- a/<path>" and "+++ b/<path>" lines before each file\'s "@@" hunks';
  }
  for (const [i, file] of files.entries()) {
    const failure = planFilePatch(file, i, files.length, tree, notes);
    if (failure) return failure;
  }
  return null;
}

function planFilePatch(file: FilePatch, index: number, count: number, tree: PendingTree, notes: string[]): string | null {
  const where = count > 1 ? `file section ${index + 1} of the diff` : 'the diff';
  const oldRaw = file.renameFrom ?? file.oldPath;
  const newRaw = file.renameTo ?? file.newPath;
  if (oldRaw === null && newRaw === null) {
    return file.hunks.length
      ? `${where}: its hunks come without a file: put "--- a/<path>" and "+++ b/<path>" lines before them`
      : `${where} names no file`;
  }
  if (file.symlink) return tree.refuse(`${where}: ${file.newPath ?? file.oldPath}: diffs may not create symlinks`);
  if (file.truncated) {
    return `${where} stops inside its last hunk (${file.newPath ?? file.oldPath}), before the lines its @@ header announces: the reply looks cut off; send the complete hunk`;
  }
  if (file.binary) return `${where} is a binary patch (${file.newPath ?? file.oldPath}); only text edits can be applied`;
  const gitPrefixed = [file.oldPath, file.newPath].some((p) => p !== null && /^[ab]\//.test(p)) || file.renameFrom !== null;
  const creating = oldRaw === null || (file.newFile && !file.deletedFile);
  const deleting = newRaw === null || file.deletedFile;

  const source = creating ? resolvePath(newRaw!, tree, gitPrefixed) : resolvePath(oldRaw!, tree, gitPrefixed);
  let target = source;
  if (!creating && !deleting && newRaw !== null) {
    const renamed = resolvePath(newRaw, tree, gitPrefixed);
    if (renamed !== source) {
      if (file.renameFrom === null && file.renameTo === null && !tree.exists(source) && tree.exists(renamed)) {
        target = renamed; // "--- old +++ new" where only the new name exists: the model mixed up names
      } else if (file.renameFrom !== null || file.renameTo !== null) {
        target = renamed;
      } else {
        return `${where}: "---" names ${source} but "+++" names ${renamed}; to rename a file use git's "rename from"/"rename to" lines, otherwise name the same file in both`;
      }
    }
  }
  for (const p of new Set([source, target])) {
    const problem = tree.problem(p);
    if (problem) return problem;
  }

  const current = tree.read(source);
  if (creating || current === null) {
    if (current !== null && current !== '') {
      const proposed = joinCreated(file.hunks);
      if (proposed === current) return null; // already there, byte for byte
      return `${where} creates ${target}, but ${target} already exists; to change it, write hunks with context lines from the file as it is`;
    }
    if (!creating && file.hunks.some((h) => h.lines.some((line) => line.kind !== '+'))) {
      return `${source} does not exist, so ${where} cannot change it; check the path (files are named relative to the code folder)${suggestion(source, tree)}`;
    }
    if (tree.isFolder(target)) return `${target} is a folder; a diff can only create files`;
    tree.write(target, joinCreated(file.hunks));
    if (!creating) notes.push(`${target}: created (the diff had only added lines for a file that does not exist)`);
    return null;
  }

  const result = applyHunks(current, file.hunks, source, notes, file.lastHunkMiscounted, index === count - 1);
  if (!result.ok) return result.message;
  if (result.cutOff) {
    return `${where} looks cut off inside its last hunk (${file.newPath ?? file.oldPath}): ${result.cutOff}, and its @@ header announces a different number of lines than it carries; send the complete hunk`;
  }
  const text = result.text;
  if (deleting) {
    if (text.trim() !== '') {
      return `${where} deletes ${source}, but its hunks do not remove every line of it; to delete a file, its hunk must list all of its lines with "-"`;
    }
    tree.write(source, null);
    return null;
  }
  if (target !== source) tree.write(source, null);
  tree.write(target, text);
  return null;
}

function joinCreated(hunks: Hunk[]): string {
  const lines = hunks.flatMap((h) => h.lines.filter((line) => line.kind !== '-').map((line) => line.text));
  if (lines.length === 0) return '';
  const noEol = hunks.length > 0 && hunks[hunks.length - 1].newNoEol;
  return lines.join('\n') + (noEol ? '' : '\n');
}

function suggestion(missing: string, tree: PendingTree): string {
  const base = path.posix.basename(missing);
  const dir = path.posix.dirname(missing);
  for (const candidate of [base, path.posix.join(dir, base)]) {
    if (candidate !== missing && !unsafePathReason(candidate) && tree.exists(candidate)) return `; did you mean ${candidate}?`;
  }
  return '';
}

/**
 * Applies hunks to a file's text: each hunk is located in the ORIGINAL text (so their order in
 * the diff does not matter), overlaps are refused, then all are applied at once.
 */
function applyHunks(
  text: string,
  hunks: Hunk[],
  relative: string,
  notes: string[],
  lastMiscounted = false,
  lastSection = false,
): Replaced & { cutOff?: string } {
  const file = splitText(text);
  const index = new FileIndex(file);
  const matches: (HunkMatch & { hunk: Hunk; number: number })[] = [];
  let offset = 0;
  for (const [i, hunk] of hunks.entries()) {
    const label = `hunk ${i + 1} of ${relative} (${hunk.header})`;
    const oldLines = hunk.lines.filter((line) => line.kind !== '+');
    if (oldLines.length === 0) {
      const placed = placeBareInsertion(file, hunk, label);
      if (typeof placed === 'string') return { ok: false, message: placed };
      matches.push({ ...placed, hunk, number: i + 1 });
      continue;
    }
    const expected = hunk.oldStart !== null ? Math.max(0, hunk.oldStart - 1) + offset : null;
    const located = locateHunk(index, hunk, expected, label);
    if (!located.ok) return located;
    const match = located.match;
    if (hunk.oldStart !== null) offset = match.start - match.firstOldIndex - Math.max(0, hunk.oldStart - 1);
    if (match.tolerance) notes.push(`${label}: applied tolerating ${match.tolerance}`);
    matches.push({ ...match, hunk, number: i + 1 });
  }
  matches.sort((a, b) => a.start - b.start || a.number - b.number);
  for (let i = 1; i < matches.length; i++) {
    const [a, b] = [matches[i - 1], matches[i]];
    if (b.start < a.end) {
      return {
        ok: false,
        message: `hunks ${a.number} and ${b.number} of ${relative} change overlapping lines (${a.start + 1}-${a.end} and ${b.start + 1}-${b.end}); merge them into one hunk`,
      };
    }
  }
  const out: string[] = [];
  let position = 0;
  let finalEol = file.finalEol || file.lines.length === 0;
  for (const match of matches) {
    out.push(...file.lines.slice(position, match.start), ...match.replacement);
    position = match.end;
    if (match.end === file.lines.length) {
      if (match.hunk.newNoEol) finalEol = false;
      else if (match.hunk.oldNoEol || file.lines.length === 0) finalEol = true;
    }
  }
  out.push(...file.lines.slice(position));
  const cutOff = lastMiscounted ? cutOffSign(file, matches, hunks.length) : lastSection ? cutMidLine(file, matches, hunks.length) : null;
  return {
    ok: true,
    text: joinText({ lines: out, eol: file.eol, finalEol } satisfies FileText),
    tolerance: null,
    ...(cutOff ? { cutOff } : {}),
  };
}

const DEFAULT_CONTEXT = 3;

const oldLinesOf = (hunk: Hunk) => hunk.lines.filter((line) => line.kind !== '+').length;
const newLinesOf = (hunk: Hunk) => hunk.lines.filter((line) => line.kind !== '-').length;

/** How far from their headers' line numbers the hunks before `last` were found (0 when none). */
function offsetBefore(
  matches: (HunkMatch & { hunk: Hunk; number: number })[],
  last: HunkMatch & { hunk: Hunk; number: number },
): number | null {
  const before = matches.filter((m) => m.number < last.number && m.hunk.oldStart !== null);
  if (before.length === 0) return 0;
  const m = before[before.length - 1];
  return m.start - m.firstOldIndex - (m.hunk.oldStart! - 1);
}

/**
 * The diff's very last line is context the file does not have there, but the start of the line
 * the file does have: the reply stopped half-way through that line (even when a closing fence
 * came after it). Complete diffs do not end on half a line, whatever their counts say.
 */
function cutMidLine(file: FileText, matches: (HunkMatch & { hunk: Hunk; number: number })[], count: number): string | null {
  const last = matches.find((m) => m.number === count);
  if (!last || last.droppedTrail === 0) return null;
  const lastLine = last.hunk.lines[last.hunk.lines.length - 1];
  const fileLine = file.lines[last.end + last.droppedTrail - 1];
  if (lastLine.kind !== ' ' || fileLine === undefined) return null;
  const partial = lastLine.text.trim();
  const whole = fileLine.trim();
  return partial.length < whole.length && whole.startsWith(partial)
    ? `its last line ${JSON.stringify(lastLine.text)} is only the start of the file's line ${JSON.stringify(fileLine)}`
    : null;
}

const leadingContext = (hunk: Hunk) => {
  let n = 0;
  while (n < hunk.lines.length && hunk.lines[n].kind === ' ') n++;
  return n;
};
const trailingContext = (hunk: Hunk) => {
  let n = 0;
  while (n < hunk.lines.length && hunk.lines[hunk.lines.length - 1 - n].kind === ' ') n++;
  return n;
};

/**
 * Whether a last hunk whose counts do not add up reads like a reply cut off inside it rather than
 * a miscounted complete hunk: a complete hunk ends on as many lines of context as the diff uses
 * elsewhere (or on the file's end), with every one of them in the file. A hunk cut off ends early:
 * on a context line cut mid-way (not in the file), or on fewer context lines than the file has
 * there. Returns what gave it away, or null.
 */
function cutOffSign(file: FileText, matches: (HunkMatch & { hunk: Hunk; number: number })[], count: number): string | null {
  const last = matches.find((m) => m.number === count);
  if (!last) return null;
  const midLine = cutMidLine(file, matches, count);
  if (midLine) return midLine;
  if (last.droppedTrail > 0)
    return `its last ${last.droppedTrail === 1 ? 'context line is' : `${last.droppedTrail} context lines are`} not in the file (a line cut off mid-way?)`;
  const { hunk } = last;
  const oldMissing = (hunk.oldCount ?? oldLinesOf(hunk)) - oldLinesOf(hunk);
  const newMissing = (hunk.newCount ?? newLinesOf(hunk)) - newLinesOf(hunk);
  const hunkTrail = trailingContext(hunk);
  // More context after the last change than a hunk ends on: the hunk was still going, into the
  // context between two changes, when the reply stopped.
  if (hunkTrail > DEFAULT_CONTEXT && last.end < file.lines.length) {
    return `it ends after ${hunkTrail} lines of context, more than the ${DEFAULT_CONTEXT} a hunk ends on, so it stops between two changes`;
  }
  // Counts that claim fewer lines than the hunk has are a slip, never a sign of a cut.
  if (oldMissing < 0 || newMissing < 0) return null;
  // Lines the file accounts for: blank lines the hunk skipped where it matched, lines just above
  // it where its header says it starts (a dropped first context line), unprefixed lines after it
  // that are the file's next lines (context that lost its space, read as prose).
  const skipped = Math.max(0, last.end - last.start - (oldLinesOf(hunk) - last.firstOldIndex));
  let above = 0;
  if (hunk.oldStart !== null) {
    const offset = offsetBefore(matches, last);
    for (const delta of [
      last.start - last.firstOldIndex - (hunk.oldStart - 1),
      offset === null ? -1 : last.start - last.firstOldIndex - (hunk.oldStart - 1 + offset),
    ]) {
      if (delta > 0 && delta <= oldMissing) above = Math.max(above, delta);
    }
  }
  let below = 0;
  const tail = hunk.droppedTail ?? [];
  while (
    below < tail.length &&
    last.end + below < file.lines.length &&
    normalizeLine(tail[below]) === normalizeLine(file.lines[last.end + below])
  )
    below++;
  const explained = skipped + above + below;
  if (oldMissing === newMissing) {
    return explained >= oldMissing
      ? null
      : `its @@ header announces ${hunk.oldCount} old line(s), but it carries ${oldLinesOf(hunk)} and the file accounts for ${explained === 0 ? 'none' : `only ${explained}`} of the missing ones`;
  }
  // Short by different amounts: what is missing held changes, or the counts are a slip. A cut
  // shows in the context: a complete hunk ends on all the context the diff writes.
  const seen: number[] = [];
  for (const m of matches) {
    if (m === last) continue;
    if (m.start > 0) seen.push(leadingContext(m.hunk) - m.firstOldIndex);
    if (m.end < file.lines.length) seen.push(trailingContext(m.hunk));
  }
  const context = seen.length ? Math.min(DEFAULT_CONTEXT, Math.max(...seen)) : DEFAULT_CONTEXT;
  const available = hunkTrail + (file.lines.length - last.end);
  if (hunkTrail + below < Math.min(context, available)) {
    return hunkTrail === 0
      ? 'it ends on a change with no context after it, though the file goes on'
      : `it ends after ${hunkTrail} line(s) of context where the diff's other hunks show ${context}, though the file goes on`;
  }
  return null;
}

/**
 * A hunk with no context and nothing deleted can only be placed by its line number: allowed for
 * an empty file, and for appending right after the last line; anywhere else it is a guess.
 */
function placeBareInsertion(file: FileText, hunk: Hunk, label: string): HunkMatch | string {
  const added = hunk.lines.map((line) => line.text);
  if (file.lines.length === 0) return { start: 0, end: 0, replacement: added, tolerance: null, firstOldIndex: 0, droppedTrail: 0 };
  if (hunk.oldStart === file.lines.length) {
    return { start: file.lines.length, end: file.lines.length, replacement: added, tolerance: null, firstOldIndex: 0, droppedTrail: 0 };
  }
  return `${label} has no context lines and deletes nothing, so only its line numbers say where it goes; include two or three unchanged lines around the change so it can be placed`;
}

// ─── search/replace blocks ──────────────────────────────────────────────────────────────────

/** Applies blocks in order, each to the file as the blocks before it left it. */
function planSearchReplace(blocks: readonly SearchReplace[], tree: PendingTree, notes: string[]): string | null {
  for (const [i, block] of blocks.entries()) {
    const relative = resolvePath(block.path.trim(), tree, false);
    const label = `block ${i + 1} (${relative})`;
    const problem = tree.problem(relative);
    if (problem) return `${label}: ${problem}`;
    const current = tree.read(relative);
    if (block.search.trim() === '') {
      if (current !== null && current.trim() !== '') {
        return `${label}: an empty SEARCH creates a new file, but ${relative} already exists; to change it, put the lines to replace in SEARCH`;
      }
      if (tree.isFolder(relative)) return `${label}: ${relative} is a folder`;
      tree.write(relative, block.replace);
      continue;
    }
    if (current === null) {
      return `${label}: ${relative} does not exist; check the path (files are named relative to the code folder), or use an empty SEARCH to create it${suggestion(relative, tree)}`;
    }
    const result = replaceBlock(current, block, label);
    if (!result.ok) return result.message;
    tree.write(relative, result.text);
    if (result.tolerance) notes.push(`${label}: applied tolerating ${result.tolerance}`);
  }
  return null;
}

type Replaced = { ok: true; text: string; tolerance: string | null } | { ok: false; message: string };

/** Replaces one block in `text`: the SEARCH lines located like a hunk, else as an exact part of a line. */
function replaceBlock(text: string, block: SearchReplace, label: string): Replaced {
  const file = splitText(text);
  const hunk: Hunk = { lines: blockToHunkLines(block), oldStart: null, header: 'SEARCH/REPLACE', oldNoEol: false, newNoEol: false };
  const located = locateHunk(new FileIndex(file), hunk, null, `${label}: the SEARCH text`);
  if (located.ok) {
    const { match } = located;
    const lines = [...file.lines.slice(0, match.start), ...match.replacement, ...file.lines.slice(match.end)];
    return { ok: true, text: joinText({ ...file, lines, finalEol: file.finalEol || file.lines.length === 0 }), tolerance: match.tolerance };
  }
  if (located.reason === 'ambiguous') {
    return {
      ok: false,
      message: located.message.replace(/include more unchanged lines around the change/, 'include more lines in SEARCH'),
    };
  }
  // The search may be part of a line ("lr=0.1" inside a call): an exact, unique, whole-token match.
  const partial = replaceSubstring(file, block);
  if (partial !== null) return { ok: true, text: partial, tolerance: 'a SEARCH that is part of a line' };
  return {
    ok: false,
    message: located.message.replace(/The hunk expects these lines \(its context and "-" lines\)/, 'SEARCH holds these lines'),
  };
}

function blockToHunkLines(block: SearchReplace): HunkLine[] {
  const out: HunkLine[] = [];
  for (const change of diffArrays(splitModelLines(block.search), splitModelLines(block.replace))) {
    const kind = change.added ? '+' : change.removed ? '-' : ' ';
    for (const text of change.value) out.push({ kind, text });
  }
  return out;
}

const WORD = /[\w.]/;

function replaceSubstring(file: FileText, block: SearchReplace): string | null {
  const text = file.lines.join('\n');
  const search = block.search.replace(/\r\n/g, '\n');
  if (search.trim() === '') return null;
  const at = text.indexOf(search);
  if (at < 0 || text.indexOf(search, at + 1) >= 0) return null;
  const end = at + search.length;
  if (at > 0 && WORD.test(text[at - 1]) && WORD.test(search[0])) return null;
  if (end < text.length && WORD.test(text[end]) && WORD.test(search[search.length - 1])) return null;
  const replaced = text.slice(0, at) + block.replace.replace(/\r\n/g, '\n') + text.slice(end);
  const lines = replaced.split('\n');
  return joinText({ ...file, lines });
}
