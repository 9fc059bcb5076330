/**
 * The search-strategy seam. A strategy decides what to try next (which idea to build on, with
 * what instruction for the thinker) from the history of the run; the scheduler decides when.
 *
 * A strategy keeps its state as plain JSON data: the loop saves it in the run after every result,
 * and `resume` restores it, so a resumed search continues exactly where it stopped.
 */
import type { IdeaRecord } from '../core/types.ts';

export interface SearchView {
  /** Every idea of the run (baseline first), finished or not. */
  history: readonly IdeaRecord[];
  /** Ideas proposed but not finished yet. */
  inFlight: number;
  /** How many more ideas may be started within the budget. */
  remaining: number;
  goal: 'maximize' | 'minimize';
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

export interface SearchStrategy {
  readonly name: string;
  /** What to try next, or null to wait until a running idea finishes. */
  next(view: SearchView): Proposal | null;
  /** A proposed idea was recorded (before it runs). Optional: for strategies that track lineage. */
  started?(idea: IdeaRecord): void;
  /** An idea finished (succeeded or failed). */
  observe?(idea: IdeaRecord, view: SearchView): void;
  /** Plain data to save in the run. */
  saveState(): unknown;
  restoreState(state: unknown): void;
}

/** The better of two rewards for the goal. */
export function isBetter(a: number, b: number, goal: 'maximize' | 'minimize'): boolean {
  return goal === 'maximize' ? a > b : a < b;
}

/** The finished idea with the best reward (baseline included), or undefined. */
export function bestFinished(history: readonly IdeaRecord[], goal: 'maximize' | 'minimize'): IdeaRecord | undefined {
  let best: IdeaRecord | undefined;
  for (const idea of history) {
    if (idea.status !== 'succeeded' || idea.reward === null) continue;
    if (!best || isBetter(idea.reward, best.reward!, goal)) best = idea;
  }
  return best;
}
