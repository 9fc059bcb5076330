/**
 * Finding where a hunk belongs in a file, in layers: exact first, then tolerant of the ways
 * models get edits wrong — trailing whitespace, drifted indentation (the added lines are
 * re-indented to match), extra or missing blank lines, and outer context lines that are not in
 * the file (dropped, up to MAX_FUZZ on each side, as GNU patch's fuzz does).
 *
 * A hunk that matches more than one place is refused, never guessed: the only tie-breaker is the
 * position its header states, and only when exactly one candidate sits there. Layers only ever
 * add candidates, so ambiguity at one layer ends the search.
 *
 * Everything here is pure and deterministic: same file and hunk, same answer.
 */
import { type FileText, indentColumns, isBlank, leadingWhitespace, normalizeLine, withIndent } from './text.ts';

export interface HunkLine {
  kind: ' ' | '-' | '+';
  text: string;
}

export interface Hunk {
  lines: HunkLine[];
  /** 1-based line of the first old line as the header states it; null when the header has no numbers. */
  oldStart: number | null;
  /** The header as written (for messages). */
  header: string;
  /** "\ No newline at end of file" after the old side's last line. */
  oldNoEol: boolean;
  /** "\ No newline at end of file" after the new side's last line. */
  newNoEol: boolean;
  /** The @@ header's old and new line counts, where it has them. */
  oldCount?: number | null;
  newCount?: number | null;
  /** Unprefixed lines that trailed the hunk and were dropped as prose (maybe context that lost its space). */
  droppedTail?: string[];
}

export interface HunkMatch {
  /** The file's lines [start, end) that the hunk replaces. */
  start: number;
  end: number;
  replacement: string[];
  /** Which tolerance the match needed (null: exact). */
  tolerance: string | null;
  /** Index among the hunk's old lines of the one found at `start` (non-zero when context was dropped). */
  firstOldIndex: number;
  /** Trailing context lines of the hunk that were dropped because the file does not have them. */
  droppedTrail: number;
}

export type Located = { ok: true; match: HunkMatch } | { ok: false; reason: 'ambiguous' | 'not-found'; message: string };

/** Context lines that may be dropped from each side of a hunk to make it match. */
export const MAX_FUZZ = 3;

interface Level {
  name: string | null;
  key: (line: string) => string;
  /** Blank lines may be missing from either side. */
  blanks: boolean;
  /** Leading whitespace may differ; added lines are re-indented. */
  reindent: boolean;
}

const LEVELS: Level[] = [
  { name: null, key: (line) => line, blanks: false, reindent: false },
  { name: 'trailing whitespace', key: (line) => line.trimEnd(), blanks: false, reindent: false },
  { name: 'whitespace', key: normalizeLine, blanks: false, reindent: true },
  { name: 'blank lines', key: normalizeLine, blanks: true, reindent: true },
];

/** Per-file index of line keys, computed once per level and shared by every hunk of the file. */
export class FileIndex {
  private readonly keys = new Map<Level, string[]>();
  private readonly positions = new Map<Level, Map<string, number[]>>();
  readonly blank: boolean[];

  constructor(readonly file: FileText) {
    this.blank = file.lines.map(isBlank);
  }

  keysFor(level: Level): string[] {
    let keys = this.keys.get(level);
    if (!keys) {
      keys = this.file.lines.map(level.key);
      this.keys.set(level, keys);
    }
    return keys;
  }

  positionsOf(level: Level, key: string): number[] {
    let index = this.positions.get(level);
    if (!index) {
      index = new Map();
      this.keysFor(level).forEach((k, i) => {
        const list = index!.get(k);
        if (list) list.push(i);
        else index!.set(k, [i]);
      });
      this.positions.set(level, index);
    }
    return index.get(key) ?? [];
  }
}

interface Candidate {
  start: number;
  end: number;
  replacement: string[];
  /** Index, in the untrimmed hunk's old lines, of the first line mapped to the file. */
  firstOldIndex: number;
  fuzz: number;
  droppedTrail: number;
}

/**
 * Locates `hunk` in the file. `expectedStart` is the 0-based line where the header (adjusted by
 * the offset earlier hunks were found at) says the hunk's first old line is; it only breaks ties.
 */
