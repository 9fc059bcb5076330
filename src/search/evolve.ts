/**
 * Evolutionary search over ideas.
 *
 * - A population split into islands. Each island grows from a few ideas on the base commit
 *   ("seeds"), then from children: ideas that modify a parent's change (the thinker is told which
 *   idea to build on and to change its diff, and the child is applied on top of the parent).
 * - Parents are chosen by reward with exploration (UCB): a parent's score is its reward,
 *   normalised within the island, plus a bonus that shrinks with the number of children it
 *   already has, so a good idea is refined without every child piling onto it.
 * - Diversity: islands evolve apart and only exchange their best idea now and then (ring
 *   migration), so the population does not collapse onto one lineage; each island keeps only its
 *   `populationSize` best ideas.
 * - Near-duplicate drafts (same parent, nearly the same text) are rejected before any GPU time.
 *
 * The whole state is plain JSON (island members, children counts, counters), saved in the run
 * with every result, so a killed sweep resumes with the same population.
 */
import { rejectDuplicates } from './duplicates.ts';
import { isBetter, isHeldBack } from '../core/ideas.ts';
import type { Candidate, Proposal, SearchStrategy, SearchView, Verdict } from './strategy.ts';
import type { IdeaRecord } from '../core/types.ts';
import { fraction } from '../core/statistics.ts';

export interface EvolveOptions {
  /** Separate populations (default 2). */
  islands: number;
  /** Ideas each island keeps (default 6). */
  populationSize: number;
  /** Ideas on the base commit each island starts from (default 2). */
  seedIdeas: number;
  /** Weight of the exploration bonus against the normalised reward (default 0.5). */
  exploration: number;
  /** Finished ideas between migrations (default 8). */
  migrationInterval: number;
}

export const EVOLVE_DEFAULTS: EvolveOptions = { islands: 2, populationSize: 6, seedIdeas: 2, exploration: 0.5, migrationInterval: 8 };

interface Island {
  /** Succeeded ideas in this island's population. */
  members: number[];
  /** Ideas started on the base commit for this island. */
  seeded: number;
}

interface EvolveState {
  islands: Island[];
  /** The island the next idea goes to (round-robin). */
  nextIsland: number;
  /** Children started per idea id. */
  children: Record<string, number>;
  /** Ideas observed (finished). */
  finished: number;
  migrations: number;
}

export class EvolveSearch implements SearchStrategy {
  readonly name = 'evolve';
  private readonly options: EvolveOptions;
  private state: EvolveState;

