/**
 * The applier's promise, checked over many seeded cases: a damaged diff either applies to
 * exactly the intended result or is refused — it is never applied wrongly. Each damage kind is a
 * way models get diffs wrong; the success rates show the tolerance is real, not just refusal.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { structuredPatch } from 'diff';
import { afterAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../../src/core/random.ts';
import { applyEdit } from '../../src/patch/apply.ts';

type Random = () => number;
const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)];

/** A Python-like file with repeated lines (blank lines, `return x`, loops) so ambiguity is real. */
function makeFile(random: Random): string {
  const lines: string[] = ['import math', ''];
  const functions = 6 + Math.floor(random() * 6);
  for (let f = 0; f < functions; f++) {
    lines.push('', `def fn_${f}(x, n=${f + 1}):`);
    const body = 3 + Math.floor(random() * 6);
    for (let b = 0; b < body; b++) {
      lines.push(
        pick(random, [
          `    x = x * ${b + 1}`,
          '    for i in range(n):',
          `        x += i * ${f}`,
          '    x = math.sqrt(abs(x))',
          `    y_${b} = x - ${b}`,
          '',
          '    if x > 100:',
          '        x = 100',
        ]),
      );
    }
    lines.push('    return x');
  }
  return `${lines.join('\n')}\n`;
}

/** A random edit: a few lines changed, inserted or deleted at random places. */
function editFile(random: Random, text: string): string {
  const lines = text.split('\n');
  lines.pop();
  const changes = 1 + Math.floor(random() * 3);
  for (let c = 0; c < changes; c++) {
    const at = 3 + Math.floor(random() * (lines.length - 4));
    const kind = random();
    if (kind < 0.4) lines[at] = `${lines[at].replace(/\S.*$/, '')}changed_${c} = ${Math.floor(random() * 1000)}`;
    else if (kind < 0.75) lines.splice(at, 0, `    added_${c} = ${Math.floor(random() * 1000)}`, `    added_${c} += 1`);
    else lines.splice(at, 1);
  }
  return `${lines.join('\n')}\n`;
}

interface RawHunk {
  oldStart: number;
  oldLines: number;
  newStart: number;
  newLines: number;
  lines: string[];
}

type Damage = (
  hunks: RawHunk[],
  random: Random,
) => {
  header: (h: RawHunk) => string;
  lines: (h: RawHunk) => string[];
  paths?: [string, string];
  wrap?: (d: string) => string;
  context?: number;
};

const exactHeader = (h: RawHunk) => `@@ -${h.oldStart},${h.oldLines} +${h.newStart},${h.newLines} @@`;
const asIs = (h: RawHunk) => h.lines;

