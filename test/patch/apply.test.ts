import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Edit } from '../../src/core/types.ts';
import { applyEdit, planEdit } from '../../src/patch/apply.ts';

const TRAIN = `import os


def train(cfg):
    lr = 0.1
    steps = 10
    for s in range(steps):
        loss = step(lr)
        log(loss)
    return loss


def evaluate(cfg):
    steps = 10
    for s in range(steps):
        loss = step(0)
        log(loss)
    return loss
`;

const roots: string[] = [];
function tree(files: Record<string, string>): string {
  const root = mkdtempSync(path.join(tmpdir(), 'patch-'));
  roots.push(root);
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
    writeFileSync(path.join(root, name), text);
  }
  return root;
}
afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

const read = (root: string, name: string) => readFileSync(path.join(root, name), 'utf8');
const diff = (text: string): Edit => ({ kind: 'unified-diff', diff: text });
const blocks = (...list: [string, string, string][]): Edit => ({
  kind: 'search-replace',
  blocks: list.map(([p, search, replace]) => ({ path: p, search, replace })),
});

/** What `git diff --no-index` makes of a change: the reference a correct diff is judged by. */
function gitDiff(before: string, after: string, name = 'train.py'): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'gitdiff-'));
  roots.push(dir);
  mkdirSync(path.join(dir, 'a'));
  mkdirSync(path.join(dir, 'b'));
  writeFileSync(path.join(dir, 'a', name), before);
  writeFileSync(path.join(dir, 'b', name), after);
  try {
    execFileSync('git', ['diff', '--no-index', '--no-color', `a/${name}`, `b/${name}`], { cwd: dir, encoding: 'utf8' });
    return '';
  } catch (error) {
    // exit code 1 means "differences found"; the diff is on stdout
    return ((error as { stdout: string }).stdout ?? '').replaceAll(`a/a/${name}`, `a/${name}`).replaceAll(`b/b/${name}`, `b/${name}`);
  }
}

const WARMUP = TRAIN.replace('    lr = 0.1\n', '    lr = 0.1\n    warmup = 5\n');

