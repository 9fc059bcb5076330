/**
 * A forgiving parser for unified diffs as models write them: markdown fences and prose around
 * them, `a/`/`b/` prefixes or none, wrong or missing line numbers and counts in `@@` headers,
 * context lines that lost their leading space, several sections for one file. Hunk counts are
 * never trusted for where a hunk ends — only to tell a deleted "-- comment" line from a file header.
 */
import type { Hunk, HunkLine } from './hunk.ts';

export interface FilePatch {
  /** Path after `---` (null: /dev/null, a new file). */
  oldPath: string | null;
  /** Path after `+++` (null: /dev/null, a deleted file). */
  newPath: string | null;
  /** Git said `new file mode` / `deleted file mode`. */
  newFile: boolean;
  deletedFile: boolean;
  /** Git's `rename from` / `rename to`. */
  renameFrom: string | null;
  renameTo: string | null;
  /** A git binary patch (not applicable as text). */
  binary: boolean;
  /** Git gave the file mode 120000: the "file" is a symlink, which an edit may never create. */
  symlink: boolean;
  /**
   * The diff ends inside this file's last hunk, before the lines its @@ header announces: the
   * reply was cut off. Applying the part that arrived would write a change nobody asked for.
   */
  truncated: boolean;
  /**
   * This is the diff's last file section and its last hunk's line count differs from what its @@
   * header announces. Alone that is a common slip in complete diffs; the applier looks at the
   * file to tell a slip from a reply cut off inside the hunk (see apply.ts).
   */
  lastHunkMiscounted: boolean;
  hunks: Hunk[];
}

