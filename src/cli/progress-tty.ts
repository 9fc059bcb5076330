/**
 * Live progress for a terminal: the same log lines as LogLineProgress scroll by, and the last
 * line of the screen is a status bar (done, running, failed, best so far, spend, elapsed, ETA)
 * redrawn in place every second, with each running idea's elapsed time against its limit. Used
 * only when stdout is a TTY; pipes get plain lines.
 */
import type { ProgressReporter, SweepEvent, SweepStatus } from '../core/progress.ts';
import type { HeartbeatOptions } from './heartbeat.ts';
import { LogLineProgress, formatStatus } from './progress-log.ts';

const CLEAR_LINE = '\r\x1b[2K';

export class TtyProgress implements ProgressReporter {
  private readonly lines: LogLineProgress;
  private status: SweepStatus | null = null;
  /** When `status` was received, to advance the clock between events. */
  private statusAt = 0;
  private readonly ticker: NodeJS.Timeout;
  private barShown = false;

  constructor(
    totalIdeas: number,
    private readonly stream: NodeJS.WriteStream = process.stdout,
    heartbeat?: HeartbeatOptions,
  ) {
    // Heartbeat lines scroll above the bar like any other; the bar itself shows each running idea's clock.
    this.lines = new LogLineProgress(totalIdeas, (line) => this.printAbove(line), heartbeat);
    this.ticker = setInterval(() => this.drawBar(), 1000);
    this.ticker.unref();
  }

  report(event: SweepEvent): void {
    if (event.type === 'status') {
      this.status = event.status;
      this.statusAt = Date.now();
      this.drawBar();
      return; // the bar shows it; no scrolling line
    }
    this.lines.report(event);
  }

  /** Removes the bar (before the leaderboard is printed). */
  close(): void {
    clearInterval(this.ticker);
    this.lines.close();
    if (this.barShown) this.stream.write(CLEAR_LINE);
    this.barShown = false;
  }

  private printAbove(line: string): void {
    this.stream.write(`${this.barShown ? CLEAR_LINE : ''}${line}\n`);
    this.barShown = false;
    this.drawBar();
  }

  private drawBar(): void {
    if (!this.status) return;
    const since = Date.now() - this.statusAt;
    const live: SweepStatus = {
      ...this.status,
      elapsedMs: this.status.elapsedMs + since,
      etaMs: this.status.etaMs === null ? null : Math.max(0, this.status.etaMs - since),
    };
    const width = Math.max(40, (this.stream.columns || 120) - 1); // 0 when the terminal does not say
    const clocks = this.lines.running?.compact() ?? [];
    let text = `▶ ${formatStatus(live)}${clocks.length ? ` │ ${clocks.join(' · ')}` : ''}`;
    if (text.length > width) text = `${text.slice(0, width - 1)}…`;
    this.stream.write(`${CLEAR_LINE}\x1b[7m${text}\x1b[0m`);
    this.barShown = true;
  }
}
