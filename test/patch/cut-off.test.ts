/**
 * The applier refuses what it cannot know: replies cut off inside their last hunk (the held-out
 * set of bench/patch-corpus/cut-off.ts, cut from every complete corpus diff), edits that change
 * nothing, and it keeps search/replace paths as written.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cutOffCases } from '../../bench/patch-corpus/cut-off.ts';
import type { PatchCase } from '../../bench/patch-corpus/generate.ts';
import { applyEdit } from '../../src/patch/apply.ts';
import { EditParseError, parseEditText, parseSearchReplaceBlocks } from '../../src/patch/edit-text.ts';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
function tree(files: Record<string, string>): string {
  const root = mkdtempSync(path.join(tmpdir(), 'cut-off-'));
  dirs.push(root);
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(root, name), text);
  return root;
}

/** A reply through the coder's path: read as an edit, then applied. Refused: ok false or unreadable. */
async function applyReply(reply: string, root: string): Promise<{ ok: boolean; message: string }> {
  try {
    const result = await applyEdit(parseEditText(reply), root);
    return { ok: result.ok, message: result.ok ? '' : result.message };
  } catch (error) {
    if (error instanceof EditParseError) return { ok: false, message: error.message };
    throw error;
  }
}

describe('replies cut off inside their last hunk', () => {
  const cases = cutOffCases();

  it('the held-out set covers every complete corpus diff, each cut many ways, and search/replace blocks', () => {
    const corpus = JSON.parse(readFileSync(new URL('../../bench/patch-corpus/cases.json', import.meta.url), 'utf8')) as PatchCase[];
    const complete = corpus.filter((c) => c.expected !== null);
    for (const kase of complete)
      expect(cases.filter((c) => c.name.startsWith(`${kase.name} cut at`)).length, kase.name).toBeGreaterThanOrEqual(10);
    for (const how of ['as cut', 'in an unclosed fence', 'fence closed after the cut'])
      expect(cases.some((c) => c.name.endsWith(how))).toBe(true);
    expect(cases.filter((c) => c.name.includes('search/replace cut')).length).toBeGreaterThan(50);
  });

  it('every one is refused with a message, and leaves the file as it was', async () => {
    const roots = new Map<string, string>();
    const applied: string[] = [];
    for (const kase of cases) {
      const root = roots.get(kase.file) ?? tree({});
      roots.set(kase.file, root);
      writeFileSync(path.join(root, kase.file), kase.original);
      const result = await applyReply(kase.reply, root);
      if (result.ok || readFileSync(path.join(root, kase.file), 'utf8') !== kase.original) applied.push(kase.name);
      else expect(result.message.length, kase.name).toBeGreaterThan(20);
    }
    expect(applied, `applied: ${applied.slice(0, 5).join('; ')}`).toEqual([]);
  });

  it('says the reply looks cut off', async () => {
    const original = 'def f(x):\n    a = 1\n    b = 2\n    c = 3\n    d = 4\n    e = 5\n    return x\n';
    const complete =
      '--- a/f.py\n+++ b/f.py\n@@ -1,6 +1,6 @@\n def f(x):\n     a = 1\n-    b = 2\n+    b = 20\n     c = 3\n     d = 4\n     e = 5\n';
    const root = tree({ 'f.py': original });
    // Fenced and never closed; half of the last line; fewer context lines than a hunk ends on.
    for (const reply of [
      `\`\`\`diff\n${complete}`,
      `\`\`\`diff\n${complete.slice(0, -4)}\n\`\`\`\n`,
      complete.slice(0, complete.lastIndexOf('     e = 5')),
    ]) {
      const result = await applyReply(reply, root);
      expect(result.ok, reply).toBe(false);
      expect(result.message).toMatch(/cut off/);
      expect(readFileSync(path.join(root, 'f.py'), 'utf8')).toBe(original);
    }
    // The complete diff, fenced and closed, applies.
    expect((await applyReply(`\`\`\`diff\n${complete}\`\`\`\n`, root)).ok).toBe(true);
    expect(readFileSync(path.join(root, 'f.py'), 'utf8')).toBe(original.replace('b = 2\n', 'b = 20\n'));
  });

  it('complete corpus diffs still apply as before (short counts alone are a slip, not a cut)', async () => {
    const corpus = JSON.parse(readFileSync(new URL('../../bench/patch-corpus/cases.json', import.meta.url), 'utf8')) as PatchCase[];
    for (const kase of corpus.filter(
      (c) => c.expected !== null && ['correct', 'wrong-hunk-counts', 'missing-context-line', 'markdown-fences', 'crlf'].includes(c.damage),
    )) {
      const root = tree({ [kase.file]: kase.original });
      const result = await applyEdit({ kind: 'unified-diff', diff: kase.diff }, root);
      expect(result.ok, `${kase.name}: ${result.ok ? '' : result.message}`).toBe(true);
      expect(readFileSync(path.join(root, kase.file), 'utf8'), kase.name).toBe(kase.expected);
    }
  });
});

describe('an edit that changes nothing', () => {
  it('is a failure that says so, for search/replace blocks and diffs', async () => {
    const root = tree({ 'config.py': 'X = 1\n' });
    const same = await applyEdit({ kind: 'search-replace', blocks: [{ path: 'config.py', search: 'X = 1\n', replace: 'X = 1\n' }] }, root);
    expect(same.ok).toBe(false);
    expect(!same.ok && same.message).toMatch(/^the edit applied but changed nothing: config\.py/);
    const created = await applyEdit({ kind: 'unified-diff', diff: '--- /dev/null\n+++ b/config.py\n@@ -0,0 +1 @@\n+X = 1\n' }, root);
    expect(!created.ok && created.message).toMatch(/^the edit applied but changed nothing: /);
    expect(readFileSync(path.join(root, 'config.py'), 'utf8')).toBe('X = 1\n');
  });
});

describe('search/replace paths are taken verbatim', () => {
  it('keeps the underscores of a top-level __init__.py, with or without markdown bold', async () => {
    for (const written of ['__init__.py', '**__init__.py**', '`__init__.py`', '_private.py']) {
      const blocks = parseSearchReplaceBlocks(`${written}\n<<<<<<< SEARCH\nX = 1\n=======\nX = 2\n>>>>>>> REPLACE\n`);
      expect(blocks?.[0].path, written).toBe(written.replace(/[*`]/g, ''));
    }
    const root = tree({ '__init__.py': 'X = 1\n' });
    const result = await applyEdit(parseEditText('__init__.py\n<<<<<<< SEARCH\nX = 1\n=======\nX = 2\n>>>>>>> REPLACE\n'), root);
    expect(result.ok).toBe(true);
    expect(readFileSync(path.join(root, '__init__.py'), 'utf8')).toBe('X = 2\n');
  });
});
