/**
 * Progress output: plain timestamped lines for pipes and logs (one status line per finished idea),
 * and on a terminal the same lines scrolling above a status bar redrawn in place.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { SweepStatus } from '../../src/core/progress.ts';
import type { IdeaRecord } from '../../src/core/types.ts';
import { LogLineProgress, formatStatus } from '../../src/cli/progress-log.ts';
import { formatClock as formatDuration } from '../../src/core/format.ts';
import { TtyProgress } from '../../src/cli/progress-tty.ts';
import { seedDir } from '../../src/store/idea-files.ts';
import { tempDir } from '../helpers/sweep.ts';

const status: SweepStatus = {
  ideas: 12,
  finished: 5,
  failed: 1,
  stoppedEarly: 0,
  running: 2,
  preparing: 1,
  best: { id: 3, reward: 9.806, rewardStd: 0.01, rewardCount: 3 },
  baseline: 3.75,
  spentUsd: 0.0123,
  elapsedMs: 250_000,
  etaMs: 360_000,
};

const idea = (fields: Partial<IdeaRecord>): IdeaRecord => ({
  id: 4,
  parentId: 3,
  title: 'x 3.44 → 3.1',
  hypothesis: '',
  plan: '',
  expectedEffect: '',
  status: 'succeeded',
  failureReason: null,
  error: null,
  diff: null,
  commit: 'abc',
  reward: 9.9,
  rewardStd: 0,
  rewardCount: 1,
  createdAt: '',
  finishedAt: '',
  meta: {},
  ...fields,
});

class FakeTerminal extends Writable {
  output = '';
  readonly isTTY = true;
  readonly columns = 200;
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.output += chunk.toString();
    done();
  }
}

describe('progress', () => {
  it('formats the numbers a user watches: done, failed, running, best with spread, spend, ETA', () => {
    expect(formatStatus(status)).toBe(
      '5/12 done (1 failed) · 2 running · 1 preparing · best 9.806 ± 0.01 (idea 3) · $0.0123 · 4m10s · ETA 6m00s',
    );
    expect(formatStatus({ ...status, best: null, etaMs: null, failed: 0 })).toBe('5/12 done · 2 running · 1 preparing · $0.0123 · 4m10s');
    // A run stopped by the learning-curve rule is a low result, counted apart from the failures.
    expect(formatStatus({ ...status, stoppedEarly: 2 })).toMatch(/^5\/12 done \(1 failed, 2 stopped early\) · /);
    expect(formatStatus({ ...status, failed: 0, stoppedEarly: 1 })).toMatch(/^5\/12 done \(1 stopped early\) · /);
    expect(formatDuration(3 * 3_600_000 + 5 * 60_000)).toBe('3h05m');
  });

  it('writes plain lines, with one status line per finished idea', () => {
    const lines: string[] = [];
    const progress = new LogLineProgress(12, (line) => lines.push(line));
    progress.report({ type: 'idea-finished', idea: idea({}), best: idea({}) });
    progress.report({ type: 'status', status });
    progress.report({ type: 'status', status: { ...status, running: 1 } }); // same count: no new line
    progress.report({ type: 'confirming', ideaId: 4, reward: 9.9, seeds: 2, best: { id: 3, reward: 9.8 } });
    progress.report({ type: 'stopping', reason: 'max-hours', hardStop: false });
    expect(lines).toHaveLength(4);
    expect(lines.every((line) => /^\[\d\d:\d\d:\d\d\] /.test(line))).toBe(true);
    expect(lines[0]).toMatch(/idea 4: reward 9\.9 · best 9\.9 \(idea 4\)$/);
    expect(lines[1]).toMatch(/progress: 5\/12 done \(1 failed\) · 2 running/);
    expect(lines[2]).toMatch(/idea 4: 9\.9 beats the best \(9\.8\); confirming with 2 more seeds/);
    expect(lines[3]).toMatch(/stopping: max-hours reached; letting running evaluations finish/);
    const reason = 'stopped early at step 15 of 60: its progress value 0.91 was below 0.94';
    progress.report({
      type: 'idea-finished',
      idea: idea({ status: 'failed', reward: null, failureReason: 'stopped-early', error: reason }),
      best: undefined,
    });
    expect(lines[4]).toMatch(new RegExp(`idea 4: ${reason}$`));
    expect(lines.join('\n')).not.toContain('\x1b');
  });

  it('on a terminal keeps a status bar on the last line and prints log lines above it', () => {
    const terminal = new FakeTerminal();
    const progress = new TtyProgress(12, terminal as unknown as NodeJS.WriteStream);
    progress.report({ type: 'status', status });
    // eslint-disable-next-line no-control-regex -- the escape codes are what the status bar writes
    expect(terminal.output).toMatch(/\r\x1b\[2K\x1b\[7m▶ 5\/12 done \(1 failed\) · 2 running.*\x1b\[0m$/);
    terminal.output = '';
    progress.report({
      type: 'idea-finished',
      idea: idea({ status: 'failed', reward: null, failureReason: 'crashed', error: 'exit 1' }),
      best: undefined,
    });
    // The bar is cleared, the line printed, and the bar drawn again below it.
    // eslint-disable-next-line no-control-regex -- the escape codes are what the status bar writes
    expect(terminal.output).toMatch(/^\r\x1b\[2K\[\d\d:\d\d:\d\d\] idea 4: failed \(crashed\): exit 1\n\r\x1b\[2K\x1b\[7m▶ 5\/12/);
    terminal.output = '';
    progress.close();
    expect(terminal.output).toBe('\r\x1b[2K');
  });

  it('beats once per interval per running evaluation, with its clock and the last line of its log', async () => {
    const runDir = tempDir('researcher-heartbeat-');
    mkdirSync(seedDir(runDir, 3, 1), { recursive: true });
    // The log is hostile: escape sequences and a carriage-return progress bar must not reach the screen.
    writeFileSync(path.join(seedDir(runDir, 3, 1), 'run.log'), 'starting\nstep 1\rstep 2 \x1b[31mloss 0.5\x1b[0m\n\n');
    const lines: string[] = [];
    const progress = new LogLineProgress(12, (line) => lines.push(line), { runDir, timeoutMs: 1_800_000, intervalMs: 40 });
    try {
      progress.report({ type: 'evaluation-started', ideaId: 3, seed: 1, gpus: [] });
      progress.report({ type: 'evaluation-started', ideaId: 5, seed: 0, gpus: [] });
      await waitFor(() => lines.length >= 4);
      expect(lines[0]).toMatch(/^\[\d\d:\d\d:\d\d\] idea 3 seed 1: running \d+s of 30m · last: step 2 loss 0\.5$/);
      expect(lines[1]).toMatch(/^\[\d\d:\d\d:\d\d\] idea 5 seed 0: running \d+s of 30m · no output yet$/);
      progress.report({ type: 'idea-finished', idea: idea({ id: 3 }), best: undefined });
      progress.report({ type: 'idea-failed-early', ideaId: 5, failure: { reason: 'crashed', message: 'x' } });
      const count = lines.length;
      await new Promise((resolve) => setTimeout(resolve, 150));
      // Nothing runs: no more beats (the finished-idea line is the only new one).
      expect(lines.slice(count).filter((line) => line.includes('running'))).toEqual([]);
    } finally {
      progress.close();
    }
  });

  it('on a terminal the bar shows each running idea against its limit', () => {
    const terminal = new FakeTerminal();
    const progress = new TtyProgress(12, terminal as unknown as NodeJS.WriteStream, {
      runDir: tempDir('researcher-heartbeat-'),
      timeoutMs: 600_000,
      intervalMs: 60_000,
    });
    progress.report({ type: 'evaluation-started', ideaId: 0, seed: 0, gpus: [] });
    progress.report({ type: 'evaluation-started', ideaId: 2, seed: 0, gpus: [] });
    progress.report({ type: 'status', status });
    // eslint-disable-next-line no-control-regex -- the escape codes are what the status bar writes
    expect(terminal.output).toMatch(/▶ 5\/12 done .* │ baseline \d+s\/10m · idea 2 \d+s\/10m\x1b\[0m$/);
    progress.close();
  });
});

async function waitFor(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 20));
  expect(condition()).toBe(true);
}
