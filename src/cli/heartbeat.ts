/**
 * The heartbeat: while evaluations run, what each is doing — its elapsed time against its limit
 * and the last line of its log — so a five-minute run is not five silent minutes.
 *
 * Built only from the progress events the loop already sends (`evaluation-started` names the
 * idea and seed; `idea-finished` ends it) and from where the run's log lives (seedDir), so the
 * loop needs nothing new. The log is written by the code under test: only its tail is read, and
 * the line shown is stripped of control characters.
 */
import path from 'node:path';
import type { SweepEvent } from '../core/progress.ts';
import { printable, readLogTail } from '../reward/log-cause.ts';
import { seedDir } from '../store/idea-files.ts';
import { formatClock } from '../core/format.ts';

export interface HeartbeatOptions {
  /** The run's folder (runs/<run-id>): logs are at ideas/<id>/seed-<s>/run.log. */
  runDir: string;
  /** The run step's time limit (environment.yaml run.timeout). */
  timeoutMs: number;
  /** How often plain logs get a heartbeat line per running evaluation. */
  intervalMs: number;
}

/** Default interval: a line every few tens of seconds per running idea, not a flood. */
export const DEFAULT_HEARTBEAT_MS = 30_000;

export interface RunningEvaluation {
  ideaId: number;
  seed: number;
  startedAt: number;
}

export class RunningEvaluations {
  private readonly running = new Map<number, RunningEvaluation>();

  constructor(private readonly options: Pick<HeartbeatOptions, 'runDir' | 'timeoutMs'>) {}

  observe(event: SweepEvent, now = Date.now()): void {
    if (event.type === 'evaluation-started') this.running.set(event.ideaId, { ideaId: event.ideaId, seed: event.seed, startedAt: now });
    else if (event.type === 'idea-finished') this.running.delete(event.idea.id);
    else if (event.type === 'idea-failed-early') this.running.delete(event.ideaId);
  }

  list(): RunningEvaluation[] {
    return [...this.running.values()].sort((a, b) => a.ideaId - b.ideaId);
  }

  /** "idea 3 seed 0: running 1m20s of 30m · last: iter 150: loss 0.012", one per running evaluation. */
  lines(now = Date.now()): string[] {
    return this.list().map((evaluation) => {
      const last = this.lastLogLine(evaluation);
      return `${this.label(evaluation)}: running ${formatClock(now - evaluation.startedAt)} of ${formatLimit(this.options.timeoutMs)} · ${last === null ? 'no output yet' : `last: ${last}`}`;
    });
  }

  /** "idea 3 1m20s/30m", for a status bar. */
  compact(now = Date.now()): string[] {
    return this.list().map(
      (e) => `${e.ideaId === 0 ? 'baseline' : `idea ${e.ideaId}`} ${formatClock(now - e.startedAt)}/${formatLimit(this.options.timeoutMs)}`,
    );
  }

  private label(evaluation: RunningEvaluation): string {
    return `${evaluation.ideaId === 0 ? 'baseline' : `idea ${evaluation.ideaId}`} seed ${evaluation.seed}`;
  }

  private lastLogLine(evaluation: RunningEvaluation): string | null {
    const log = path.join(seedDir(this.options.runDir, evaluation.ideaId, evaluation.seed), 'run.log');
    const lines = readLogTail(log, 4096)
      .split('\n')
      .map((line) => printable(line, 120))
      .filter((line) => line.trim() !== '');
    return lines.length ? lines[lines.length - 1].trim() : null;
  }
}

/** A time limit as it was likely written: "30m", "2h", "90s". */
function formatLimit(ms: number): string {
  return formatClock(ms).replace(/m00s$/, 'm').replace(/h00m$/, 'h');
}
