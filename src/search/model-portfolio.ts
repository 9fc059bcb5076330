/**
 * A model portfolio: the agent file lists several models for the thinker, and a bandit chooses
 * which of them proposes each idea, learning from how their ideas did.
 *
 * The reward an idea earns its model (`improvementOf`): 1 when it finished and beat its parent
 * (the baseline for an idea built on the base code), 0 when it failed or did not beat it. An
 * idea that failed for a reason that is not the model's doing (the sandbox engine broke, the
 * person stopped it) earns nothing either way: it is not counted.
 *
 * Policies, both on those 0/1 rewards:
 * - `ucb` (UCB1): the model with the highest mean + exploration·√(2 ln N / n); ideas still in
 *   flight count in n, so parallel proposals spread over the models instead of all going to the
 *   current leader.
 * - `thompson`: a draw from each model's Beta posterior, the highest wins (seeded randomness:
 *   the search view's, so a run is reproducible).
 * Weights are a prior: each model starts with one imagined idea whose reward is its weight
 * divided by the largest weight, so a heavier model is tried first and a lighter one must
 * earn its turns. `perDollar` divides each model's score by its mean thinker cost per idea,
 * relative to the cheapest model's (a model not yet priced by an observed idea is not divided).
 *
 * Resuming: the bandit's state is plain data saved with the search state, in the same
 * transactions as the ideas (`PortfolioSearch` wraps the run's strategy: `started` is written
 * with the new idea, `observe` with its result). A chosen idea is "pending" until its result is
 * observed, then moved to its model's counts exactly once, so a kill at any point neither loses
 * nor double-counts an idea; a resumed idea keeps the model it was given (its meta).
 */
import { z } from 'zod';
import { isBetter, type Goal } from '../core/ideas.ts';
import { gaussian } from '../core/random.ts';
import type { IdeaRecord } from '../core/types.ts';
import type { Candidate, Proposal, SearchStrategy, SearchView, Verdict } from './strategy.ts';

export const PORTFOLIO_POLICIES = ['ucb', 'thompson'] as const;
export type PortfolioPolicy = (typeof PORTFOLIO_POLICIES)[number];

/** The idea meta key that names the model chosen to propose the idea. */
export const THINKER_MODEL_KEY = 'thinkerModel';

/** Failure reasons that are not the model's doing: such ideas are not counted for or against it. */
const NOT_THE_MODELS_DOING = new Set(['infrastructure', 'interrupted']);

/** Costs below this (USD) count as this much, so a free model's ratio stays finite. */
const COST_FLOOR_USD = 1e-6;

export interface PortfolioModel {
  /** The model's name, as the agent file gives it and the model calls record it. */
  model: string;
  /** Prior preference (default 1): relative, any positive number. */
  weight: number;
}

/** What an agent file's portfolio asks for (src/agents/agent-file.ts builds it). */
export interface PortfolioSpec {
  role: 'thinker';
  policy: PortfolioPolicy;
  perDollar: boolean;
  /** UCB's exploration constant (1 is UCB1's). */
  exploration: number;
  models: PortfolioModel[];
}

const ModelCounts = z.object({
  /** Ideas chosen for this model, all told (observed + pending + not counted). */
  chosen: z.number().int().nonnegative(),
  /** Ideas whose result was counted. */
  observed: z.number().int().nonnegative(),
  /** Sum of their rewards (ideas that improved on their parent). */
  reward: z.number().nonnegative(),
  /** What their thinker calls cost. */
  costUsd: z.number().nonnegative(),
  /** Ideas that ended for a reason not the model's doing. */
  notCounted: z.number().int().nonnegative(),
});
export type ModelCounts = z.output<typeof ModelCounts>;

export const PortfolioState = z.object({
  version: z.literal(1),
  models: z.record(z.string(), ModelCounts),
  /** Idea id → model, for ideas chosen but not observed yet. */
  pending: z.record(z.string(), z.string()),
});
export type PortfolioState = z.output<typeof PortfolioState>;

