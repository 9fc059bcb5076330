/**
 * Text as the patch engine sees it: a file is a list of lines plus how it ends them, and lines
 * compare under progressively looser rules (exact, trailing whitespace, any whitespace).
 */

export interface FileText {
  lines: string[];
  /** The file's line ending; new lines are written with it. */
  eol: '\n' | '\r\n';
  /** Whether the last line ends with a line ending. */
  finalEol: boolean;
}

export function splitText(text: string): FileText {
  const crlf = (text.match(/\r\n/g) ?? []).length;
  const lf = (text.match(/\n/g) ?? []).length;
  const eol = crlf > 0 && crlf * 2 >= lf ? '\r\n' : '\n';
  if (text === '') return { lines: [], eol, finalEol: false };
  const finalEol = text.endsWith('\n');
  const body = finalEol ? text.slice(0, text.endsWith('\r\n') ? -2 : -1) : text;
  return { lines: body.split(/\r?\n/), eol, finalEol };
}

export function joinText(file: FileText): string {
  if (file.lines.length === 0) return '';
  return file.lines.join(file.eol) + (file.finalEol ? file.eol : '');
}

/** Splits text the model wrote (a search block, a replacement) into lines; a final newline adds no line. */
export function splitModelLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split(/\r?\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

export function isBlank(line: string): boolean {
  return line.trim() === '';
}

/** Characters models swap for their ASCII look-alikes (typographic quotes, dashes, no-break spaces). */
const LOOKALIKES: [RegExp, string][] = [
  [/[\u2018\u2019\u201b\u2032]/g, "'"],
  [/[\u201c\u201d\u201f\u2033]/g, '"'],
  [/[\u2010-\u2015\u2212]/g, '-'],
  [/[\u00a0\u2007\u202f\u3000]/g, ' '],
];

/** A line with all runs of whitespace collapsed and look-alike punctuation made ASCII. */
export function normalizeLine(line: string): string {
  let out = line;
  for (const [pattern, replacement] of LOOKALIKES) out = out.replace(pattern, replacement);
  return out.replace(/\s+/g, ' ').trim();
}

export type LineEquality = (fileLine: string, hunkLine: string) => boolean;

export const exactEquality: LineEquality = (a, b) => a === b;
export const trailingWhitespaceEquality: LineEquality = (a, b) => a.trimEnd() === b.trimEnd();
export const looseEquality: LineEquality = (a, b) => a === b || normalizeLine(a) === normalizeLine(b);

const TAB_WIDTH = 4;

/** Width of a line's leading whitespace, tabs counted as TAB_WIDTH columns. */
export function indentColumns(line: string): number {
  let columns = 0;
  for (const ch of line) {
    if (ch === ' ' || ch === '\u00a0') columns++;
    else if (ch === '\t') columns += TAB_WIDTH - (columns % TAB_WIDTH);
    else break;
  }
  return columns;
}

export function leadingWhitespace(line: string): string {
  return /^[ \t\u00a0]*/.exec(line)![0];
}

/** Re-indents `line` to `columns`, with tabs when the file indents with tabs. */
export function withIndent(line: string, columns: number, useTabs: boolean): string {
  const body = line.slice(leadingWhitespace(line).length);
  if (body === '') return '';
  const indent = useTabs ? '\t'.repeat(Math.floor(columns / TAB_WIDTH)) + ' '.repeat(columns % TAB_WIDTH) : ' '.repeat(columns);
  return indent + body;
}
