/**
 * What the loop reports while it works. The CLI turns these events into a live display or plain
 * log lines; tests collect them.
 */
import type { Failure, IdeaRecord } from './types.ts';

export type SweepEvent =
  | { type: 'baseline-started'; seeds: number }
  | { type: 'idea-proposed'; idea: IdeaRecord }
  | { type: 'idea-coded'; idea: IdeaRecord; changedFiles: string[] }
  | { type: 'evaluation-started'; ideaId: number; seed: number; gpus: string[] }
  | { type: 'idea-finished'; idea: IdeaRecord; best: IdeaRecord | undefined }
  | { type: 'idea-failed-early'; ideaId: number; failure: Failure }
  | { type: 'resumed'; requeued: number[] }
  | { type: 'stopping'; reason: string }
  | { type: 'log'; message: string };

export interface ProgressReporter {
  report(event: SweepEvent): void;
}

export const SILENT: ProgressReporter = { report() {} };
