/**
 * `researcher steer`: appending guidance to a run's steer.md, printing what the next proposal
 * will see, and refusing what is not a run or a steer.md that is a symbolic link — through the
 * real CLI code path, on a real run folder (a real SQLite database).
 */
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RunConfig } from '../../src/core/run-config.ts';
import { appendGuidance, MAX_GUIDANCE_BYTES, readGuidance } from '../../src/store/guidance.ts';
import { RunStore } from '../../src/store/run-store.ts';
import { researcher } from '../agents/cli-harness.ts';
import { QUADRATIC, tempDir } from '../helpers/sweep.ts';

let root: string;
let runDir: string;

beforeEach(() => {
  root = tempDir('steer-');
  runDir = path.join(root, 'run');
  mkdirSync(runDir);
  const config = {
    runId: 'run',
    createdAt: new Date().toISOString(),
    environmentDir: QUADRATIC,
    environmentName: 'quadratic',
    agent: 'offline',
    ideas: 2,
  };
  RunStore.create(runDir, RunConfig.parse(config)).close();
});

afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('researcher steer', () => {
  it('appends timestamped entries to steer.md and prints them all back', async () => {
    const empty = await researcher(['steer', runDir]);
    expect(empty).toMatchObject({ code: 0, stderr: '' });
    expect(empty.stdout).toMatch(/^no guidance yet \(write some with `researcher steer .+ "…"`\)\n$/);

    const first = await researcher(['steer', runDir, 'stop tuning the learning rate;', 'try reward shaping']);
    expect(first).toMatchObject({
      code: 0,
      stderr: '',
      stdout: `added to ${path.join(runDir, 'steer.md')}; the next idea proposed will see it\n`,
    });
    expect((await researcher(['steer', runDir, 'keep the batch size at 64'])).code).toBe(0);

    const file = readFileSync(path.join(runDir, 'steer.md'), 'utf8');
    expect(file).toMatch(
      /^## \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n\nstop tuning the learning rate; try reward shaping\n\n## \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n\nkeep the batch size at 64\n\n$/,
    );
    const shown = await researcher(['steer', runDir]);
    expect(shown).toMatchObject({ code: 0, stdout: `${file.trim()}\n` });
  });

  it('shows guidance a person wrote into steer.md by hand', async () => {
    writeFileSync(path.join(runDir, 'steer.md'), '\n\nOnly touch the optimizer.\n');
    expect((await researcher(['steer', runDir])).stdout).toBe('Only touch the optimizer.\n');
  });

  it('refuses a folder that is not a run, in one line, writing nothing', async () => {
    const notARun = path.join(root, 'elsewhere');
    mkdirSync(notARun);
    const result = await researcher(['steer', notARun, 'try something']);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(`error: ${notARun} is not a run: run.db is missing (runs live in runs/<run-id>/)\n`);
    expect(() => readFileSync(path.join(notARun, 'steer.md'))).toThrow(/ENOENT/);
    expect((await researcher(['steer'])).stderr).toMatch(/^error: expected a run folder\n/);
  });

  it('refuses empty guidance', async () => {
    const result = await researcher(['steer', runDir, '   ']);
    expect(result).toMatchObject({ code: 2, stderr: 'error: the guidance is empty; write what the next ideas should do\n' });
    expect(readGuidance(runDir)).toEqual({ ok: true, text: null });
  });

  it('neither writes through nor reads through a steer.md that is a symbolic link', async () => {
    const target = path.join(root, 'host-file.txt');
    writeFileSync(target, 'a host secret\n');
    symlinkSync(target, path.join(runDir, 'steer.md'));
    const write = await researcher(['steer', runDir, 'try something']);
    expect(write.code).toBe(2);
    expect(write.stderr).toBe(`error: ${path.join(runDir, 'steer.md')} is a symbolic link; refused (remove it and steer again)\n`);
    expect(readFileSync(target, 'utf8')).toBe('a host secret\n');
    const read = await researcher(['steer', runDir]);
    expect(read).toMatchObject({ code: 2, stdout: '', stderr: 'error: steer.md is a symbolic link; refused\n' });
    expect(readGuidance(runDir)).toEqual({ ok: false, message: 'steer.md is a symbolic link; refused' });
  });
});

describe('reading steer.md for the thinker', () => {
  it('keeps only the newest guidance of a file past the cap, from a whole line on', () => {
    for (let i = 0; i < 40; i++) appendGuidance(runDir, `entry ${i}: ${'x'.repeat(1000)}`);
    const read = readGuidance(runDir);
    if (!read.ok || read.text === null) throw new Error(`expected guidance, got ${JSON.stringify(read)}`);
    expect(Buffer.byteLength(read.text)).toBeLessThanOrEqual(MAX_GUIDANCE_BYTES);
    expect(read.text).toMatch(/entry 39: x+$/);
    expect(read.text).not.toContain('entry 0:');
    // The first line is whole: a heading or an entry, never the cut-off end of one.
    expect(read.text.split('\n')[0]).toMatch(/^(## \d{4}-|entry \d+: x{1000}$)/);
  });
});