const DAMAGES: Record<string, Damage> = {
  none: () => ({ header: exactHeader, lines: asIs }),
  'shifted line numbers': (_, random) => {
    const shift = 5 + Math.floor(random() * 40);
    return { header: (h) => `@@ -${h.oldStart + shift},${h.oldLines} +${h.newStart + shift},${h.newLines} @@`, lines: asIs };
  },
  'wrong counts': () => ({
    header: (h) => `@@ -${h.oldStart},${h.oldLines + 3} +${h.newStart},${Math.max(1, h.newLines - 2)} @@`,
    lines: asIs,
  }),
  'bare @@': () => ({ header: () => '@@', lines: asIs }),
  // One line of context and no line numbers: often ambiguous, and then it must be refused.
  'one context line, bare @@': () => ({ header: () => '@@', lines: asIs, context: 1 }),
  'no a/ b/ prefixes, fenced, prose around': () => ({
    header: exactHeader,
    lines: asIs,
    paths: ['model.py', 'model.py'],
    wrap: (d) => `Here is my change.\n\n\`\`\`diff\n${d}\`\`\`\n\nIt should help.\n`,
  }),
  'trailing whitespace': () => ({ header: exactHeader, lines: (h) => h.lines.map((l) => (l.startsWith(' ') && l.trim() ? `${l}  ` : l)) }),
  're-indented by two spaces': () => ({
    header: exactHeader,
    lines: (h) => h.lines.map((l) => (l.slice(1).trim() ? `${l[0]}  ${l.slice(1)}` : l)),
  }),
  'context lines lost their space': () => ({ header: exactHeader, lines: (h) => h.lines.map((l) => (l.startsWith(' ') ? l.slice(1) : l)) }),
  'blank context lines dropped': () => ({ header: exactHeader, lines: (h) => h.lines.filter((l) => l !== ' ') }),
  'first context line missing': () => ({ header: exactHeader, lines: (h) => (h.lines[0]?.startsWith(' ') ? h.lines.slice(1) : h.lines) }),
  'first context line invented': () => ({
    header: exactHeader,
    lines: (h) => (h.lines[0]?.startsWith(' ') ? [' # a line the file does not have', ...h.lines.slice(1)] : h.lines),
  }),
  'all at once: shifted, re-indented, invented context, fenced': (hunks, random) => {
    const shift = 3 + Math.floor(random() * 20);
    return {
      header: (h) => `@@ -${h.oldStart + shift},${h.oldLines + 1} +${h.newStart + shift},${h.newLines} @@`,
      lines: (h) => {
        const lines = h.lines.map((l) => (l.slice(1).trim() ? `${l[0]}  ${l.slice(1)}` : l));
        return lines[0]?.startsWith(' ') ? [' # a line the file does not have', ...lines.slice(1)] : lines;
      },
      paths: ['model.py', 'model.py'],
      wrap: (d) => `\`\`\`diff\n${d}\`\`\`\n`,
    };
  },
};

const CASES_PER_DAMAGE = 40;
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('damaged diffs are applied exactly right or refused, never applied wrongly', () => {
  for (const [name, damage] of Object.entries(DAMAGES)) {
    it(name, async () => {
      let applied = 0;
      for (let n = 0; n < CASES_PER_DAMAGE; n++) {
        const random = seededRandom(1000 * n + name.length);
        const before = makeFile(random);
        const after = editFile(random, before);
        if (after === before) continue;
        const d = damage([], random);
        const patch = structuredPatch('model.py', 'model.py', before, after, '', '', { context: d.context ?? 3 });
        const [oldPath, newPath] = d.paths ?? ['a/model.py', 'b/model.py'];
        let text = `--- ${oldPath}\n+++ ${newPath}\n`;
        for (const h of patch.hunks) text += `${d.header(h)}\n${d.lines(h).join('\n')}\n`;
        if (d.wrap) text = d.wrap(text);

        const dir = mkdtempSync(path.join(tmpdir(), 'robust-'));
        dirs.push(dir);
        writeFileSync(path.join(dir, 'model.py'), before);
        const result = await applyEdit({ kind: 'unified-diff', diff: text }, dir);
        const now = readFileSync(path.join(dir, 'model.py'), 'utf8');
        if (result.ok) {
          applied++;
          // With blank lines dropped from the diff, where added lines sit among blank lines is
          // no longer in it: judge that case on the lines with content.
          const strip = (t: string) => (name === 'blank context lines dropped' ? t.replace(/\n\s*(?=\n)/g, '') : t);
          expect(strip(now), `case ${n}: applied wrongly\n${text}`).toBe(strip(after));
        } else {
          expect(now, `case ${n}: a refused edit changed the file`).toBe(before);
        }
      }
      // Tolerance, not just safety: most damaged diffs still apply. (Exact diffs always do.)
      const floor =
        name === 'none' ? CASES_PER_DAMAGE : name.startsWith('one context line') ? CASES_PER_DAMAGE * 0.3 : CASES_PER_DAMAGE * 0.75;
      expect(applied, `${name}: only ${applied}/${CASES_PER_DAMAGE} applied`).toBeGreaterThanOrEqual(floor);
    });
  }
});
