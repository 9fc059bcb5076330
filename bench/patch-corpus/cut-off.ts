/**
 * The held-out cut-off set: model replies stopped by max_tokens inside their last hunk (or inside
 * a search/replace block's REPLACE part). Each complete diff of cases.json is cut at every line of
 * its last hunk (after the line, before its newline, and half-way through it), and each cut is
 * sent three ways: as it stops, inside a ```diff block that never closes, and (for a cut half-way
 * through a context or deleted line) inside one closed right after the cut line; under a closed
 * fence a whole last line, or half an added one, is what a complete, miscounted hunk looks like. Every one must be refused: what the
 * rest of the hunk said is unknown.
 *
 * Generated on the fly (deterministic): the cuts follow the committed corpus.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { EDITS, type PatchCase } from './generate.ts';

export interface CutOffCase {
  name: string;
  file: string;
  original: string;
  /** The reply as it arrived. */
  reply: string;
}

const HERE = import.meta.dirname;

/** Offsets at which to cut `text` inside [from, to): after each line, before its line end, mid-way (`midLine`: through a context or deleted line). */
function cutPoints(text: string, from: number, to: number): { at: number; midLine: boolean }[] {
  const points = new Map<number, boolean>();
  let start = from;
  while (start < to) {
    let end = text.indexOf('\n', start);
    if (end < 0 || end >= to) end = to;
    const content = text.slice(start, end).replace(/\r$/, '');
    // Half an added line under a closed fence reads as a whole one: only context and deleted
    // lines cut mid-way are knowable there.
    if (content.length > 1) points.set(start + Math.floor(content.length / 2), !content.startsWith('+'));
    if (!points.has(start + content.length)) points.set(start + content.length, false);
    if (end + 1 < to) points.set(end + 1, false);
    start = end + 1;
  }
  return [...points]
    .filter(([at]) => at > from && at < to)
    .sort((a, b) => a[0] - b[0])
    .map(([at, midLine]) => ({ at, midLine }));
}

function variants(cut: string, fenced: boolean, midLine: boolean): [string, string][] {
  const eol = cut.includes('\r\n') ? '\r\n' : '\n';
  const lineEnded = `${cut}${eol}`;
  const out: [string, string][] = [['as cut', cut]];
  if (!fenced) out.push(['in an unclosed fence', `Here is the change:${eol}${eol}\`\`\`diff${eol}${cut}`]);
  // A closed fence says the reply went on after the diff: only half a line can show a cut then
  // (a whole last line, fenced and closed, is a complete diff with a miscounted header).
  if (midLine) out.push(['fence closed after the cut', `${fenced ? '' : `\`\`\`diff${eol}`}${lineEnded}\`\`\`${eol}`]);
  return out;
}

export function cutOffCases(): CutOffCase[] {
  const corpus = JSON.parse(readFileSync(path.join(HERE, 'cases.json'), 'utf8')) as PatchCase[];
  const out: CutOffCase[] = [];
  for (const kase of corpus) {
    if (kase.expected === null) continue;
    const text = kase.diff;
    const lastHeader = Math.max(text.lastIndexOf('\n@@') + 1, text.startsWith('@@') ? 0 : -1);
    if (lastHeader <= 0) continue;
    const fenceAt = text.slice(lastHeader).search(/^```/m);
    const fenced = fenceAt >= 0;
    // The end of the hunk's last line (without its line end): cutting there or later is no cut.
    const hunkEnd = (fenced ? lastHeader + fenceAt : text.length).valueOf();
    const body = text.slice(0, hunkEnd).replace(/\r?\n$/, '');
    const seen = new Set<string>();
    for (const { at, midLine } of cutPoints(text, lastHeader, body.length)) {
      for (const [how, reply] of variants(text.slice(0, at), fenced, midLine)) {
        if (seen.has(reply)) continue;
        seen.add(reply);
        out.push({ name: `${kase.name} cut at ${at}/${body.length}, ${how}`, file: kase.file, original: kase.original, reply });
      }
    }
  }
  // Search/replace replies cut inside the last block's REPLACE part.
  for (const edit of EDITS) {
    const original = readFileSync(path.join(HERE, 'sources', edit.file.endsWith('.ts') ? `${edit.file}.txt` : edit.file), 'utf8');
    const reply = edit.changes
      .map(([search, replace]) => `${edit.file}\n<<<<<<< SEARCH\n${search}=======\n${replace}>>>>>>> REPLACE\n`)
      .join('\n');
    const replaceStart = reply.lastIndexOf('=======\n') + '=======\n'.length;
    const replaceEnd = reply.lastIndexOf('>>>>>>> REPLACE');
    for (const { at, midLine } of cutPoints(reply, replaceStart, replaceEnd + '>>>>>>> REPLAC'.length)) {
      for (const [how, text] of variants(reply.slice(0, at), false, midLine).filter(([how]) => how !== 'in an unclosed fence')) {
        out.push({
          name: `${edit.name} search/replace cut at ${at}/${reply.length}, ${how}`,
          file: edit.file,
          original,
          reply: how === 'as cut' ? text : `\`\`\`\n${text.replace(/^```diff\n/, '')}`,
        });
      }
    }
  }
  return out;
}
