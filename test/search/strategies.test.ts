/**
 * The search strategies' decisions, on histories written out by hand: which parent, which round,
 * which island; and that their saved state restores the same search.
 */
import { describe, expect, it } from 'vitest';
import type { IdeaRecord } from '../../src/core/types.ts';
import { RunConfig } from '../../src/core/run-config.ts';
import { findDuplicate, ideaTokens, similarity } from '../../src/search/duplicates.ts';
import { EvolveSearch } from '../../src/search/evolve.ts';
import { createStrategy } from '../../src/search/index.ts';
import { ParallelSearch } from '../../src/search/parallel.ts';
import { SerialSearch } from '../../src/search/serial.ts';
import type { Proposal, SearchStrategy, SearchView } from '../../src/search/strategy.ts';

function idea(id: number, fields: Partial<IdeaRecord> = {}): IdeaRecord {
  return {
    id,
    parentId: null,
    title: `idea ${id}`,
    hypothesis: '',
    plan: `set knob${id} = ${id}`,
    expectedEffect: '',
    status: 'succeeded',
    failureReason: null,
    error: null,
    diff: '',
    commit: `c${id}`,
    reward: id,
    rewardStd: 0,
    rewardCount: 1,
    createdAt: '',
    finishedAt: '',
    meta: {},
    ...fields,
  };
}

const baseline = idea(0, { title: 'baseline', reward: 0 });

function view(history: IdeaRecord[], fields: Partial<SearchView> = {}): SearchView {
  return {
    history,
    inFlight: history.filter((i) => i.status !== 'succeeded' && i.status !== 'failed').length,
    remaining: 100,
    parallel: 2,
    goal: 'maximize',
    random: () => 0.5,
    ...fields,
  };
}

/** Drives a strategy like the loop does: next → record → started; results come in via finish(). */
class Harness {
  history: IdeaRecord[] = [baseline];
  constructor(readonly strategy: SearchStrategy) {}

  start(): IdeaRecord | null {
    const proposal: Proposal | null = this.strategy.next(view(this.history));
    if (!proposal) return null;
    const record = idea(this.history.length, {
      parentId: proposal.parentId,
      status: 'running',
      reward: null,
      meta: { ...proposal.meta, instruction: proposal.instruction },
    });
    this.history.push(record);
    this.strategy.started?.(record);
    return record;
  }

  finish(id: number, reward: number | null): void {
    const done = { ...this.history[id], status: reward === null ? ('failed' as const) : ('succeeded' as const), reward };
    this.history[id] = done;
    this.strategy.observe?.(done, view(this.history));
  }
}

describe('serial search', () => {
  it('waits for each idea and builds on the base or on the best', () => {
    const best = new SerialSearch('best');
    expect(best.next(view([baseline, idea(1, { reward: 5 }), idea(2, { reward: 3 })]))).toEqual({ parentId: 1 });
    expect(best.next(view([baseline, idea(1, { status: 'running', reward: null })]))).toBeNull();
    expect(new SerialSearch('base').next(view([baseline, idea(1, { reward: 5 })]))).toEqual({ parentId: null });
  });
});

