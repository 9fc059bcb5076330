/**
 * Progress as plain, timestamped log lines (what a terminal, a log file or `nohup` gets).
 */
import type { ProgressReporter, SweepEvent } from '../core/progress.ts';
import { formatNumber } from '../report/leaderboard.ts';

export class LogLineProgress implements ProgressReporter {
  constructor(
    private readonly totalIdeas: number,
    private readonly write: (line: string) => void = (line) => console.log(line),
  ) {}

  report(event: SweepEvent): void {
    const line = this.format(event);
    if (line) this.write(`[${new Date().toISOString().slice(11, 19)}] ${line}`);
  }

  private format(event: SweepEvent): string | null {
    switch (event.type) {
      case 'baseline-started':
        return `baseline: running the unmodified code (${event.seeds} seed${event.seeds > 1 ? 's' : ''})`;
      case 'idea-proposed':
        return `idea ${event.idea.id}/${this.totalIdeas}: ${event.idea.title}`;
      case 'idea-coded':
        return `idea ${event.idea.id}: committed ${event.idea.commit?.slice(0, 8)} (${event.changedFiles.join(', ')})`;
      case 'evaluation-started':
        return null;
      case 'idea-finished': {
        const { idea, best } = event;
        const name = idea.id === 0 ? 'baseline' : `idea ${idea.id}`;
        const result =
          idea.status === 'succeeded'
            ? `reward ${formatNumber(idea.reward!)}${idea.rewardCount > 1 ? ` ± ${formatNumber(idea.rewardStd ?? 0)}` : ''}`
            : `failed (${idea.failureReason}): ${firstLine(idea.error)}`;
        const bestText = best ? ` · best ${formatNumber(best.reward!)} (${best.id === 0 ? 'baseline' : `idea ${best.id}`})` : '';
        return `${name}: ${result}${bestText}`;
      }
      case 'idea-failed-early':
        return null; // reported by idea-finished
      case 'resumed':
        return `resuming: re-running unfinished idea(s) ${event.requeued.join(', ')}`;
      case 'stopping':
        return `stopping: ${event.reason} reached; letting running evaluations finish`;
      case 'log':
        return event.message;
    }
  }
}

function firstLine(text: string | null): string {
  const line = (text ?? '').split('\n')[0];
  return line.length > 160 ? `${line.slice(0, 159)}…` : line;
}