export function locateHunk(index: FileIndex, hunk: Hunk, expectedStart: number | null, label: string): Located {
  const lines = hunk.lines;
  let lead = 0;
  while (lead < lines.length && lines[lead].kind === ' ') lead++;
  let trail = 0;
  while (trail < lines.length - lead && lines[lines.length - 1 - trail].kind === ' ') trail++;
  const maxLead = Math.min(lead, MAX_FUZZ);
  const maxTrail = Math.min(trail, MAX_FUZZ);

  for (let fuzz = 0; fuzz <= maxLead + maxTrail; fuzz++) {
    for (const level of LEVELS) {
      const found: Candidate[] = [];
      for (let dropLead = Math.max(0, fuzz - maxTrail); dropLead <= Math.min(fuzz, maxLead); dropLead++) {
        const trimmed = lines.slice(dropLead, lines.length - (fuzz - dropLead));
        if (fuzz > 0 && !wellAnchored(trimmed)) continue;
        for (const candidate of candidatesAt(index, trimmed, level)) {
          candidate.firstOldIndex += dropLead;
          candidate.fuzz = fuzz;
          candidate.droppedTrail = fuzz - dropLead;
          if (!found.some((c) => c.start === candidate.start && c.end === candidate.end)) found.push(candidate);
        }
      }
      if (found.length === 0) continue;
      const tolerance = describeTolerance(level, fuzz);
      if (found.length === 1) return { ok: true, match: toMatch(found[0], tolerance) };
      if (expectedStart !== null) {
        const pinned = found.filter((c) => c.start - c.firstOldIndex === expectedStart);
        if (pinned.length === 1) return { ok: true, match: toMatch(pinned[0], tolerance) };
      }
      return { ok: false, reason: 'ambiguous', message: ambiguousMessage(label, found, index) };
    }
  }
  return { ok: false, reason: 'not-found', message: notFoundMessage(index, hunk, expectedStart, label) };
}

/**
 * After dropping context, what is left must still pin the hunk down: a deleted line (the edit
 * says it exists), or at least two lines of context with content.
 */
function wellAnchored(trimmed: HunkLine[]): boolean {
  if (trimmed.some((line) => line.kind === '-')) return true;
  return trimmed.filter((line) => line.kind === ' ' && !isBlank(line.text)).length >= 2;
}

function toMatch(candidate: Candidate, tolerance: string | null): HunkMatch {
  return {
    start: candidate.start,
    end: candidate.end,
    replacement: candidate.replacement,
    tolerance,
    firstOldIndex: candidate.firstOldIndex,
    droppedTrail: candidate.droppedTrail,
  };
}

function describeTolerance(level: Level, fuzz: number): string | null {
  const parts = [level.name, fuzz > 0 ? `${fuzz} context line(s) not in the file dropped` : null].filter(Boolean);
  return parts.length ? parts.join(', ') : null;
}

/** Every place the trimmed hunk matches at this level, with the replacement it produces there. */
function candidatesAt(index: FileIndex, trimmed: HunkLine[], level: Level): Candidate[] {
  const oldLines = trimmed.filter((line) => line.kind !== '+');
  const oldKeys = oldLines.map((line) => level.key(line.text));
  const oldBlank = oldLines.map((line) => isBlank(line.text));
  // An anchor must be a line with content: blank lines alone place nothing.
  const first = level.blanks ? oldBlank.indexOf(false) : 0;
  if (oldLines.length === 0 || oldBlank.every(Boolean)) return [];

  const fileKeys = index.keysFor(level);
  const candidates: Candidate[] = [];
  for (const position of index.positionsOf(level, oldKeys[first])) {
    const map = walk(fileKeys, index.blank, oldKeys, oldBlank, position, first, level.blanks);
    if (!map) continue;
    const replacement = buildReplacement(index.file.lines, trimmed, map, level);
    if (!replacement) continue;
    const mapped = map.filter((j) => j >= 0);
    candidates.push({
      start: mapped[0],
      end: mapped[mapped.length - 1] + 1,
      replacement,
      firstOldIndex: map.findIndex((j) => j >= 0),
      fuzz: 0,
      droppedTrail: 0,
    });
  }
  return candidates;
}

