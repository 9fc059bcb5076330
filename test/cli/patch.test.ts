import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.ts';

const run = promisify(execFile);
const BIN = path.resolve('bin/researcher.js');
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function researcher(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { encoding: 'utf8' });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** The same command in this process (starting tsx per call is slow on a busy machine). */
async function inProcess(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a) => void out.push(`${a.join(' ')}\n`));
  const error = vi.spyOn(console, 'error').mockImplementation((...a) => void err.push(`${a.join(' ')}\n`));
  try {
    return { code: await main(args), stdout: out.join(''), stderr: err.join('') };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

function repo(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'patch-cli-'));
  dirs.push(dir);
  writeFileSync(path.join(dir, 'train.py'), 'def train():\n    lr = 0.1\n    steps = 10\n    return lr\n');
  return dir;
}

describe('researcher patch apply', () => {
  it('applies a model reply with a fenced, misnumbered diff and prints what changed (the real binary)', async () => {
    const dir = repo();
    const patch = path.join(dir, 'reply.md');
    writeFileSync(
      patch,
      'Here you go:\n```diff\n--- a/train.py\n+++ b/train.py\n@@ -10,3 +10,4 @@\n     lr = 0.1\n+    warmup = 5\n     steps = 10\n```\n',
    );
    const result = await researcher(['patch', 'apply', dir, patch]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('M train.py (+1 -0)');
    expect(readFileSync(path.join(dir, 'train.py'), 'utf8')).toBe(
      'def train():\n    lr = 0.1\n    warmup = 5\n    steps = 10\n    return lr\n',
    );
  });

  it('exits non-zero with the reason and leaves the tree as it was', async () => {
    const dir = repo();
    const patch = path.join(dir, 'bad.patch');
    writeFileSync(patch, 'train.py\n<<<<<<< SEARCH\n    lr = 0.3\n=======\n    lr = 0.2\n>>>>>>> REPLACE\n');
    const result = await inProcess(['patch', 'apply', dir, patch]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('not applied: block 1 (train.py): the SEARCH text does not match the file');
    expect(result.stderr).toContain('2 |     lr = 0.1');
    expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(readFileSync(path.join(dir, 'train.py'), 'utf8')).toContain('lr = 0.1');
  });

  it('checks without writing under --dry-run, and rejects a bad invocation', async () => {
    const dir = repo();
    const patch = path.join(dir, 'ok.patch');
    writeFileSync(patch, 'train.py\n<<<<<<< SEARCH\n    lr = 0.1\n=======\n    lr = 0.2\n>>>>>>> REPLACE\n');
    const result = await inProcess(['patch', 'apply', dir, patch, '--dry-run']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('M train.py (+1 -1)');
    expect(readFileSync(path.join(dir, 'train.py'), 'utf8')).toContain('lr = 0.1');

    const missing = await inProcess(['patch', 'apply', dir, path.join(dir, 'nope.patch')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^error: cannot read .*nope.patch: ENOENT\n$/);
  });
});
