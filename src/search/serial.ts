/**
 * Serial search: one idea at a time, each seeing everything before it. With `buildOn: best`
 * each idea is applied on top of the best idea so far, so improvements stack.
 */
import { findDuplicate } from './duplicates.ts';
import { bestFinished, type Candidate, type Proposal, type SearchStrategy, type SearchView, type Verdict } from './strategy.ts';

export class SerialSearch implements SearchStrategy {
  readonly name = 'serial';
  constructor(private readonly buildOn: 'base' | 'best' = 'base') {}

  next(view: SearchView): Proposal | null {
    if (view.inFlight > 0) return null;
    if (this.buildOn === 'base') return { parentId: null };
    const best = bestFinished(view.history, view.goal);
    return { parentId: best && best.id !== 0 ? best.id : null };
  }

  accept(candidate: Candidate, view: SearchView): Verdict {
    return rejectDuplicates(candidate, view);
  }

  saveState(): unknown {
    return {};
  }

  restoreState(): void {}
}

/** The verdict every strategy gives near-duplicates: rejected before any GPU time is spent. */
export function rejectDuplicates(candidate: Candidate, view: SearchView): Verdict {
  const twin = findDuplicate(candidate.draft, candidate.parentId, candidate.ideaId, view.history);
  if (!twin) return { ok: true };
  return {
    ok: false,
    reason: 'duplicate',
    message: `"${candidate.draft.title}" nearly repeats idea ${twin.id} ("${twin.title}") on the same ${candidate.parentId === null ? 'base commit' : `parent (idea ${candidate.parentId})`}`,
  };
}
