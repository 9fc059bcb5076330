/**
 * Diffs in the report: a real `git diff` (new file, changed file, deleted file) parsed into
 * numbered lines and rendered as highlighted, escaped HTML.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { diffToHtml, highlightLine, parseGitDiff } from '../../src/report/diff-html.ts';
import { tempDir } from '../helpers/sweep.ts';

function realDiff(): string {
  const repo = tempDir('researcher-diff-');
  const git = (...args: string[]) =>
    execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd: repo, encoding: 'utf8' });
  git('init', '-q');
  mkdirSync(path.join(repo, 'src'));
  writeFileSync(
    path.join(repo, 'src/train.py'),
    ['import math', '', 'LR = 0.001', 'def step(x):', '    return x * LR  # scale', ''].join('\n'),
  );
  writeFileSync(path.join(repo, 'old.txt'), 'bye\n');
  git('add', '-A');
  git('commit', '-qm', 'base');
  writeFileSync(
    path.join(repo, 'src/train.py'),
    ['import math', '', 'LR = 3e-4', 'def step(x):', '    return x * LR  # scale', 'print("<script>alert(1)</script>")', ''].join('\n'),
  );
  rmSync(path.join(repo, 'old.txt'));
  writeFileSync(path.join(repo, 'config.yaml'), 'lr: 0.0003\n');
  git('add', '-A');
  return git('diff', '--cached', '--no-color');
}

describe('git diffs in the report', () => {
  const diff = realDiff();

  it('parses files, their kind and old/new line numbers', () => {
    const files = parseGitDiff(diff);
    expect(files.map((f) => [f.newPath, f.note, f.added, f.removed])).toEqual([
      ['config.yaml', 'new file', 1, 0],
      ['old.txt', 'deleted', 0, 1],
      ['src/train.py', null, 2, 1],
    ]);
    const train = files[2].lines;
    expect(train.find((l) => l.kind === 'del')).toEqual({ kind: 'del', oldNumber: 3, newNumber: null, text: 'LR = 0.001' });
    expect(train.find((l) => l.kind === 'add')).toEqual({ kind: 'add', oldNumber: null, newNumber: 3, text: 'LR = 3e-4' });
    expect(train.filter((l) => l.kind === 'add').map((l) => l.newNumber)).toEqual([3, 6]);
  });

  it('renders escaped, syntax-highlighted HTML', () => {
    const html = diffToHtml(diff);
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('<span class="tok-n">3e-4</span>');
    expect(html).toContain('<span class="tok-k">def</span>');
    expect(html).toContain('<span class="tok-c"># scale</span>');
    expect(html).toContain('<span class="tok-a">lr</span>: <span class="tok-n">0.0003</span>');
    expect(html.match(/class="diff-file"/g)).toHaveLength(3);
  });

  it('highlights each language by its own rules', () => {
    expect(highlightLine('const n = 2 // two', 'c-like')).toBe(
      '<span class="tok-k">const</span> n = <span class="tok-n">2</span> <span class="tok-c">// two</span>',
    );
    expect(highlightLine('{"ok": true, "n": 1}', 'json')).toBe(
      '{<span class="tok-s">&quot;ok&quot;</span>: <span class="tok-k">true</span>, <span class="tok-s">&quot;n&quot;</span>: <span class="tok-n">1</span>}',
    );
    expect(highlightLine('x = "a # not a comment"', 'python')).toBe('x = <span class="tok-s">&quot;a # not a comment&quot;</span>');
  });

  it('shows text that is not a git diff as plain escaped text', () => {
    expect(diffToHtml('not <a> diff')).toBe('<pre class="diff-raw">not &lt;a&gt; diff</pre>');
  });
});