/**
 * Maps each old line of the hunk to a file line, starting with old line `first` at `position`.
 * In blank-tolerant mode a blank old line may map to nothing (-1) and blank file lines between
 * mapped lines may be skipped. Returns null when the hunk does not fit there.
 */
function walk(
  fileKeys: string[],
  fileBlank: boolean[],
  oldKeys: string[],
  oldBlank: boolean[],
  position: number,
  first: number,
  blanks: boolean,
): number[] | null {
  const map = new Array<number>(oldKeys.length).fill(-1);
  let j = position;
  for (let k = first; k < oldKeys.length; k++) {
    for (;;) {
      if (j < fileKeys.length && fileKeys[j] === oldKeys[k]) {
        map[k] = j++;
        break;
      }
      if (!blanks) return null;
      if (oldBlank[k]) break; // the hunk has a blank line the file lacks
      if (k > first && j < fileKeys.length && fileBlank[j]) {
        j++; // the file has a blank line the hunk lacks
        continue;
      }
      return null;
    }
  }
  return map;
}

/**
 * The lines that replace the matched region: context lines as the file has them, deleted lines
 * dropped, added lines inserted (re-indented when the hunk's indentation drifted from the file's),
 * and blank file lines the hunk did not mention kept in place. Null when re-indenting would need
 * a negative indent.
 */
function buildReplacement(fileLines: string[], trimmed: HunkLine[], map: number[], level: Level): string[] | null {
  const reindent = level.reindent ? indentPlan(fileLines, trimmed, map) : null;
  const out: string[] = [];
  const mapped = map.filter((j) => j >= 0);
  let j = mapped[0];
  let k = 0;
  for (let i = 0; i < trimmed.length; i++) {
    const line = trimmed[i];
    if (line.kind === '+') {
      if (!reindent) {
        out.push(line.text);
        continue;
      }
      const rendered = reindent(line.text, i);
      if (rendered === null) return null;
      out.push(rendered);
      continue;
    }
    const target = map[k++];
    if (target < 0) continue;
    while (j < target) out.push(fileLines[j++]);
    if (line.kind === ' ') out.push(fileLines[j]);
    j++;
  }
  return out;
}

/**
 * How to indent added lines when the hunk's old lines match the file only up to leading
 * whitespace: shift by the column difference — the same for every line when the drift is
 * consistent, otherwise the difference at the nearest matched line above (below for lines at the
 * top) — and indent with tabs when the file does. Null when no re-indenting is needed.
 */
function indentPlan(fileLines: string[], trimmed: HunkLine[], map: number[]): ((text: string, at: number) => string | null) | null {
  const deltas: { at: number; delta: number; deleted: boolean }[] = [];
  let identical = true;
  let fileUsesTabs = false;
  let fileUsesSpaces = false;
  let k = 0;
  for (let i = 0; i < trimmed.length; i++) {
    const line = trimmed[i];
    if (line.kind === '+') continue;
    const target = map[k++];
    if (target < 0 || isBlank(line.text)) continue;
    const fileLine = fileLines[target];
    const fileIndent = leadingWhitespace(fileLine);
    if (fileIndent !== leadingWhitespace(line.text)) identical = false;
    if (fileIndent.includes('\t')) fileUsesTabs = true;
    if (fileIndent.includes(' ')) fileUsesSpaces = true;
    deltas.push({ at: i, delta: indentColumns(fileLine) - indentColumns(line.text), deleted: line.kind === '-' });
  }
  if (identical || deltas.length === 0) return null;
  // "-" lines carry their prefix like the "+" lines do, so they say best how the added lines
  // drifted; context lines may have lost their leading space.
  const reference = deltas.some((d) => d.deleted) ? deltas.filter((d) => d.deleted) : deltas;
  const useTabs = fileUsesTabs && !fileUsesSpaces;
  const consistent = reference.every((d) => d.delta === reference[0].delta);
  // Code is indented in steps of 2, 4 or a tab, never 1: context lines all one column short
  // lost their diff prefix space; the added lines did not.
  if (consistent && reference[0].delta === 1 && !reference[0].deleted) return null;
  return (text, at) => {
    if (isBlank(text)) return '';
    let delta = reference[0].delta;
    if (!consistent) {
      const above = reference.filter((d) => d.at < at);
      delta = (above.length ? above[above.length - 1] : reference.find((d) => d.at > at)!).delta;
    }
    const columns = indentColumns(text) + delta;
    return columns < 0 ? null : withIndent(text, columns, useTabs);
  };
}

