/**
 * The model portfolio's bandit on simulated ideas (seeded randomness, so every run of the test
 * makes the same choices): which model it chooses, how weights and cost steer it, that each idea
 * is counted exactly once, and that its saved state resumes the same choices.
 */
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../src/core/random.ts';
import type { IdeaRecord } from '../../src/core/types.ts';
import {
  improvementOf,
  ModelBandit,
  PortfolioSearch,
  type PortfolioSpec,
  sampleBeta,
  THINKER_MODEL_KEY,
} from '../../src/search/model-portfolio.ts';
import { ParallelSearch } from '../../src/search/parallel.ts';
import { SerialSearch } from '../../src/search/serial.ts';
import type { SearchView } from '../../src/search/strategy.ts';

function spec(fields: Partial<PortfolioSpec> = {}): PortfolioSpec {
  return {
    role: 'thinker',
    policy: 'ucb',
    perDollar: false,
    exploration: 1,
    models: [
      { model: 'a', weight: 1 },
      { model: 'b', weight: 1 },
    ],
    ...fields,
  };
}

function idea(id: number, fields: Partial<IdeaRecord> = {}): IdeaRecord {
  return {
    id,
    parentId: null,
    title: `idea ${id}`,
    hypothesis: '',
    plan: '',
    expectedEffect: '',
    status: 'succeeded',
    failureReason: null,
    error: null,
    diff: '',
    commit: null,
    reward: 1,
    rewardStd: 0,
    rewardCount: 1,
    createdAt: '',
    finishedAt: '',
    meta: {},
    ...fields,
  };
}

/** Runs `rounds` serial ideas: each model improves with its own probability; returns the choices. */
function simulate(
  bandit: ModelBandit,
  rounds: number,
  success: Record<string, number>,
  seed: number,
  cost: Record<string, number> = {},
): string[] {
  const random = seededRandom(seed);
  const chosen: string[] = [];
  for (let id = 1; id <= rounds; id++) {
    const model = bandit.choose(random);
    bandit.start(id, model);
    bandit.settle(id, random() < success[model] ? 1 : 0, cost[model] ?? 0);
    chosen.push(model);
  }
  return chosen;
}

const countOf = (chosen: string[], model: string) => chosen.filter((m) => m === model).length;

describe('the reward an idea earns its model', () => {
  const baseline = idea(0, { reward: 5 });
  const parent = idea(1, { reward: 8 });
  const history = [baseline, parent];

  it('is 1 when it beat its parent (the baseline for a root idea), else 0', () => {
    expect(improvementOf(idea(2, { parentId: 1, reward: 9 }), history, 'maximize')).toBe(1);
    expect(improvementOf(idea(2, { parentId: 1, reward: 7 }), history, 'maximize')).toBe(0);
    expect(improvementOf(idea(2, { parentId: null, reward: 7 }), history, 'maximize')).toBe(1);
    expect(improvementOf(idea(2, { parentId: null, reward: 4 }), history, 'minimize')).toBe(1);
    expect(improvementOf(idea(2, { parentId: 1, reward: 8 }), history, 'maximize')).toBe(0); // a tie is no improvement
  });

  it('is 0 for an idea that failed, and not counted when the failure was not the model’s doing', () => {
    expect(improvementOf(idea(2, { status: 'failed', failureReason: 'crashed', reward: null }), history, 'maximize')).toBe(0);
    expect(improvementOf(idea(2, { status: 'failed', failureReason: 'duplicate', reward: null }), history, 'maximize')).toBe(0);
    expect(improvementOf(idea(2, { status: 'failed', failureReason: 'infrastructure', reward: null }), history, 'maximize')).toBeNull();
    expect(improvementOf(idea(2, { status: 'failed', failureReason: 'interrupted', reward: null }), history, 'maximize')).toBeNull();
  });
});

describe('UCB', () => {
  it('tries the heavier model first, and spreads ideas in flight over models of equal weight', () => {
    const bandit = new ModelBandit(
      spec({
        models: [
          { model: 'a', weight: 1 },
          { model: 'b', weight: 3 },
        ],
      }),
    );
    expect(bandit.choose(Math.random)).toBe('b');
    // Of equal weights, an idea in flight for one model hands the next to the other (its exploration bonus wins).
    const even = new ModelBandit(spec());
    expect(even.choose(Math.random)).toBe('a');
    even.start(1, 'a');
    expect(even.choose(Math.random)).toBe('b');
    even.start(2, 'b');
    expect(even.choose(Math.random)).toBe('a');
  });

  it('chooses the model whose ideas improve more often, and still explores the other', () => {
    const chosen = simulate(new ModelBandit(spec()), 60, { a: 0.2, b: 0.8 }, 7);
    expect(countOf(chosen, 'b')).toBeGreaterThan(countOf(chosen, 'a') * 2);
    expect(countOf(chosen, 'a')).toBeGreaterThanOrEqual(3);
  });

  it('per dollar, prefers the cheaper of two equally good models', () => {
    const perDollar = simulate(new ModelBandit(spec({ perDollar: true })), 60, { a: 0.5, b: 0.5 }, 11, { a: 0.05, b: 0.005 });
    expect(countOf(perDollar, 'b')).toBeGreaterThan(countOf(perDollar, 'a') * 2);
    // Without perDollar the same costs change nothing: the same rates share the ideas.
    const plain = simulate(new ModelBandit(spec()), 60, { a: 0.5, b: 0.5 }, 11, { a: 0.05, b: 0.005 });
    expect(Math.abs(countOf(plain, 'a') - countOf(plain, 'b'))).toBeLessThan(30);
  });
});

