/**
 * Progress as plain, timestamped log lines (what a pipe, a log file or `nohup` gets). After each
 * finished idea it adds one line with the sweep's numbers: done, running, failed, best, spend, ETA.
 * With a heartbeat, every interval it adds a line per running evaluation (elapsed of its limit,
 * the last line of its log).
 */
import type { ProgressReporter, SweepEvent, SweepStatus } from '../core/progress.ts';
import { RunningEvaluations, type HeartbeatOptions } from './heartbeat.ts';
import { formatClock, formatNumber } from '../core/format.ts';

export class LogLineProgress implements ProgressReporter {
  private lastFinished = -1;
  /** What is running now, for the heartbeat; null when no heartbeat was asked for. */
  readonly running: RunningEvaluations | null;
  private readonly ticker: NodeJS.Timeout | null = null;

  constructor(
    private readonly totalIdeas: number,
    private readonly write: (line: string) => void = (line) => console.log(line),
    heartbeat?: HeartbeatOptions,
  ) {
    this.running = heartbeat ? new RunningEvaluations(heartbeat) : null;
    if (heartbeat) {
      // One line per running evaluation every interval; nothing while nothing runs.
      this.ticker = setInterval(() => {
        for (const line of this.running!.lines()) this.stamp(line);
      }, heartbeat.intervalMs);
      this.ticker.unref();
    }
  }

  report(event: SweepEvent): void {
    this.running?.observe(event);
    const line = this.format(event);
    if (line) this.stamp(line);
  }

  /** Stops the heartbeat (the sweep is over). */
  close(): void {
    if (this.ticker) clearInterval(this.ticker);
  }

  private stamp(line: string): void {
    this.write(`[${new Date().toISOString().slice(11, 19)}] ${line}`);
  }

  private format(event: SweepEvent): string | null {
    switch (event.type) {
      case 'baseline-started':
        return `baseline: running the unmodified code (${event.seeds} seed${event.seeds > 1 ? 's' : ''})`;
      case 'idea-proposed':
        return `idea ${event.idea.id}/${this.totalIdeas}: ${event.idea.title}${event.idea.parentId !== null ? ` (on idea ${event.idea.parentId})` : ''}`;
      case 'idea-coded':
        return `idea ${event.idea.id}: committed ${event.idea.commit?.slice(0, 8)} (${event.changedFiles.join(', ')})`;
      case 'evaluation-started':
        return null;
      case 'confirming':
        return `idea ${event.ideaId}: ${formatNumber(event.reward)} beats the best (${event.best ? formatNumber(event.best.reward) : 'none'}); confirming with ${event.seeds} more seed${event.seeds > 1 ? 's' : ''}`;
      case 'idea-finished': {
        const { idea, best } = event;
        const name = idea.id === 0 ? 'baseline' : `idea ${idea.id}`;
        const result =
          idea.status === 'succeeded'
            ? `reward ${formatNumber(idea.reward!)}${idea.rewardCount > 1 ? ` ± ${formatNumber(idea.rewardStd ?? 0)} (n=${idea.rewardCount})` : ''}`
            : idea.failureReason === 'stopped-early'
              ? firstLine(idea.error) // "stopped early at step 15 of 60: …": a low result, not a failure
              : `failed (${idea.failureReason}): ${firstLine(idea.error)}`;
        const bestText = best ? ` · best ${formatNumber(best.reward!)} (${best.id === 0 ? 'baseline' : `idea ${best.id}`})` : '';
        return `${name}: ${result}${bestText}`;
      }
      case 'idea-failed-early':
        return null; // reported by idea-finished
      case 'resumed':
        return `resuming: re-running unfinished idea(s) ${event.requeued.join(', ')}`;
      case 'stopping':
        return `stopping: ${event.reason} reached; ${event.hardStop ? 'stopping running evaluations (--hard-stop)' : 'letting running evaluations finish'}; unstarted ideas are kept for resume`;
      case 'status':
        // One summary line per finished idea, not one per event.
        if (event.status.finished === this.lastFinished || event.status.finished === 0) return null;
        this.lastFinished = event.status.finished;
        return `progress: ${formatStatus(event.status)}`;
      case 'log':
        return event.message;
    }
  }
}

/** "5/12 done (1 failed, 2 stopped early) · 2 running · 1 preparing · best 9.81 (idea 3) · $0.0123 · 4m10s · ETA 6m" */
export function formatStatus(status: SweepStatus): string {
  const parts = [
    `${status.finished}/${status.ideas} done${doneDetail(status)}`,
    `${status.running} running`,
    `${status.preparing} preparing`,
  ];
  if (status.best) {
    const spread = status.best.rewardCount > 1 ? ` ± ${formatNumber(status.best.rewardStd ?? 0)}` : '';
    parts.push(`best ${formatNumber(status.best.reward)}${spread} (${status.best.id === 0 ? 'baseline' : `idea ${status.best.id}`})`);
  }
  parts.push(`$${status.spentUsd.toFixed(4)}`, formatClock(status.elapsedMs));
  if (status.etaMs !== null && status.finished < status.ideas) parts.push(`ETA ${formatClock(status.etaMs)}`);
  return parts.join(' · ');
}

function firstLine(text: string | null): string {
  const line = (text ?? '').split('\n')[0];
  return line.length > 160 ? `${line.slice(0, 159)}…` : line;
}

/** " (1 failed, 2 stopped early)", or nothing when neither happened. */
function doneDetail(status: SweepStatus): string {
  const parts = [status.failed ? `${status.failed} failed` : '', status.stoppedEarly ? `${status.stoppedEarly} stopped early` : ''].filter(
    Boolean,
  );
  return parts.length ? ` (${parts.join(', ')})` : '';
}
