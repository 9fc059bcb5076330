/**
 * What the loop reports while it works. The CLI turns these events into a live display (a TTY)
 * or plain log lines (a pipe, a log file, `nohup`); tests collect them.
 */
import type { Failure, IdeaRecord } from './types.ts';

/** The numbers a progress display shows; sent after every change. */
export interface SweepStatus {
  /** The idea budget (--ideas). */
  ideas: number;
  /** Ideas finished (succeeded or failed), the baseline not counted. */
  finished: number;
  failed: number;
  /** Ideas stopped early by the learning-curve rule (not among the failed: a low result). */
  stoppedEarly: number;
  /** Ideas holding an evaluation slot. */
  running: number;
  /** Ideas being proposed or coded, or ready and waiting for a slot. */
  preparing: number;
  best: { id: number; reward: number; rewardStd: number | null; rewardCount: number } | null;
  baseline: number | null;
  spentUsd: number;
  /** Sweeping time of the run so far, earlier sessions included. */
  elapsedMs: number;
  /** Time left for the remaining ideas at this session's pace; null until an idea finished. */
  etaMs: number | null;
}

export type SweepEvent =
  | { type: 'baseline-started'; seeds: number }
  | { type: 'idea-proposed'; idea: IdeaRecord }
  | { type: 'idea-coded'; idea: IdeaRecord; changedFiles: string[] }
  | { type: 'evaluation-started'; ideaId: number; seed: number; gpus: string[] }
  | { type: 'confirming'; ideaId: number; reward: number; seeds: number; best: { id: number; reward: number } | null }
  | { type: 'idea-finished'; idea: IdeaRecord; best: IdeaRecord | undefined }
  | { type: 'idea-failed-early'; ideaId: number; failure: Failure }
  | { type: 'resumed'; requeued: number[] }
  | { type: 'stopping'; reason: string; hardStop?: boolean }
  | { type: 'status'; status: SweepStatus }
  | { type: 'log'; message: string };

export interface ProgressReporter {
  report(event: SweepEvent): void;
}

export const SILENT: ProgressReporter = { report() {} };