describe('unified diffs', () => {
  it('applies a correct git diff exactly as git would', async () => {
    const root = tree({ 'train.py': TRAIN });
    const patch = gitDiff(TRAIN, WARMUP);
    expect(patch).toContain('@@ -3,');
    const result = await applyEdit(diff(patch), root);
    expect(result).toEqual({ ok: true, changedFiles: ['train.py'], notes: [] });
    expect(read(root, 'train.py')).toBe(WARMUP);
  });

  it('ignores wrong line numbers and hunk counts', async () => {
    const root = tree({ 'train.py': TRAIN });
    const result = await applyEdit(
      diff(`--- a/train.py\n+++ b/train.py\n@@ -57,9 +61,2 @@\n def train(cfg):\n     lr = 0.1\n+    warmup = 5\n     steps = 10\n`),
      root,
    );
    expect(result.ok).toBe(true);
    expect(read(root, 'train.py')).toBe(WARMUP);
  });

  it('accepts bare @@ headers, paths without a/ b/ prefixes, fences and prose', async () => {
    const root = tree({ 'train.py': TRAIN });
    const reply =
      'Sure, here is the change:\n\n```diff\n--- train.py\n+++ train.py\n@@\n def train(cfg):\n     lr = 0.1\n+    warmup = 5\n     steps = 10\n```\n\nThis adds a warmup.';
    const result = await applyEdit(diff(reply), root);
    expect(result.ok).toBe(true);
    expect(read(root, 'train.py')).toBe(WARMUP);
  });

  it('re-indents added lines when the hunk drifted in indentation', async () => {
    const root = tree({ 'train.py': TRAIN });
    // The model wrote the function body with 2 spaces; the file uses 4.
    const result = await applyEdit(
      diff(`--- a/train.py\n+++ b/train.py\n@@ -4,3 +4,4 @@\n def train(cfg):\n   lr = 0.1\n+  warmup = 5\n   steps = 10\n`),
      root,
    );
    expect(result.ok && result.notes?.[0]).toMatch(/whitespace/);
    expect(read(root, 'train.py')).toBe(WARMUP);
  });

  it('tolerates trailing whitespace and tabs-for-spaces drift', async () => {
    const tabbed = TRAIN.replace(/^ {4}/gm, '\t').replace(/^\t {4}/gm, '\t\t');
    const root = tree({ 'train.py': tabbed });
    const result = await applyEdit(
      diff(`--- a/train.py\n+++ b/train.py\n@@ -4,3 +4,4 @@\n def train(cfg):   \n     lr = 0.1\n+    warmup = 5\n     steps = 10\n`),
      root,
    );
    expect(result.ok).toBe(true);
    expect(read(root, 'train.py')).toBe(tabbed.replace('\tlr = 0.1\n', '\tlr = 0.1\n\twarmup = 5\n'));
  });

  it('tolerates a context line the file does not have (fuzz) and a missing one', async () => {
    const root = tree({ 'train.py': TRAIN });
    // The first context line is invented: "def train(config):" is really "def train(cfg):".
    const invented = `--- a/train.py\n+++ b/train.py\n@@ -4,4 +4,5 @@\n def train(config):\n     lr = 0.1\n+    warmup = 5\n     steps = 10\n     for s in range(steps):\n`;
    expect((await applyEdit(diff(invented), root)).ok).toBe(true);
    expect(read(root, 'train.py')).toBe(WARMUP);

    const root2 = tree({ 'train.py': TRAIN });
    // The model skipped the "lr = 0.1" line between two context lines.
    const skipped = `--- a/train.py\n+++ b/train.py\n@@ -4,4 +4,5 @@\n def train(cfg):\n     steps = 10\n+    warmup = 5\n     for s in range(steps):\n         loss = step(lr)\n`;
    const result = await applyEdit(diff(skipped), root2);
    expect(result.ok).toBe(true);
    expect(read(root2, 'train.py')).toBe(
      TRAIN.replace(
        '    steps = 10\n    for s in range(steps):\n        loss = step(lr)',
        '    steps = 10\n    warmup = 5\n    for s in range(steps):\n        loss = step(lr)',
      ),
    );
  });

  it('tolerates blank lines missing from or added to the hunk', async () => {
    const root = tree({ 'train.py': TRAIN });
    // The hunk runs over the two blank lines between the functions but lists only one.
    const result = await applyEdit(
      diff(
        `--- a/train.py\n+++ b/train.py\n@@ -9,5 +9,5 @@\n         log(loss)\n-    return loss\n+    return loss * 2\n\n def evaluate(cfg):\n`,
      ),
      root,
    );
    expect(result.ok).toBe(true);
    expect(read(root, 'train.py')).toBe(TRAIN.replace('    return loss\n\n\ndef evaluate', '    return loss * 2\n\n\ndef evaluate'));
  });

  it('reads context lines that lost their leading space', async () => {
    const root = tree({ 'train.py': TRAIN });
    const result = await applyEdit(
      diff(`--- a/train.py\n+++ b/train.py\n@@ -1,4 +1,5 @@\nimport os\n+import sys\n\n\ndef train(cfg):\n`),
      root,
    );
    expect(result.ok).toBe(true);
    expect(read(root, 'train.py')).toBe(TRAIN.replace('import os\n', 'import os\nimport sys\n'));
  });

  it('applies hunks given out of order, and refuses overlapping hunks', async () => {
    const root = tree({ 'train.py': TRAIN });
    const outOfOrder = `--- a/train.py\n+++ b/train.py\n@@ -16,2 +16,2 @@\n-        loss = step(0)\n+        loss = step(1)\n         log(loss)\n@@ -5,2 +5,2 @@\n-    lr = 0.1\n+    lr = 0.2\n     steps = 10\n`;
    expect((await applyEdit(diff(outOfOrder), root)).ok).toBe(true);
    expect(read(root, 'train.py')).toBe(TRAIN.replace('lr = 0.1', 'lr = 0.2').replace('step(0)', 'step(1)'));

    const root2 = tree({ 'train.py': TRAIN });
    const overlapping = `--- a/train.py\n+++ b/train.py\n@@ -5,2 +5,2 @@\n-    lr = 0.1\n+    lr = 0.2\n     steps = 10\n@@ -5,2 +5,2 @@\n     lr = 0.1\n-    steps = 10\n+    steps = 20\n`;
    const result = await applyEdit(diff(overlapping), root2);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.message).toMatch(/hunks 1 and 2 of train.py change overlapping lines/);
    expect(read(root2, 'train.py')).toBe(TRAIN);
  });

  it('creates new files, with or without /dev/null, and deletes files', async () => {
    const root = tree({ 'train.py': TRAIN, 'old.py': 'x = 1\ny = 2\n' });
    const patch = [
      '--- /dev/null\n+++ b/sched.py\n@@ -0,0 +1,2 @@\n+def cosine(t):\n+    return t\n',
      '--- a/util.py\n+++ b/util.py\n@@ -0,0 +1 @@\n+HELPER = 1\n',
      'diff --git a/old.py b/old.py\ndeleted file mode 100644\n--- a/old.py\n+++ /dev/null\n@@ -1,2 +0,0 @@\n-x = 1\n-y = 2\n',
    ].join('');
    const result = await applyEdit(diff(patch), root);
    expect(result.ok && result.changedFiles.sort()).toEqual(['old.py', 'sched.py', 'util.py']);
    expect(read(root, 'sched.py')).toBe('def cosine(t):\n    return t\n');
    expect(read(root, 'util.py')).toBe('HELPER = 1\n');
    expect(existsSync(path.join(root, 'old.py'))).toBe(false);
  });

  it('keeps CRLF line endings and honours "no newline at end of file"', async () => {
    const crlf = 'a = 1\r\nb = 2\r\nc = 3\r\n';
    const root = tree({ 'w.py': crlf, 'n.py': 'a = 1\nb = 2' });
    expect((await applyEdit(diff('--- a/w.py\n+++ b/w.py\n@@ -1,3 +1,3 @@\n a = 1\n-b = 2\n+b = 20\n c = 3\n'), root)).ok).toBe(true);
    expect(read(root, 'w.py')).toBe('a = 1\r\nb = 20\r\nc = 3\r\n');

    const before = 'a = 1\nb = 2';
    const after = 'a = 1\nb = 3\n';
    const patch = gitDiff(before, after, 'n.py');
    expect(patch).toContain('\\ No newline at end of file');
    expect((await applyEdit(diff(patch), root)).ok).toBe(true);
    expect(read(root, 'n.py')).toBe(after);
  });

  it('refuses an ambiguous hunk, and places it by its header only when the header is exact', async () => {
    // "for s in range(steps):\n        loss = step(...)" patterns: the two functions share lines.
    const shared = `--- a/train.py\n+++ b/train.py\n@@\n     steps = 10\n-    for s in range(steps):\n+    for s in range(steps * 2):\n`;
    const root = tree({ 'train.py': TRAIN });
    const result = await applyEdit(diff(shared), root);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.message).toMatch(/matches 2 places in the file \(lines 6-7, lines 14-15\)/);
    expect(read(root, 'train.py')).toBe(TRAIN);

    // The same hunk with the exact line number of the second place: git apply would put it there too.
    const pinned = shared.replace('@@\n', '@@ -14,2 +14,2 @@\n');
    expect((await applyEdit(diff(pinned), root)).ok).toBe(true);
    expect(read(root, 'train.py')).toBe(TRAIN.replace(/(def evaluate[\s\S]*?)for s in range\(steps\)/, '$1for s in range(steps * 2)'));

    // A wrong line number pins nothing: still refused.
    const root2 = tree({ 'train.py': TRAIN });
    expect((await applyEdit(diff(shared.replace('@@\n', '@@ -11,2 +11,2 @@\n')), root2)).ok).toBe(false);
    expect(read(root2, 'train.py')).toBe(TRAIN);
  });

  it('says which hunk failed and what the file really says there', async () => {
    const root = tree({ 'train.py': TRAIN });
    const result = await applyEdit(
      diff(
        `--- a/train.py\n+++ b/train.py\n@@ -1,2 +1,2 @@\n import os\n@@ -5,3 +5,3 @@\n-    lr = 0.01\n+    lr = 0.02\n     steps = 10\n     for s in range(steps):\n`,
      ),
      root,
    );
    expect(result.ok).toBe(false);
    const message = result.ok ? '' : result.message;
    expect(message).toContain('hunk 2 of train.py (@@ -5,3 +5,3 @@) does not match the file');
    expect(message).toContain('5 |     lr = 0.1');
    expect(message).toContain('expected "    lr = 0.01", but line 5 of the file is "    lr = 0.1"');
    expect(read(root, 'train.py')).toBe(TRAIN);
  });

  it('writes nothing when any file of the edit fails', async () => {
    const root = tree({ 'train.py': TRAIN, 'config.py': 'X = 1\n' });
    const patch = `--- a/config.py\n+++ b/config.py\n@@ -1 +1 @@\n-X = 1\n+X = 2\n--- a/train.py\n+++ b/train.py\n@@ -1 +1 @@\n-import sys\n+import re\n`;
    const result = await applyEdit(diff(patch), root);
    expect(result.ok).toBe(false);
    expect(read(root, 'config.py')).toBe('X = 1\n');
  });

  it('refuses a context-free insertion it could only place by line number, but appends at the end', async () => {
    const root = tree({ 'train.py': TRAIN });
    const middle = await applyEdit(diff('--- a/train.py\n+++ b/train.py\n@@ -5,0 +6 @@\n+    warmup = 5\n'), root);
    expect(middle.ok).toBe(false);
    expect(!middle.ok && middle.message).toMatch(/no context lines/);
    const lines = TRAIN.split('\n').length - 1;
    expect((await applyEdit(diff(`--- a/train.py\n+++ b/train.py\n@@ -${lines},0 +${lines + 1} @@\n+print('done')\n`), root)).ok).toBe(
      true,
    );
    expect(read(root, 'train.py')).toBe(`${TRAIN}print('done')\n`);
  });

  it('refuses a binary patch rather than writing an empty file', async () => {
    const root = tree({ 'train.py': TRAIN });
    const result = await applyEdit(
      diff(
        'diff --git a/w.bin b/w.bin\nnew file mode 100644\nindex 0000000..e69de29\nGIT binary patch\nliteral 4\nLcmZ?wbYK7g0@nbB\n\nliteral 0\nHcmV?d00001\n',
      ),
      root,
    );
    expect(result.ok).toBe(false);
    expect(!result.ok && result.message).toMatch(/is a binary patch \(w.bin\)/);
    expect(existsSync(path.join(root, 'w.bin'))).toBe(false);
  });

  it('refuses a diff that changes a file that does not exist and names the likely one', async () => {
    const root = tree({ 'src/train.py': TRAIN });
    const result = await applyEdit(diff('--- a/train.py\n+++ b/train.py\n@@ -5 +5 @@\n-    lr = 0.1\n+    lr = 0.2\n'), root);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.message).toMatch(/train.py does not exist/);
  });
});

