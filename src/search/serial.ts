/**
 * Serial search: one idea at a time, each seeing everything before it. With `buildOn: best`
 * each idea is applied on top of the best idea so far, so improvements stack.
 */
import { bestFinished } from '../core/ideas.ts';
import type { Proposal, SearchStrategy, SearchView } from './strategy.ts';

export class SerialSearch implements SearchStrategy {
  readonly name = 'serial';
  constructor(private readonly buildOn: 'base' | 'best' = 'base') {}

  next(view: SearchView): Proposal | null {
    if (view.inFlight > 0) return null;
    if (this.buildOn === 'base') return { parentId: null };
    const best = bestFinished(view.history, view.goal);
    return { parentId: best && best.id !== 0 ? best.id : null };
  }

  saveState(): unknown {
    return {};
  }

  restoreState(): void {}
}