// ─── failure messages, written for the coder ────────────────────────────────────────────────

function numbered(lines: string[], from: number, to: number): string {
  const out: string[] = [];
  const width = String(to).length;
  for (let i = Math.max(0, from); i < Math.min(lines.length, to); i++) out.push(`${String(i + 1).padStart(width)} | ${lines[i]}`);
  return out.join('\n');
}

function ambiguousMessage(label: string, found: Candidate[], index: FileIndex): string {
  const places = found.slice(0, 5).map((c) => `lines ${c.start + 1}-${c.end}`);
  const more = found.length > 5 ? ` and ${found.length - 5} more` : '';
  const first = found[0];
  return (
    `${label} matches ${found.length} places in the file (${places.join(', ')}${more}), so where it belongs is ambiguous; ` +
    `include more unchanged lines around the change until it matches exactly one place. The first place reads:\n` +
    numbered(index.file.lines, first.start, first.end)
  );
}

const EXCERPT_PADDING = 3;
const MAX_SHOWN = 40;

function notFoundMessage(index: FileIndex, hunk: Hunk, expectedStart: number | null, label: string): string {
  const level = LEVELS[LEVELS.length - 1];
  const oldLines = hunk.lines.filter((line) => line.kind !== '+').map((line) => line.text);
  const keys = oldLines.map(level.key);
  const fileKeys = index.keysFor(level);
  const fileLines = index.file.lines;

  // Vote for the offset at which the most of the hunk's lines occur in the file.
  const votes = new Map<number, number>();
  keys.forEach((key, k) => {
    if (key === '') return;
    const positions = index.positionsOf(level, key);
    if (positions.length > 50) return; // too common to say anything about where the hunk is
    for (const p of positions) votes.set(p - k, (votes.get(p - k) ?? 0) + 1);
  });
  let best: number | null = null;
  let bestVotes = 0;
  for (const [offset, count] of [...votes].sort((a, b) => a[0] - b[0])) {
    const closer = best !== null && expectedStart !== null && Math.abs(offset - expectedStart) < Math.abs(best - expectedStart);
    if (count > bestVotes || (count === bestVotes && closer)) {
      best = offset;
      bestVotes = count;
    }
  }

  const expected = oldLines
    .slice(0, MAX_SHOWN)
    .map((line) => `  ${line}`)
    .join('\n');
  let message = `${label} does not match the file. The hunk expects these lines (its context and "-" lines):\n${expected}`;
  if (best === null) {
    const start = expectedStart !== null ? Math.max(0, Math.min(expectedStart, fileLines.length - 1)) : 0;
    message += `\nNone of them occur in the file. The file has ${fileLines.length} line(s); around line ${start + 1} it reads:\n`;
    message += numbered(fileLines, start - EXCERPT_PADDING, start + Math.min(oldLines.length, MAX_SHOWN) + EXCERPT_PADDING);
    return message;
  }
  // The first line where the hunk and the file part ways at the best offset.
  let mismatch = -1;
  for (let k = 0; k < keys.length; k++) {
    const j = best + k;
    if (j < 0 || j >= fileKeys.length || fileKeys[j] !== keys[k]) {
      mismatch = k;
      break;
    }
  }
  const from = Math.max(0, best) - EXCERPT_PADDING;
  const to = Math.max(0, best) + Math.min(oldLines.length, MAX_SHOWN) + EXCERPT_PADDING;
  message += `\nThe closest place is around line ${Math.max(0, best) + 1}, where the file really says:\n${numbered(fileLines, from, to)}`;
  if (mismatch >= 0) {
    const j = best + mismatch;
    const actual =
      j >= 0 && j < fileLines.length ? `line ${j + 1} of the file is ${JSON.stringify(fileLines[j])}` : 'the file ends before it';
    message += `\nFirst difference: expected ${JSON.stringify(oldLines[mismatch])}, but ${actual}.`;
  }
  return message;
}