describe('search/replace blocks', () => {
  it('replaces whole lines exactly, as the offline coder writes them', async () => {
    const root = tree({ 'config.py': 'X = 0.5\nY = 2\n' });
    const result = await applyEdit(blocks(['config.py', 'X = 0.5', 'X = 0.7']), root);
    expect(result).toEqual({ ok: true, changedFiles: ['config.py'], notes: [] });
    expect(read(root, 'config.py')).toBe('X = 0.7\nY = 2\n');
  });

  it('never matches part of a longer token', async () => {
    const root = tree({ 'config.py': 'X = 0.50\n' });
    const result = await applyEdit(blocks(['config.py', 'X = 0.5', 'X = 0.7']), root);
    expect(result.ok).toBe(false);
    expect(read(root, 'config.py')).toBe('X = 0.50\n');
  });

  it('matches a unique part of a line', async () => {
    const root = tree({ 'train.py': 'opt = SGD(params, lr=0.1, momentum=0.9)\n' });
    expect((await applyEdit(blocks(['train.py', 'lr=0.1', 'lr=0.05']), root)).ok).toBe(true);
    expect(read(root, 'train.py')).toBe('opt = SGD(params, lr=0.05, momentum=0.9)\n');
  });

  it('re-indents a block the model wrote at the wrong depth', async () => {
    const root = tree({ 'train.py': TRAIN });
    const result = await applyEdit(blocks(['train.py', 'lr = 0.1\nsteps = 10\n', 'lr = 0.1\nwarmup = 5\nsteps = 10\n']), root);
    expect(result.ok).toBe(true);
    expect(read(root, 'train.py')).toBe(WARMUP);
  });

  it('applies blocks in order, each on what the previous one left', async () => {
    const root = tree({ 'train.py': TRAIN });
    const result = await applyEdit(
      blocks(['train.py', '    lr = 0.1\n', '    lr = 0.1\n    warmup = 5\n'], ['train.py', '    warmup = 5\n', '    warmup = 50\n']),
      root,
    );
    expect(result.ok).toBe(true);
    expect(read(root, 'train.py')).toBe(WARMUP.replace('warmup = 5', 'warmup = 50'));
  });

  it('refuses a search that matches twice and says where', async () => {
    const root = tree({ 'train.py': TRAIN });
    const result = await applyEdit(blocks(['train.py', '    steps = 10\n', '    steps = 20\n']), root);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.message).toMatch(/block 1 \(train.py\): the SEARCH text matches 2 places.*include more lines in SEARCH/s);
    expect(read(root, 'train.py')).toBe(TRAIN);
  });

  it('creates a new file from an empty search, and refuses one that exists', async () => {
    const root = tree({ 'train.py': TRAIN });
    expect((await applyEdit(blocks(['lib/sched.py', '', 'def f():\n    pass\n']), root)).ok).toBe(true);
    expect(read(root, 'lib/sched.py')).toBe('def f():\n    pass\n');
    const again = await applyEdit(blocks(['train.py', '', 'x = 1\n']), root);
    expect(!again.ok && again.message).toMatch(/already exists/);
  });
});