  constructor(options: Partial<EvolveOptions> = {}) {
    this.options = { ...EVOLVE_DEFAULTS, ...options };
    for (const [key, value] of Object.entries(this.options)) {
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (key !== 'exploration' && !Number.isInteger(value))) {
        throw new Error(`${key} must be a non-negative ${key === 'exploration' ? 'number' : 'integer'}, got ${value}`);
      }
    }
    if (this.options.islands < 1 || this.options.populationSize < 1)
      throw new Error(`islands and populationSize must be at least 1, got ${this.options.islands} and ${this.options.populationSize}`);
    this.state = freshState(this.options.islands);
  }

  next(view: SearchView): Proposal | null {
    const index = this.state.nextIsland % this.state.islands.length;
    this.state.nextIsland = (index + 1) % this.state.islands.length;
    const island = this.state.islands[index];
    // A flagged idea (src/core/ideas.ts: isHeldBack) is nobody's parent until a person accepts it.
    const members = island.members
      .map((id) => ideaById(view.history, id))
      .filter((idea): idea is IdeaRecord => idea?.reward != null && !isHeldBack(idea));

    if (members.length === 0 || island.seeded < this.options.seedIdeas) {
      return {
        parentId: null,
        instruction: 'Propose a new idea of your own, applied to the original code; it starts a lineage that later ideas will refine.',
        meta: { island: index, generation: 0 },
      };
    }
    const parent = this.selectParent(members, view);
    const generation = typeof parent.meta.generation === 'number' ? parent.meta.generation + 1 : 1;
    return {
      parentId: parent.id,
      instruction:
        `Build on idea ${parent.id} ("${parent.title}", reward ${formatReward(parent.reward!)}): your change is applied on top of its code. ` +
        'Keep what works in its change and modify it: adjust, extend or correct one aspect of it.',
      meta: { island: index, generation },
    };
  }

  /** UCB over the island: normalised reward plus an exploration bonus for ideas with few children. */
  private selectParent(members: IdeaRecord[], view: SearchView): IdeaRecord {
    const rewards = members.map((idea) => idea.reward!);
    const lo = Math.min(...rewards);
    const hi = Math.max(...rewards);
    const totalChildren = members.reduce((sum, idea) => sum + (this.state.children[idea.id] ?? 0), 0);
    let best: IdeaRecord = members[0];
    let bestScore = -Infinity;
    for (const idea of members) {
      // fraction() keeps this in [0, 1] even when hi − lo does not fit a double (rewards of ±1e308).
      const normalised = hi === lo ? 0.5 : view.goal === 'maximize' ? fraction(idea.reward!, lo, hi) : 1 - fraction(idea.reward!, lo, hi);
      const children = this.state.children[idea.id] ?? 0;
      const bonus = this.options.exploration * Math.sqrt(Math.log(totalChildren + 1) / (children + 1));
      // Ties (e.g. a fresh island) are broken at random, reproducibly.
      const score = normalised + bonus + 1e-9 * view.random();
      if (score > bestScore) {
        best = idea;
        bestScore = score;
      }
    }
    return best;
  }

  accept(candidate: Candidate, view: SearchView): Verdict {
    return rejectDuplicates(candidate, view);
  }

  started(idea: IdeaRecord): void {
    if (idea.parentId !== null) this.state.children[idea.parentId] = (this.state.children[idea.parentId] ?? 0) + 1;
    const island = this.islandOf(idea);
    if (island !== null && idea.parentId === null) this.state.islands[island].seeded++;
  }

  observe(idea: IdeaRecord, view: SearchView): void {
    this.state.finished++;
    const island = this.islandOf(idea);
    if (idea.status === 'succeeded' && idea.reward !== null && island !== null) {
      const members = this.state.islands[island].members;
      if (!members.includes(idea.id)) members.push(idea.id);
      this.trim(island, view);
    }
    if (this.state.islands.length > 1 && this.options.migrationInterval > 0 && this.state.finished % this.options.migrationInterval === 0) {
      this.migrate(view);
    }
  }

  /** Ring migration: each island's best idea joins the next island's population. */
  private migrate(view: SearchView): void {
    const bests = this.state.islands.map((island) => this.ranked(island.members, view)[0]);
    bests.forEach((best, index) => {
      if (best === undefined) return;
      const target = (index + 1) % this.state.islands.length;
      const members = this.state.islands[target].members;
      if (!members.includes(best.id)) members.push(best.id);
      this.trim(target, view);
    });
    this.state.migrations++;
  }

  /** Keeps the island's `populationSize` best ideas. */
  private trim(island: number, view: SearchView): void {
    const ranked = this.ranked(this.state.islands[island].members, view);
    this.state.islands[island].members = ranked
      .slice(0, this.options.populationSize)
      .map((idea) => idea.id)
      .sort((a, b) => a - b);
  }

  private ranked(ids: number[], view: SearchView): IdeaRecord[] {
    return ids
      .map((id) => ideaById(view.history, id))
      .filter((idea): idea is IdeaRecord => idea?.reward != null && !isHeldBack(idea))
      .sort((a, b) => (isBetter(a.reward!, b.reward!, view.goal) ? -1 : isBetter(b.reward!, a.reward!, view.goal) ? 1 : a.id - b.id));
  }

  private islandOf(idea: IdeaRecord): number | null {
    const island = idea.meta.island;
    return typeof island === 'number' && Number.isInteger(island) && island >= 0 && island < this.state.islands.length ? island : null;
  }

  saveState(): unknown {
    return structuredClone(this.state);
  }

  restoreState(saved: unknown): void {
    const state = saved as Partial<EvolveState> | null;
    if (!state || !Array.isArray(state.islands) || state.islands.length !== this.options.islands) return;
    this.state = {
      islands: state.islands.map((island) => ({ members: [...(island.members ?? [])], seeded: island.seeded ?? 0 })),
      nextIsland: state.nextIsland ?? 0,
      children: { ...(state.children ?? {}) },
      finished: state.finished ?? 0,
      migrations: state.migrations ?? 0,
    };
  }
}

function freshState(islands: number): EvolveState {
  return {
    islands: Array.from({ length: islands }, () => ({ members: [], seeded: 0 })),
    nextIsland: 0,
    children: {},
    finished: 0,
    migrations: 0,
  };
}

/** History is ordered by id and ids are dense, so the index is almost always the id. */
function ideaById(history: readonly IdeaRecord[], id: number): IdeaRecord | undefined {
  const direct = history[id];
  if (direct?.id === id) return direct;
  return history.find((idea) => idea.id === id);
}

function formatReward(x: number): string {
  return String(Number(x.toPrecision(4)));
}
