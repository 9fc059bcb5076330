/**
 * Reading learning curves from a run's output and from its progress file, hostile bytes included.
 */
import { appendFileSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LineSplitter, MAX_LINE_BYTES, ProgressReader } from '../../src/reward/progress.ts';
import { tempDir } from '../helpers/sweep.ts';

const pattern = { pattern: 'step (?<step>\\d+)/\\d+ reward (?<value>[-\\w.]+)', steps: 10 };

describe('ProgressReader on output', () => {
  it('reads points line by line, across chunk boundaries, with \\r as a line end too', () => {
    const reader = new ProgressReader(pattern);
    expect(reader.push(Buffer.from('warmup done\nstep 1/10 rew'))).toEqual([]);
    expect(reader.push(Buffer.from('ard 0.25\nstep 2/10 reward 0.5\rstep 3/10 reward 0.75'))).toEqual([
      { step: 1, value: 0.25 },
      { step: 2, value: 0.5 },
    ]);
    expect(reader.end()).toEqual([{ step: 3, value: 0.75 }]);
  });

  it('ignores NaN, inf and overflowing numbers', () => {
    const reader = new ProgressReader(pattern);
    const text = [
      'step 1/10 reward nan',
      'step 2/10 reward inf',
      'step 3/10 reward 1e999',
      'step 4/10 reward Infinity',
      'step 5/10 reward 0.5',
      '',
    ].join('\n');
    expect(reader.push(Buffer.from(text))).toEqual([{ step: 5, value: 0.5 }]);
  });

  it('skips a line longer than the limit whole, even when it arrives in pieces, and reads the next one', () => {
    const reader = new ProgressReader(pattern);
    const long = 'x'.repeat(MAX_LINE_BYTES) + 'step 9/10 reward 0.9';
    expect(reader.push(Buffer.from(long.slice(0, 3000)))).toEqual([]);
    expect(reader.push(Buffer.from(long.slice(3000) + '\nstep 1/10 reward 0.1\n'))).toEqual([{ step: 1, value: 0.1 }]);
  });

  it('keeps at most its cap of points and counts the rest', () => {
    const reader = new ProgressReader(pattern, 3);
    const lines = Array.from({ length: 10 }, (_, i) => `step ${i}/10 reward 0.${i}\n`).join('');
    expect(reader.push(Buffer.from(lines))).toHaveLength(3);
    expect(reader.dropped).toBe(7);
  });
});

describe('LineSplitter', () => {
  it('gives complete lines only and the rest at the end', () => {
    const lines = new LineSplitter(8);
    expect(lines.push(Buffer.from('ab\r\ncd'))).toEqual(['ab']);
    expect(lines.push(Buffer.from('efghijklmn\nok\n'))).toEqual(['ok']);
    expect(lines.end()).toEqual([]);
  });
});

describe('ProgressReader on a JSON-lines file in the outputs', () => {
  it('reads what the file gained since the last poll, and only whole JSON objects with finite numbers', () => {
    const outputs = tempDir();
    const reader = new ProgressReader({ file: 'progress.jsonl', steps: 10 });
    expect(reader.pollFile(outputs)).toEqual([]);
    writeFileSync(path.join(outputs, 'progress.jsonl'), '{"step": 1, "value": 0.5}\n{"step": 2, "val');
    expect(reader.pollFile(outputs)).toEqual([{ step: 1, value: 0.5 }]);
    appendFileSync(path.join(outputs, 'progress.jsonl'), 'ue": 0.6}\n[1,2]\n{"step": "3", "value": 1}\n{"step": 4, "value": 0.7}\n');
    expect(reader.pollFile(outputs)).toEqual([
      { step: 2, value: 0.6 },
      { step: 4, value: 0.7 },
    ]);
  });

  it('never follows a link or opens a fifo the run left in place of the file', () => {
    const outputs = tempDir();
    const secret = path.join(tempDir(), 'secret.jsonl');
    writeFileSync(secret, '{"step": 1, "value": 1}\n');
    symlinkSync(secret, path.join(outputs, 'progress.jsonl'));
    expect(new ProgressReader({ file: 'progress.jsonl', steps: 10 }).pollFile(outputs)).toEqual([]);

    const other = tempDir();
    mkdirSync(path.join(other, 'real'));
    writeFileSync(path.join(other, 'real', 'p.jsonl'), '{"step": 1, "value": 1}\n');
    symlinkSync(path.join(other, 'real'), path.join(outputs, 'logs'));
    expect(new ProgressReader({ file: 'logs/p.jsonl', steps: 10 }).pollFile(outputs)).toEqual([]);

    const fifoDir = tempDir();
    execFileSync('mkfifo', [path.join(fifoDir, 'progress.jsonl')]);
    expect(new ProgressReader({ file: 'progress.jsonl', steps: 10 }).pollFile(fifoDir)).toEqual([]);
  });
});
