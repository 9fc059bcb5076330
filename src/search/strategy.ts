/**
 * The search-strategy seam. A strategy decides what to try next (which idea to build on, with
 * what instruction for the thinker) from the history of the run; the scheduler decides when.
 *
 * A strategy keeps its state as plain JSON data: the loop saves it in the run after every result
 * (in the same transaction as the result), and `resume` restores it, so a resumed search
 * continues exactly where it stopped.
 *
 * Adding a strategy: one file implementing SearchStrategy, and a line in ./index.ts.
 */
import type { Goal } from '../core/ideas.ts';
import type { IdeaDraft, IdeaRecord } from '../core/types.ts';

export interface SearchView {
  /** Every idea of the run (baseline first), finished or not. */
  history: readonly IdeaRecord[];
  /** Ideas proposed but not finished yet. */
  inFlight: number;
  /** How many more ideas may be started within the budget. */
  remaining: number;
  /** Evaluations the scheduler runs at once (`--parallel`). */
  parallel: number;
  goal: Goal;
  random: () => number;
}

export interface Proposal {
  /** The idea to build on; null builds on the base commit. */
  parentId: number | null;
  /** Extra guidance for the thinker ("change the parent's diff", "try something different"). */
  instruction?: string;
  /** Strategy data stored with the idea (island, generation, …). */
  meta?: Record<string, unknown>;
}

/** A thinker's draft, offered to the strategy before any coding or GPU time is spent on it. */
export interface Candidate {
  ideaId: number;
  parentId: number | null;
  draft: IdeaDraft;
}

export type Verdict = { ok: true } | { ok: false; reason: 'duplicate'; message: string };

export interface SearchStrategy {
  readonly name: string;
  /** What to try next, or null to wait until a running idea finishes. */
  next(view: SearchView): Proposal | null;
  /**
   * Whether a proposed idea is worth coding and running. Optional; a rejection makes the loop
   * ask the thinker again (telling it why), and after a few rejections the idea fails with the
   * verdict's reason.
   */
  accept?(candidate: Candidate, view: SearchView): Verdict;
  /** A proposed idea was recorded (before it runs). Optional: for strategies that track lineage. */
  started?(idea: IdeaRecord): void;
  /**
   * An idea finished (succeeded or failed). A run stopped by --early-stop arrives as failed with
   * failureReason 'stopped-early': a low result (its curve was clearly below the best at the same
   * step), which a strategy ranks below every succeeded idea, as it does any idea without a reward.
   */
  observe?(idea: IdeaRecord, view: SearchView): void;
  /** Plain data to save in the run. */
  saveState(): unknown;
  restoreState(state: unknown): void;
}
