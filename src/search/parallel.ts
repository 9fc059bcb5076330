/**
 * Parallel search (best-of-N): rounds of N independent ideas, each on the base commit, evaluated
 * at once. A round starts when every idea of the previous one has finished, so each round's
 * thinker sees all results of the last. N defaults to the number of evaluation slots.
 */
import { rejectDuplicates } from './duplicates.ts';
import { isFinished } from '../core/ideas.ts';
import type { Candidate, Proposal, SearchStrategy, SearchView, Verdict } from './strategy.ts';

interface ParallelState {
  /** The round being filled or run (0-based). */
  round: number;
}

export class ParallelSearch implements SearchStrategy {
  readonly name = 'parallel';
  private state: ParallelState = { round: 0 };

  constructor(private readonly roundSize: number) {
    if (!Number.isInteger(roundSize) || roundSize < 1) throw new Error(`roundSize must be a whole number of at least 1, got ${roundSize}`);
  }

  next(view: SearchView): Proposal | null {
    let members = view.history.filter((idea) => idea.meta.round === this.state.round);
    if (members.length >= this.roundSize) {
      if (!members.every(isFinished)) return null; // the barrier: wait for the whole round
      this.state.round++;
      members = [];
    }
    const round = this.state.round;
    return {
      parentId: null,
      instruction:
        `Round ${round + 1} of a best-of-${this.roundSize} search: propose one idea of your own; ${this.roundSize - 1} other idea(s) are being proposed at the same time` +
        (round > 0 ? ', and the results of the previous round are in the history.' : '.'),
      meta: { round },
    };
  }

  accept(candidate: Candidate, view: SearchView): Verdict {
    return rejectDuplicates(candidate, view);
  }

  saveState(): unknown {
    return { ...this.state };
  }

  restoreState(state: unknown): void {
    const round = (state as Partial<ParallelState> | null)?.round;
    if (typeof round === 'number' && Number.isInteger(round) && round >= 0) this.state = { round };
  }
}
