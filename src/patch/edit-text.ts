/**
 * Edits as text: reading the edit out of a model's reply (or a patch file) and writing an edit
 * back as text for the conversation in a repair round.
 *
 * Two forms are understood, with or without markdown fences and prose around them:
 *
 *   path/to/file.py
 *   <<<<<<< SEARCH
 *   lines as they are
 *   =======
 *   lines as they should be
 *   >>>>>>> REPLACE
 *
 * and unified diffs (`--- a/path`, `+++ b/path`, `@@ … @@` hunks).
 */
import { Edit, type SearchReplace } from '../core/types.ts';

/** The reply holds no edit the applier can read; the message says what was expected. */
export class EditParseError extends Error {}

const SEARCH = /^\s*<{5,9}\s*SEARCH\s*$/;
const DIVIDER = /^\s*={5,9}\s*$/;
const REPLACE = /^\s*>{5,9}\s*REPLACE\s*$/;
const FENCE = /^\s*(```|~~~)/;

/** Search/replace blocks in `text`; null when it has none. Throws EditParseError for a broken block. */
export function parseSearchReplaceBlocks(text: string): SearchReplace[] | null {
  const lines = text.split('\n').map((line) => line.replace(/\r$/, ''));
  const blocks: SearchReplace[] = [];
  let lastPath: string | null = null;
  for (let i = 0; i < lines.length; i++) {
    if (!SEARCH.test(lines[i])) continue;
    const number = blocks.length + 1;
    const filePath: string | null = pathAbove(lines, i) ?? lastPath;
    if (!filePath)
      throw new EditParseError(`search/replace block ${number} has no file path: write the path alone on the line before "<<<<<<< SEARCH"`);
    const search: string[] = [];
    let j = i + 1;
    while (j < lines.length && !DIVIDER.test(lines[j])) {
      if (SEARCH.test(lines[j]) || REPLACE.test(lines[j])) break;
      search.push(lines[j++]);
    }
    if (j >= lines.length || !DIVIDER.test(lines[j]))
      throw new EditParseError(`search/replace block ${number} (${filePath}) has no "=======" line after its SEARCH part`);
    const replace: string[] = [];
    j++;
    while (j < lines.length && !REPLACE.test(lines[j])) {
      if (SEARCH.test(lines[j])) break;
      replace.push(lines[j++]);
    }
    if (j >= lines.length || !REPLACE.test(lines[j]))
      throw new EditParseError(
        `search/replace block ${number} (${filePath}) is not closed with ">>>>>>> REPLACE" (the reply looks cut off: send the whole block)`,
      );
    blocks.push({ path: filePath, search: asText(search), replace: asText(replace) });
    lastPath = filePath;
    i = j;
  }
  return blocks.length ? blocks : null;
}

function asText(lines: string[]): string {
  return lines.length ? `${lines.join('\n')}\n` : '';
}

/** The file path a model wrote above a SEARCH marker (skipping fences and blank lines). */
function pathAbove(lines: string[], at: number): string | null {
  for (let i = at - 1; i >= 0 && i >= at - 3; i--) {
    const line = lines[i].trim();
    if (line === '') continue;
    if (FENCE.test(line)) {
      // "```python path/to/file.py" carries the path in the fence's info string.
      const info = line
        .replace(/^(```|~~~)\s*/, '')
        .split(/\s+/)
        .find((part) => /[./]/.test(part) && !part.includes('='));
      if (info) return cleanPath(info);
      continue;
    }
    if (REPLACE.test(line)) return null;
    const cleaned = cleanPath(line);
    return /^[^\s]+$/.test(cleaned) && cleaned.length > 0 ? cleaned : null;
  }
  return null;
}

/**
 * A path line as written, less its markdown: "## `path`", "**path**", "File: path". Underscores
 * are left alone: "__init__.py" is a real name, and "__path__" bold is rare next to it.
 */
function cleanPath(line: string): string {
  return line
    .replace(/^#+\s*/, '')
    .replace(/^(file|path|filename)\s*:\s*/i, '')
    .replace(/^[*`'"]+|[*`'":]+$/g, '')
    .trim();
}

function looksLikeDiff(text: string): boolean {
  return /^diff --git /m.test(text) || (/^--- \S/m.test(text) && /^\+\+\+ \S/m.test(text)) || /^@@/m.test(text);
}

/**
 * The diff inside a reply: the fenced diff blocks when there are any (fences kept: a block that
 * closes says the reply did not stop inside it, which the applier needs to tell a miscounted
 * hunk from a cut-off one), else the whole text.
 */
function extractDiff(text: string): string {
  const fenced = [...text.matchAll(/^\s*(```|~~~)[^\n]*\n([\s\S]*?)^\s*\1\s*$/gm)]
    .filter((m) => looksLikeDiff(m[2]))
    .map((m) => `${m[0].replace(/\s+$/, '')}\n`);
  return fenced.length ? fenced.join('\n') : text;
}

/** Reads the edit out of a model's reply or a patch file. Throws EditParseError when there is none. */
export function parseEditText(text: string): Edit {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    try {
      const parsed = Edit.safeParse(JSON.parse(trimmed));
      if (parsed.success) return parsed.data;
    } catch {
      // not JSON: read it as text
    }
  }
  const blocks = parseSearchReplaceBlocks(text);
  if (blocks) return { kind: 'search-replace', blocks };
  if (looksLikeDiff(text)) return { kind: 'unified-diff', diff: extractDiff(text) };
  throw new EditParseError(
    'no edit found: expected search/replace blocks (the file path, then "<<<<<<< SEARCH", the lines to change, "=======", the new lines, ">>>>>>> REPLACE") or a unified diff ("--- a/<path>", "+++ b/<path>", "@@" hunks)',
  );
}

/** An edit written back as the text a model would have written (for repair-round conversations). */
export function renderEdit(edit: Edit): string {
  if (edit.kind === 'unified-diff') return edit.diff.endsWith('\n') ? edit.diff : `${edit.diff}\n`;
  return edit.blocks
    .map((block) => {
      const search = block.search === '' || block.search.endsWith('\n') ? block.search : `${block.search}\n`;
      const replace = block.replace === '' || block.replace.endsWith('\n') ? block.replace : `${block.replace}\n`;
      return `${block.path}\n<<<<<<< SEARCH\n${search}=======\n${replace}>>>>>>> REPLACE\n`;
    })
    .join('\n');
}