const HUNK_HEADER = /^@@+ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@+/;
const FENCE = /^\s*(```|~~~)/;
const METADATA =
  /^(index |new file mode|deleted file mode|old mode|new mode|similarity index|dissimilarity index|rename from |rename to |copy from |copy to |Binary files )/;

/** A diff path as written → a relative path: no timestamp, no quotes, no leading "./". Null for /dev/null. */
export function cleanDiffPath(raw: string): string | null {
  let p = raw.replace(/\r$/, '');
  const tab = p.indexOf('\t');
  if (tab >= 0) p = p.slice(0, tab);
  p = p.trim();
  if (p.startsWith('"') && p.endsWith('"') && p.length >= 2) {
    try {
      p = JSON.parse(p) as string;
    } catch {
      p = p.slice(1, -1);
    }
  } else {
    // "--- a/file.py 2024-01-01 10:00:00" (timestamps after spaces, from some tools)
    p = p.replace(/\s+\d{4}-\d{2}-\d{2}[\sT]\d{2}:\d{2}:\d{2}(\.\d+)?(\s*[+-]\d{4})?$/, '');
  }
  if (p === '/dev/null' || p === 'dev/null') return null;
  while (p.startsWith('./')) p = p.slice(2);
  return p;
}

interface OpenHunk {
  hunk: Hunk;
  /** Lines with no diff prefix (or empty): dropped when they trail the hunk, context otherwise. */
  loose: boolean[];
  oldCount: number | null;
  newCount: number | null;
}

export function parseUnifiedDiff(text: string): FilePatch[] {
  const lines = text.split('\n').map((line) => line.replace(/\r$/, ''));
  const files: FilePatch[] = [];
  let file: FilePatch | null = null;
  /** The file came from `diff --git` and has not had its ---/+++ lines yet. */
  let gitPending = false;
  let open: OpenHunk | null = null;
  /** Some context line with content came without its prefix space. */
  let droppedPrefixes = false;
  const looseLines = new Map<Hunk, boolean[]>();

  const closeHunk = (atEnd = false) => {
    if (!open) return;
    const { hunk, loose } = open;
    const tail: string[] = [];
    while (hunk.lines.length && loose[hunk.lines.length - 1]) {
      tail.unshift(hunk.lines[hunk.lines.length - 1].text);
      hunk.lines.pop();
      loose.pop();
    }
    // At the end of the text, the one empty "line" after the final newline is no line at all.
    if (atEnd && text.endsWith('\n') && tail.length && tail[tail.length - 1] === '') tail.pop();
    hunk.droppedTail = tail;
    if (hunk.lines.some((line, i) => loose[i] && line.text.trim() !== '')) droppedPrefixes = true;
    if (hunk.lines.length && file) {
      file.hunks.push(hunk);
      looseLines.set(hunk, loose);
    }
    open = null;
  };
  const newFile = (): FilePatch => ({
    oldPath: null,
    newPath: null,
    newFile: false,
    deletedFile: false,
    renameFrom: null,
    renameTo: null,
    binary: false,
    symlink: false,
    truncated: false,
    lastHunkMiscounted: false,
    hunks: [],
  });
  const seen = (h: OpenHunk) => {
    let oldSeen = 0;
    let newSeen = 0;
    for (const line of h.hunk.lines) {
      if (line.kind !== '+') oldSeen++;
      if (line.kind !== '-') newSeen++;
    }
    return { oldSeen, newSeen };
  };
  const counted = (h: OpenHunk) => {
    const { oldSeen, newSeen } = seen(h);
    return h.oldCount !== null && h.newCount !== null && oldSeen >= h.oldCount && newSeen >= h.newCount;
  };
  /** Inside a ``` or ~~~ block that has not been closed yet. */
  let fenceOpen = false;
  /** The last fence line came after the last hunk started (the diff's block was closed after it). */
  let fenceAfterLastHunk = false;
  /** The last hunk, when a closing fence ended it and nothing but prose came after. */
  let fencedLast: OpenHunk | null = null;
  const isFileHeader = (i: number): boolean => {
    if (!lines[i].startsWith('--- ') || !lines[i + 1]?.startsWith('+++ ')) return false;
    if (!open || counted(open)) return true;
    // Inside a hunk that still expects lines: a header only if a hunk follows right away.
    const next = lines[i + 2];
    return next === undefined || next.startsWith('@@');
  };

  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (FENCE.test(line)) {
      if (fenceOpen && open) fencedLast = open;
      closeHunk();
      fenceOpen = !fenceOpen;
      fenceAfterLastHunk = true;
      continue;
    }
    if (line.startsWith('diff --git ')) {
      closeHunk();
      file = newFile();
      const match = /^diff --git (?:"?a\/)?(.+?)"? (?:"?b\/)(.+?)"?$/.exec(line);
      if (match) {
        file.oldPath = cleanDiffPath(match[1]);
        file.newPath = cleanDiffPath(match[2]);
      }
      files.push(file);
      gitPending = true;
      continue;
    }
    if (isFileHeader(i)) {
      closeHunk();
      fencedLast = null;
      if (!file || !gitPending) {
        file = newFile();
        files.push(file);
      }
      gitPending = false;
      file.oldPath = cleanDiffPath(line.slice(4));
      file.newPath = cleanDiffPath(lines[i + 1].slice(4));
      i++;
      continue;
    }
    if (line.startsWith('@@')) {
      closeHunk();
      if (!file) {
        // A hunk with no file header: kept so the caller can say what is missing.
        file = newFile();
        files.push(file);
      }
      const match = HUNK_HEADER.exec(line);
      fenceAfterLastHunk = false;
      fencedLast = null;
      open = {
        hunk: {
          lines: [],
          oldStart: match ? Number(match[1]) : null,
          header: line.length > 60 ? `${line.slice(0, 57)}...` : line,
          oldNoEol: false,
          newNoEol: false,
          oldCount: match ? (match[2] === undefined ? 1 : Number(match[2])) : null,
          newCount: match ? (match[4] === undefined ? 1 : Number(match[4])) : null,
        },
        loose: [],
        oldCount: match ? (match[2] === undefined ? 1 : Number(match[2])) : null,
        newCount: match ? (match[4] === undefined ? 1 : Number(match[4])) : null,
      };
      continue;
    }
    if (file && !open && line.startsWith('GIT binary patch')) {
      file.binary = true;
      continue;
    }
    if (file && !open && METADATA.test(line)) {
      if (/^(new file mode|new mode) 120000/.test(line)) file.symlink = true;
      if (line.startsWith('Binary files ')) file.binary = true;
      else if (line.startsWith('new file mode')) file.newFile = true;
      else if (line.startsWith('deleted file mode')) file.deletedFile = true;
      else if (line.startsWith('rename from ')) file.renameFrom = cleanDiffPath(line.slice('rename from '.length));
      else if (line.startsWith('rename to ')) file.renameTo = cleanDiffPath(line.slice('rename to '.length));
      continue;
    }
    if (!open) continue; // prose between files
    const { hunk, loose } = open;
    if (line.startsWith('\\')) {
      const last = hunk.lines[hunk.lines.length - 1];
      if (last && last.kind !== '+') hunk.oldNoEol = true;
      if (last && last.kind !== '-') hunk.newNoEol = true;
      continue;
    }
    const kind = line[0];
    let entry: HunkLine;
    let isLoose = false;
    if (kind === ' ' || kind === '+' || kind === '-') {
      entry = { kind, text: line.slice(1) };
    } else {
      // An empty line is a blank context line whose space was lost; any other unprefixed line is
      // context that lost its space — unless it trails the hunk, where it is prose.
      entry = { kind: ' ', text: line };
      isLoose = true;
    }
    hunk.lines.push(entry);
    loose.push(isLoose);
  }
  // Only the diff's very last hunk can have been cut off (a reply stopped by max_tokens ends
  // abruptly, often inside the ``` block it opened). Short counts alone are a common slip, so it
  // takes a second sign: the text stops mid-line, the hunk stops on a change, not context, or the
  // fenced block the diff sits in is never closed.
  // A closing fence after the hunk says the reply went on past it: then only signs inside the
  // hunk count (it has no line or no change; half a last context line, checked by the applier).
  const fenced = !open && fencedLast !== null && !fenceOpen;
  const last = (open ?? (fenced ? fencedLast : null)) as OpenHunk | null;
  const lastFile = file as FilePatch | null;
  if (last && lastFile && fenced) {
    // Not "stops on a change before its counts": complete fenced diffs often end on their change
    // with counts off, and half an added line reads like a whole one.
    const kept = last.hunk.lines;
    if (kept.length === 0)
      lastFile.truncated = true; // a header and nothing under it ("@@ -12,7 +1")
    else if (!kept.some((line) => line.kind !== ' ')) lastFile.truncated = true;
  } else if (last && lastFile) {
    // Lines without a prefix that trail the hunk (the text's final newline, prose) are not in it.
    let carried = last.hunk.lines.length;
    while (carried > 0 && last.loose[carried - 1]) carried--;
    const kept: OpenHunk = { ...last, hunk: { ...last.hunk, lines: last.hunk.lines.slice(0, carried) } };
    // Unprefixed lines after the last change may be context that lost its space: not a change.
    const endsOnChange = kept.hunk.lines[carried - 1]?.kind !== ' ' && last.hunk.lines.slice(carried).every((line) => line.text === '');
    const { oldSeen, newSeen } = seen(kept);
    const short = kept.oldCount !== null && !counted(kept);
    // A hunk that changes nothing is never the whole of one: the reply stopped before its change.
    const changes = kept.hunk.lines.some((line) => line.kind !== ' ');
    if (fenceOpen || carried === 0 || !changes) lastFile.truncated = true;
    else if (short && (!text.replace(/\r$/, '').endsWith('\n') || endsOnChange)) lastFile.truncated = true;
    else if (kept.oldCount !== null && (oldSeen !== kept.oldCount || newSeen !== kept.newCount)) lastFile.lastHunkMiscounted = true;
  } else if (
    lastFile &&
    lastFile.hunks.length === 0 &&
    !lastFile.binary &&
    !lastFile.symlink &&
    lastFile.renameFrom === null &&
    !lastFile.newFile &&
    !lastFile.deletedFile &&
    (lastFile.oldPath !== null || lastFile.newPath !== null) &&
    (fenceOpen || !fenceAfterLastHunk)
  ) {
    // "--- a/x", "+++ b/x" and then nothing: the reply stopped before the file's first hunk.
    lastFile.truncated = true;
  }
  closeHunk(true);
  // A context line with content and no prefix (say "def f():" at column 0) shows the writer
  // dropped the leading space of context lines: then the others lost it too, and their first
  // character is part of the line.
  if (droppedPrefixes) {
    for (const [hunk, loose] of looseLines) {
      hunk.lines.forEach((line, i) => {
        if (line.kind === ' ' && !loose[i]) line.text = ` ${line.text}`;
      });
    }
  }
  return files;
}