describe('path safety', () => {
  it('refuses paths that leave the tree, enter .git or go through a symlink', async () => {
    const outside = mkdtempSync(path.join(tmpdir(), 'outside-'));
    roots.push(outside);
    const root = tree({ 'train.py': TRAIN });
    symlinkSync(outside, path.join(root, 'link'));
    for (const target of ['../escape.py', '/etc/passwd', '.git/config', 'link/evil.py']) {
      const viaBlock = await applyEdit(blocks([target, '', 'x = 1\n']), root);
      expect(viaBlock.ok, target).toBe(false);
      const viaDiff = await applyEdit(diff(`--- /dev/null\n+++ b/${target.replace(/^\//, '')}\n@@ -0,0 +1 @@\n+x = 1\n`), root);
      if (!target.startsWith('/')) expect(viaDiff.ok, target).toBe(false);
    }
    expect(existsSync(path.join(outside, 'evil.py'))).toBe(false);
    expect(existsSync(path.join(path.dirname(root), 'escape.py'))).toBe(false);
  });

  it('plans without writing', () => {
    const root = tree({ 'config.py': 'X = 1\n' });
    const plan = planEdit(blocks(['config.py', 'X = 1', 'X = 2']), root);
    expect(plan).toEqual({ ok: true, files: [{ path: 'config.py', before: 'X = 1\n', after: 'X = 2\n' }], notes: [] });
    expect(read(root, 'config.py')).toBe('X = 1\n');
  });
});
