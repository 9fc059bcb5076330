/**
 * The agentic coder's reading tools on a hostile tree (real files and links): nothing outside the
 * tree is read, listed or searched — not through `..`, not through a symlink to a file or to a
 * folder, not from .git — and the refusals say why.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listFiles, readFile, searchFiles, ToolFailure } from '../../src/agents/tree-tools.ts';

const root = mkdtempSync(path.join(tmpdir(), 'tree-tools-'));
const tree = path.join(root, 'code');
const outside = path.join(root, 'secret');
mkdirSync(path.join(tree, 'pkg'), { recursive: true });
mkdirSync(path.join(tree, '.git'));
mkdirSync(outside);
writeFileSync(path.join(outside, 'answer.txt'), 'SECRET = 42\n');
writeFileSync(path.join(tree, '.git', 'config'), 'SECRET = 1\n');
writeFileSync(path.join(tree, 'train.py'), 'import pkg\nlr = 0.1\nsteps = 10\n');
writeFileSync(path.join(tree, 'pkg', 'model.py'), 'class Model:\n    lr = 0.2\n');
symlinkSync(path.join(outside, 'answer.txt'), path.join(tree, 'answer.txt'));
symlinkSync(outside, path.join(tree, 'data'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const refusal = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    if (error instanceof ToolFailure) return error.message;
    throw error;
  }
  throw new Error('expected a refusal');
};

describe('tree tools', () => {
  it('lists the files, links as links, .git left out', () => {
    expect(listFiles(tree).split('\n')).toEqual([
      'answer.txt (symlink, not readable)',
      'data (symlink, not readable)',
      'pkg/model.py (26 bytes)',
      'train.py (31 bytes)',
    ]);
    expect(listFiles(tree, 'pkg')).toBe('pkg/model.py (26 bytes)');
    expect(refusal(() => listFiles(tree, 'data'))).toBe('data: data is a symlink, which is not followed');
  });

  it('reads files with line numbers and ranges', () => {
    expect(readFile(tree, 'train.py')).toBe('train.py (3 lines)\n1 | import pkg\n2 | lr = 0.1\n3 | steps = 10');
    expect(readFile(tree, './train.py', 2, 2)).toBe('train.py, lines 2-2 of 3\n2 | lr = 0.1');
    expect(refusal(() => readFile(tree, 'train.py', 9))).toBe('train.py has 3 lines; startLine 9 is past its end');
  });

  it('reads nothing outside the tree', () => {
    expect(refusal(() => readFile(tree, 'answer.txt'))).toBe('answer.txt: answer.txt is a symlink, which is not followed');
    expect(refusal(() => readFile(tree, 'data/answer.txt'))).toBe('data/answer.txt: data is a symlink, which is not followed');
    expect(refusal(() => readFile(tree, '../secret/answer.txt'))).toMatch(/climbs out of the code/);
    expect(refusal(() => readFile(tree, path.join(outside, 'answer.txt')))).toMatch(/the path is absolute/);
    expect(refusal(() => readFile(tree, '.git/config'))).toMatch(/inside \.git/);
    expect(refusal(() => readFile(tree, 'pkg'))).toBe('pkg is a folder: list it with list_files');
  });

  it('searches the tree’s own files only', () => {
    expect(searchFiles(tree, 'lr = ')).toBe('pkg/model.py:2:     lr = 0.2\ntrain.py:2: lr = 0.1');
    expect(searchFiles(tree, 'SECRET')).toBe('no match for /SECRET/ in .');
    expect(searchFiles(tree, 'MODEL', 'pkg', true)).toBe('pkg/model.py:1: class Model:');
    expect(refusal(() => searchFiles(tree, '('))).toMatch(/^the pattern is not a valid regular expression/);
    expect(refusal(() => searchFiles(tree, 'x', 'data'))).toBe('data: data is a symlink, which is not followed');
  });
});
