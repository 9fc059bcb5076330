/**
 * The learning curves in run.db: what a stopped seed makes of its idea, and what resume does with
 * the partial curve of an evaluation a killed researcher left in flight.
 */
import { describe, expect, it } from 'vitest';
import { RunConfig } from '../../src/core/run-config.ts';
import { RunStore } from '../../src/store/run-store.ts';
import { tempDir } from '../helpers/sweep.ts';

function newStore(): RunStore {
  return RunStore.create(
    tempDir(),
    RunConfig.parse({ runId: 'r', createdAt: 'now', environmentDir: '/x', environmentName: 'x', agent: 'offline', ideas: 5 }),
  );
}

const draft = { title: 't', hypothesis: 'h', plan: 'p', expectedEffect: 'e' };
const ok = (reward: number) => ({ reward, failure: null, exitCode: 0, timedOut: false, oomKilled: false, durationMs: 10 });

describe('learning curves in the store', () => {
  it('a seed stopped early makes the idea stopped-early, even when another seed has a reward', () => {
    const store = newStore();
    const id = store.insertIdea(draft, null);
    store.finishEvaluation(store.startEvaluation(id, 0, 'local', 'log', []), ok(0.9));
    store.finishEvaluation(store.startEvaluation(id, 1, 'local', 'log', []), {
      ...ok(0),
      reward: null,
      failure: { reason: 'stopped-early', message: 'stopped early at step 20 of 60: …' },
    });
    expect(store.finishIdea(id)).toMatchObject({
      status: 'failed',
      failureReason: 'stopped-early',
      error: 'stopped early at step 20 of 60: …',
    });
  });

  it('resume puts back an idea whose in-flight evaluation has a partial curve: the rerun starts a fresh curve', () => {
    const store = newStore();
    const id = store.insertIdea(draft, null);
    const done = store.startEvaluation(id, 0, 'local', 'log', []);
    store.recordProgress(done, [{ step: 1, value: 0.5, atMs: 10 }]);
    store.finishEvaluation(done, ok(0.5));
    const inFlight = store.startEvaluation(id, 1, 'local', 'log', []);
    store.recordProgress(inFlight, [
      { step: 1, value: 0.1, atMs: 10 },
      { step: 2, value: 0.2, atMs: 20 },
    ]);
    // Until resume, the partial curve is there to see (a killed researcher kept it).
    expect(store.curves(id).map((c) => c.points.length)).toEqual([1, 2]);
    store.requeueIdea(id);
    expect(store.evaluations(id).map((e) => e.seed)).toEqual([0]);
    expect(store.curves(id)).toEqual([{ evaluationId: done, ideaId: id, seed: 0, points: [{ step: 1, value: 0.5, atMs: 10 }] }]);
  });
});