describe('Thompson sampling', () => {
  it('is reproducible with the same seed and prefers the better model', () => {
    const first = simulate(new ModelBandit(spec({ policy: 'thompson' })), 60, { a: 0.8, b: 0.2 }, 3);
    const again = simulate(new ModelBandit(spec({ policy: 'thompson' })), 60, { a: 0.8, b: 0.2 }, 3);
    expect(again).toEqual(first);
    expect(countOf(first, 'a')).toBeGreaterThan(countOf(first, 'b') * 2);
  });

  it('draws from the Beta distribution', () => {
    const random = seededRandom(1);
    const draws = Array.from({ length: 4000 }, () => sampleBeta(2, 5, random));
    const mean = draws.reduce((sum, x) => sum + x, 0) / draws.length;
    expect(mean).toBeCloseTo(2 / 7, 1);
    expect(draws.every((x) => x > 0 && x < 1)).toBe(true);
    const small = Array.from({ length: 4000 }, () => sampleBeta(0.5, 0.5, random));
    expect(small.every((x) => x >= 0 && x <= 1)).toBe(true);
  });
});

describe('counting each idea once', () => {
  it('counts an idea started twice or settled twice once, and one not chosen not at all', () => {
    const bandit = new ModelBandit(spec());
    bandit.start(1, 'a');
    bandit.start(1, 'a');
    bandit.settle(1, 1, 0.01);
    bandit.settle(1, 1, 0.01);
    bandit.settle(2, 1, 0.01);
    expect(bandit.counts('a')).toEqual({ chosen: 1, observed: 1, reward: 1, costUsd: 0.01, notCounted: 0 });
    expect(bandit.saveState().pending).toEqual({});
  });

  it('keeps an idea in flight pending across save and restore, and settles it once after', () => {
    const bandit = new ModelBandit(spec());
    bandit.start(1, 'a');
    bandit.start(2, 'b');
    bandit.settle(1, 0, 0);
    const resumed = new ModelBandit(spec());
    resumed.restoreState(JSON.parse(JSON.stringify(bandit.saveState())));
    expect(resumed.saveState().pending).toEqual({ '2': 'b' });
    resumed.settle(2, 1, 0);
    resumed.settle(2, 1, 0);
    expect(resumed.counts('b')).toEqual({ chosen: 1, observed: 1, reward: 1, costUsd: 0, notCounted: 0 });
    expect(resumed.counts('a')).toMatchObject({ chosen: 1, observed: 1, reward: 0 });
  });

  it('refuses a saved state it cannot read', () => {
    expect(() => new ModelBandit(spec()).restoreState({ version: 2 })).toThrow(/the saved model portfolio state is not readable/);
  });
});

describe('PortfolioSearch', () => {
  const view = (history: IdeaRecord[], random: () => number = () => 0.5): SearchView => ({
    history,
    inFlight: history.filter((i) => i.status !== 'succeeded' && i.status !== 'failed').length,
    remaining: 100,
    parallel: 4,
    goal: 'maximize',
    random,
  });

  it('adds the chosen model to the strategy’s proposal and learns from the result', () => {
    const search = new PortfolioSearch(new SerialSearch(), spec(), (id) => id / 100);
    const history = [idea(0, { reward: 5 })];
    const proposal = search.next(view(history))!;
    expect(proposal).toEqual({ parentId: null, meta: { [THINKER_MODEL_KEY]: 'a' } });
    const started = idea(1, { status: 'running', reward: null, meta: proposal.meta });
    history.push(started);
    search.started(started);
    expect(search.next(view(history))).toBeNull(); // serial search waits, whatever the models
    history[1] = { ...started, status: 'succeeded', reward: 6 };
    search.observe(history[1], view(history));
    expect(search.bandit.counts('a')).toEqual({ chosen: 1, observed: 1, reward: 1, costUsd: 0.01, notCounted: 0 });
  });

  it('saves the strategy’s state and the bandit’s together, and a restored search chooses as the original would', () => {
    const original = new PortfolioSearch(new ParallelSearch(10), spec({ policy: 'thompson' }), () => 0);
    const history = [idea(0, { reward: 5 })];
    for (let id = 1; id <= 4; id++) {
      const proposal = original.next(view(history, seededRandom(id)))!;
      const started = idea(id, { status: 'running', reward: null, meta: proposal.meta });
      history.push(started);
      original.started(started);
      if (id <= 2) {
        history[id] = { ...started, status: 'succeeded', reward: 5 + id };
        original.observe(history[id], view(history));
      }
    }
    const saved = JSON.parse(JSON.stringify(original.saveState()));
    expect(saved.search).toEqual({ round: 0 });
    expect(Object.keys(saved.modelPortfolio.pending).sort()).toEqual(['3', '4']);
    const resumed = new PortfolioSearch(new ParallelSearch(10), spec({ policy: 'thompson' }), () => 0);
    resumed.restoreState(saved);
    expect(resumed.saveState()).toEqual(saved);
    expect(resumed.next(view(history, seededRandom(99)))).toEqual(original.next(view(history, seededRandom(99))));
  });

  it('resumes a run that had no portfolio with the strategy’s own state and a fresh bandit', () => {
    const inner = new ParallelSearch(3);
    const search = new PortfolioSearch(new ParallelSearch(3), spec(), () => 0);
    search.restoreState(inner.saveState());
    expect(search.saveState()).toEqual({ search: inner.saveState(), modelPortfolio: { version: 1, models: {}, pending: {} } });
  });
});