describe('parallel search', () => {
  it('fills a round of N on the base commit, then waits for the whole round before the next', () => {
    const harness = new Harness(new ParallelSearch(3));
    const first = [harness.start(), harness.start(), harness.start()];
    expect(first.map((i) => [i!.parentId, i!.meta.round])).toEqual([
      [null, 0],
      [null, 0],
      [null, 0],
    ]);
    expect(harness.start()).toBeNull(); // round 0 is full
    harness.finish(1, 1);
    harness.finish(2, 4);
    expect(harness.start()).toBeNull(); // idea 3 still runs: the barrier holds
    harness.finish(3, 2);
    const next = harness.start()!;
    expect(next.meta.round).toBe(1);
    expect(next.parentId).toBeNull();
    expect(String(next.meta.instruction)).toMatch(/results of the previous round/);
  });

  it('restores its round from saved state, as JSON', () => {
    const strategy = new ParallelSearch(2);
    const harness = new Harness(strategy);
    harness.start();
    harness.start();
    harness.finish(1, 1);
    harness.finish(2, 1);
    harness.start(); // round 1 begins
    const saved = JSON.parse(JSON.stringify(strategy.saveState()));
    const restored = new ParallelSearch(2);
    restored.restoreState(saved);
    expect(restored.next(view(harness.history))).toMatchObject({ meta: { round: 1 } });
  });

  it('is chosen with --search parallel, its round size defaulting to --parallel', () => {
    const config = RunConfig.parse({
      runId: 'r',
      createdAt: '',
      environmentDir: '/',
      environmentName: 'e',
      agent: 'offline',
      ideas: 4,
      search: 'parallel',
      parallel: 4,
    });
    const strategy = createStrategy(config);
    const harness = new Harness(strategy);
    for (let i = 0; i < 4; i++) expect(harness.start()).not.toBeNull();
    expect(harness.start()).toBeNull();
  });
});

