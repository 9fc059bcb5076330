/**
 * The log tail a coder is shown in a debug round (src/core/sweep/run-failure.ts): the log is the
 * code under test's, so it is capped, cleaned of control characters and never read through a link.
 */
import { mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { feedbackLogTail, LOG_TAIL_BYTES, LOG_TAIL_LINES, sanitizeLogTail } from '../../src/core/sweep/run-failure.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'run-failure-'));

describe('the log tail of a debug round', () => {
  it('keeps the last lines of a long log, within the byte cap, the traceback at the end', () => {
    const log = path.join(dir, 'long.log');
    const lines = Array.from({ length: 5000 }, (_, i) => `step ${i} loss=${(1 / (i + 1)).toFixed(6)}`);
    writeFileSync(log, `${lines.join('\n')}\nTraceback (most recent call last):\nNameError: name 'x' is not defined\n`);
    const tail = feedbackLogTail(log);
    expect(Buffer.byteLength(tail)).toBeLessThanOrEqual(LOG_TAIL_BYTES + 64);
    expect(tail.split('\n').length).toBeLessThanOrEqual(LOG_TAIL_LINES + 1);
    expect(tail.startsWith('… (earlier lines left out)\n')).toBe(true);
    expect(tail.endsWith("NameError: name 'x' is not defined")).toBe(true);
    expect(tail).not.toContain('step 0 ');
  });

  it('removes terminal escapes, NULs and carriage-return rewrites', () => {
    const text = sanitizeLogTail('\u001b[1;31mred\u001b[0m\u0000 bell\u0007\n10%\r50%\r100%\nend\n');
    expect(text).toBe('red bell\n100%\nend');
  });

  it('reads no log through a symbolic link, and says so', () => {
    const secret = path.join(dir, 'secret.txt');
    writeFileSync(secret, 'host secret\n');
    const link = path.join(dir, 'run.log');
    symlinkSync(secret, link);
    expect(feedbackLogTail(link)).toBe('(the log is a symbolic link; refused)');
    expect(feedbackLogTail(path.join(dir, 'missing.log'))).toBe('(the log was not written)');
  });
});
