/**
 * Progress output: plain timestamped lines for pipes and logs (one status line per finished idea),
 * and on a terminal the same lines scrolling above a status bar redrawn in place.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { SweepStatus } from '../../src/core/progress.ts';
import type { IdeaRecord } from '../../src/core/types.ts';
import { LogLineProgress, formatDuration, formatStatus } from '../../src/cli/progress-log.ts';
import { TtyProgress } from '../../src/cli/progress-tty.ts';

const status: SweepStatus = {
  ideas: 12,
  finished: 5,
  failed: 1,
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
    expect(formatStatus(status)).toBe('5/12 done (1 failed) · 2 running · 1 preparing · best 9.806 ± 0.01 (idea 3) · $0.0123 · 4m10s · ETA 6m00s');
    expect(formatStatus({ ...status, best: null, etaMs: null, failed: 0 })).toBe('5/12 done · 2 running · 1 preparing · $0.0123 · 4m10s');
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
    expect(lines.join('\n')).not.toContain('\x1b');
  });

  it('on a terminal keeps a status bar on the last line and prints log lines above it', () => {
    const terminal = new FakeTerminal();
    const progress = new TtyProgress(12, terminal as unknown as NodeJS.WriteStream);
    progress.report({ type: 'status', status });
    // eslint-disable-next-line no-control-regex -- the escape codes are what the status bar writes
    expect(terminal.output).toMatch(/\r\x1b\[2K\x1b\[7m▶ 5\/12 done \(1 failed\) · 2 running.*\x1b\[0m$/);
    terminal.output = '';
    progress.report({ type: 'idea-finished', idea: idea({ status: 'failed', reward: null, failureReason: 'crashed', error: 'exit 1' }), best: undefined });
    // The bar is cleared, the line printed, and the bar drawn again below it.
    // eslint-disable-next-line no-control-regex -- the escape codes are what the status bar writes
    expect(terminal.output).toMatch(/^\r\x1b\[2K\[\d\d:\d\d:\d\d\] idea 4: failed \(crashed\): exit 1\n\r\x1b\[2K\x1b\[7m▶ 5\/12/);
    terminal.output = '';
    progress.close();
    expect(terminal.output).toBe('\r\x1b[2K');
  });
});