describe('evolve search', () => {
  const options = { islands: 2, populationSize: 3, seedIdeas: 1, exploration: 0.5, migrationInterval: 4 };

  it('seeds each island from the base commit, then breeds children from its own members', () => {
    const harness = new Harness(new EvolveSearch(options));
    const seedA = harness.start()!;
    const seedB = harness.start()!;
    expect([seedA.meta.island, seedB.meta.island]).toEqual([0, 1]);
    expect([seedA.parentId, seedB.parentId]).toEqual([null, null]);
    harness.finish(seedA.id, 5);
    harness.finish(seedB.id, 7);
    const childA = harness.start()!;
    const childB = harness.start()!;
    expect(childA).toMatchObject({ parentId: seedA.id, meta: { island: 0, generation: 1 } });
    expect(childB).toMatchObject({ parentId: seedB.id, meta: { island: 1, generation: 1 } });
    expect(String(childA.meta.instruction)).toMatch(new RegExp(`Build on idea ${seedA.id}`));
  });

  it('keeps seeding an island whose seeds all failed', () => {
    const harness = new Harness(new EvolveSearch({ ...options, islands: 1 }));
    const seed = harness.start()!;
    harness.finish(seed.id, null);
    expect(harness.start()!.parentId).toBeNull();
  });

  it('prefers better parents but spreads children to explore (UCB)', () => {
    const harness = new Harness(new EvolveSearch({ ...options, islands: 1, seedIdeas: 3 }));
    const seeds = [harness.start()!, harness.start()!, harness.start()!];
    harness.finish(seeds[0].id, 1);
    harness.finish(seeds[1].id, 10);
    harness.finish(seeds[2].id, 9);
    const parents = Array.from({ length: 6 }, () => harness.start()!.parentId);
    expect(parents[0]).toBe(seeds[1].id); // the best first
    const counts = new Map<number | null, number>();
    for (const p of parents) counts.set(p, (counts.get(p) ?? 0) + 1);
    expect(counts.get(seeds[1].id)).toBeGreaterThan(counts.get(seeds[0].id) ?? 0);
    expect(counts.size).toBeGreaterThan(1); // not every child on the same parent
  });

  it('keeps each island to its population size and migrates island bests around the ring', () => {
    const strategy = new EvolveSearch(options);
    const harness = new Harness(strategy);
    // Island 0 gets ideas with rewards 1..4, island 1 gets 10..13 (alternating islands).
    const rewards = [1, 10, 2, 11, 3, 12, 4, 13];
    const started = rewards.map(() => harness.start()!);
    started.forEach((record, i) => harness.finish(record.id, rewards[i]));
    const state = strategy.saveState() as { islands: { members: number[] }[]; migrations: number; finished: number };
    expect(state.finished).toBe(8);
    expect(state.migrations).toBe(2);
    for (const island of state.islands) expect(island.members.length).toBeLessThanOrEqual(3);
    const rewardOf = (id: number) => harness.history[id].reward;
    // Island 0 received island 1's best (13) by migration, and kept its own best ones.
    expect(state.islands[0].members.map(rewardOf)).toContain(13);
    expect(state.islands[1].members.map(rewardOf)).toEqual(expect.arrayContaining([12, 13]));
  });

  it('saves plain JSON and a restored strategy makes the same next choices', () => {
    const strategy = new EvolveSearch(options);
    const harness = new Harness(strategy);
    for (const reward of [3, 8, 5, 1]) harness.finish(harness.start()!.id, reward);
    const saved = JSON.parse(JSON.stringify(strategy.saveState()));
    const restored = new EvolveSearch(options);
    restored.restoreState(saved);
    const twin = new Harness(restored);
    twin.history = [...harness.history];
    for (let i = 0; i < 5; i++) {
      const a = harness.start()!;
      const b = twin.start()!;
      expect([b.parentId, b.meta.island, b.meta.generation]).toEqual([a.parentId, a.meta.island, a.meta.generation]);
    }
    expect(JSON.parse(JSON.stringify(restored.saveState()))).toEqual(JSON.parse(JSON.stringify(strategy.saveState())));
  });

  it('rejects a near-duplicate draft on the same parent, and accepts it on another parent', () => {
    const strategy = new EvolveSearch(options);
    const history = [baseline, idea(1, { title: 'lr 0.05 → 0.0228', plan: 'set lr = 0.0228', parentId: null })];
    const draft = { title: 'lr 0.05 → 0.023', plan: 'set lr = 0.023', hypothesis: 'h', expectedEffect: '' };
    const verdict = strategy.accept({ ideaId: 2, parentId: null, draft }, view(history));
    expect(verdict).toMatchObject({ ok: false, reason: 'duplicate' });
    expect(!verdict.ok && verdict.message).toMatch(/nearly repeats idea 1/);
    expect(strategy.accept({ ideaId: 2, parentId: 1, draft }, view(history))).toEqual({ ok: true });
    const different = { ...draft, title: 'lr 0.05 → 0.2', plan: 'set lr = 0.2' };
    expect(strategy.accept({ ideaId: 2, parentId: null, draft: different }, view(history))).toEqual({ ok: true });
  });

  it('refuses nonsense options with a message naming them', () => {
    const config = RunConfig.parse({
      runId: 'r',
      createdAt: '',
      environmentDir: '/',
      environmentName: 'e',
      agent: 'offline',
      ideas: 4,
      search: 'evolve',
      searchOptions: { islands: 0 },
    });
    expect(() => createStrategy(config)).toThrow(/--search evolve: islands/);
    expect(() => createStrategy({ ...config, search: 'annealing' })).toThrow(
      /unknown search strategy "annealing"; choose one of: serial, parallel, evolve/,
    );
  });
});

describe('near-duplicate detection', () => {
  it('treats numbers equal to two significant digits and ignores case and punctuation', () => {
    expect(ideaTokens({ title: 'Set LR to 3e-4!', plan: '', hypothesis: 'warm up' })).toEqual(['set', 'lr', 'to', '0.0003', 'warm', 'up']);
    expect(
      similarity(ideaTokens({ title: 'x = 2.28', plan: 'p', hypothesis: '' }), ideaTokens({ title: 'X = 2.3', plan: 'P', hypothesis: '' })),
    ).toBe(1);
    expect(similarity(['a', 'b', 'c', 'd'], ['a', 'b', 'c', 'e'])).toBeCloseTo(3 / 5);
  });

  it('skips ideas still being proposed and the idea itself', () => {
    const draft = { title: 't', plan: 'p', hypothesis: '', expectedEffect: '' };
    const history = [baseline, idea(1, { title: 't', plan: 'p', meta: { proposing: true } }), idea(2, { title: 't', plan: 'p' })];
    expect(findDuplicate(draft, null, 2, history)).toBeUndefined();
    expect(findDuplicate(draft, null, 3, history)?.id).toBe(2);
  });
});