const EMPTY_COUNTS: ModelCounts = { chosen: 0, observed: 0, reward: 0, costUsd: 0, notCounted: 0 };

/** The reward an idea earns the model that proposed it (see the header), or null: not counted. */
export function improvementOf(idea: IdeaRecord, history: readonly (IdeaRecord | undefined)[], goal: Goal): number | null {
  if (idea.status === 'failed') return idea.failureReason && NOT_THE_MODELS_DOING.has(idea.failureReason) ? null : 0;
  if (idea.status !== 'succeeded' || idea.reward === null) return null;
  const reference = history[idea.parentId ?? 0];
  if (!reference || reference.reward === null) return 1;
  return isBetter(idea.reward, reference.reward, goal) ? 1 : 0;
}

export class ModelBandit {
  private state: PortfolioState = { version: 1, models: {}, pending: {} };

  constructor(readonly spec: PortfolioSpec) {
    if (spec.models.length === 0) throw new Error('a portfolio needs at least one model');
  }

  /** The model to propose the next idea. `random` is used by Thompson sampling only. */
  choose(random: () => number): string {
    const scores = this.scores(random);
    let best = 0;
    for (let i = 1; i < scores.length; i++) if (scores[i] > scores[best]) best = i;
    return this.spec.models[best].model;
  }

  /** Each listed model's score for the next choice, in the agent file's order. */
  scores(random: () => number): number[] {
    const { models, policy, exploration } = this.spec;
    const topWeight = Math.max(...models.map((m) => m.weight));
    const pending = this.pendingCounts();
    const factors = this.costFactors();
    const pulls = models.map((m) => 1 + this.counts(m.model).observed + (pending.get(m.model) ?? 0));
    const total = pulls.reduce((sum, n) => sum + n, 0);
    return models.map((m, i) => {
      const counts = this.counts(m.model);
      const prior = m.weight / topWeight;
      if (policy === 'thompson') {
        const alpha = 1 + prior + counts.reward;
        const beta = 1 + (1 - prior) + (counts.observed - counts.reward);
        return sampleBeta(alpha, beta, random) * factors[i];
      }
      const mean = (prior + counts.reward) / (1 + counts.observed);
      return (mean + exploration * Math.sqrt((2 * Math.log(total)) / pulls[i])) * factors[i];
    });
  }

  /** The idea was recorded with this model (idempotent: a second call for the same idea changes nothing). */
  start(ideaId: number, model: string): void {
    const key = String(ideaId);
    if (key in this.state.pending) return;
    this.state.pending[key] = model;
    this.update(model, (c) => ({ ...c, chosen: c.chosen + 1 }));
  }

  /**
   * The idea's result: its reward (null: not counted) and what its thinker calls cost. An idea
   * that is not pending (never chosen, or already settled) changes nothing.
   */
  settle(ideaId: number, reward: number | null, costUsd: number): void {
    const key = String(ideaId);
    const model = this.state.pending[key];
    if (model === undefined) return;
    delete this.state.pending[key];
    if (reward === null) this.update(model, (c) => ({ ...c, notCounted: c.notCounted + 1 }));
    else this.update(model, (c) => ({ ...c, observed: c.observed + 1, reward: c.reward + reward, costUsd: c.costUsd + costUsd }));
  }

  counts(model: string): ModelCounts {
    return this.state.models[model] ?? EMPTY_COUNTS;
  }

  saveState(): PortfolioState {
    return structuredClone(this.state);
  }

  restoreState(state: unknown): void {
    const parsed = PortfolioState.safeParse(state);
    if (!parsed.success)
      throw new Error(`the saved model portfolio state is not readable: ${z.prettifyError(parsed.error).split('\n')[0]}`);
    this.state = structuredClone(parsed.data);
  }

  private update(model: string, change: (counts: ModelCounts) => ModelCounts): void {
    this.state.models[model] = change(this.counts(model));
  }

  private pendingCounts(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const model of Object.values(this.state.pending)) counts.set(model, (counts.get(model) ?? 0) + 1);
    return counts;
  }

  /** 1 for each model unless perDollar: then the cheapest known mean cost divided by the model's own. */
  private costFactors(): number[] {
    const { models, perDollar } = this.spec;
    if (!perDollar) return models.map(() => 1);
    const meanCost = models.map((m) => {
      const c = this.counts(m.model);
      return c.observed > 0 ? Math.max(c.costUsd / c.observed, COST_FLOOR_USD) : null;
    });
    const known = meanCost.filter((c): c is number => c !== null);
    if (known.length === 0) return models.map(() => 1);
    const cheapest = Math.min(...known);
    return meanCost.map((c) => (c === null ? 1 : cheapest / c));
  }
}

/** The saved state of a search wrapped in a portfolio: the strategy's own, and the bandit's. */
interface WrappedState {
  search: unknown;
  modelPortfolio: PortfolioState;
}

/** Whether a run's saved search state holds a model portfolio's (the run was started with one). */
export function hasPortfolioState(state: unknown): state is WrappedState {
  return typeof state === 'object' && state !== null && 'modelPortfolio' in state && 'search' in state;
}

/**
 * Wraps the run's search strategy: the strategy still decides what to try; the bandit adds
 * which model proposes it (the proposal's meta), and its state travels with the strategy's.
 */
export class PortfolioSearch implements SearchStrategy {
  readonly name: string;
  readonly bandit: ModelBandit;

  constructor(
    private readonly inner: SearchStrategy,
    spec: PortfolioSpec,
    /** What the thinker calls of an idea cost (USD): for perDollar. */
    private readonly thinkerCostOf: (ideaId: number) => number,
  ) {
    this.name = inner.name;
    this.bandit = new ModelBandit(spec);
  }

  next(view: SearchView): Proposal | null {
    const proposal = this.inner.next(view);
    if (!proposal) return null;
    // After the strategy, so its own draws from view.random are the same as without a portfolio.
    const model = this.bandit.choose(view.random);
    return { ...proposal, meta: { ...proposal.meta, [THINKER_MODEL_KEY]: model } };
  }

  accept(candidate: Candidate, view: SearchView): Verdict {
    return this.inner.accept?.(candidate, view) ?? { ok: true };
  }

  started(idea: IdeaRecord): void {
    this.inner.started?.(idea);
    const model = idea.meta[THINKER_MODEL_KEY];
    if (typeof model === 'string') this.bandit.start(idea.id, model);
  }

  observe(idea: IdeaRecord, view: SearchView): void {
    this.inner.observe?.(idea, view);
    this.bandit.settle(idea.id, improvementOf(idea, view.history, view.goal), this.thinkerCostOf(idea.id));
  }

  saveState(): WrappedState {
    return { search: this.inner.saveState(), modelPortfolio: this.bandit.saveState() };
  }

  restoreState(state: unknown): void {
    if (hasPortfolioState(state)) {
      this.inner.restoreState(state.search);
      this.bandit.restoreState(state.modelPortfolio);
    } else {
      // A run started with one model and resumed with a portfolio: the bandit starts afresh.
      this.inner.restoreState(state);
    }
  }
}

/** A Beta(alpha, beta) sample, from two Gamma samples. */
export function sampleBeta(alpha: number, beta: number, random: () => number): number {
  const x = sampleGamma(alpha, random);
  const y = sampleGamma(beta, random);
  return x + y === 0 ? 0.5 : x / (x + y);
}

/** A Gamma(shape, 1) sample (Marsaglia and Tsang; shape < 1 through the boost U^(1/shape)). */
function sampleGamma(shape: number, random: () => number): number {
  if (shape < 1) return sampleGamma(shape + 1, random) * Math.pow(Math.max(random(), 1e-12), 1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    const x = gaussian(random);
    const v = (1 + c * x) ** 3;
    if (v <= 0) continue;
    const u = Math.max(random(), 1e-12);
    if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
  }
}
