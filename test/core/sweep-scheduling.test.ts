/**
 * The sweep's scheduling and search logic on in-memory doubles (test/doubles/): the real
 * scheduler, idea pipeline, strategies and SQLite store, with scripted agents, a sandbox whose
 * runs the test finishes one by one, and a workspace without git. No process is started, so each
 * case runs in milliseconds; the same logic on real engines is covered by loop-*.test.ts and
 * test/integration/.
 */
import { describe, expect, it } from 'vitest';
import { isFinished } from '../../src/core/ideas.ts';
import type { IdeaRecord } from '../../src/core/types.ts';
import { knobCoder, ScriptedCoder, ScriptedThinker } from '../doubles/agents.ts';
import { ScriptedSandbox } from '../doubles/sandbox.ts';
import { knobValue, memorySweep, quadraticScore, settled, until } from '../doubles/sweep.ts';

const byId = (ideas: IdeaRecord[]) => new Map(ideas.map((idea) => [idea.id, idea]));

describe('sweep scheduling on in-memory doubles', () => {
  it('fills every slot, prepares one idea beyond them until a run finished, and never runs more than --parallel', async () => {
    const run = memorySweep({ ideas: 6, search: 'evolve', parallel: 3 });
    const sandbox = new ScriptedSandbox();
    const done = run.sweep({ sandbox });

    await until(() => sandbox.pending.length === 3, 'three runs at once');
    await settled();
    // Baseline and ideas 1-2 hold the slots; idea 3 is coded and waits for one; nothing more is proposed.
    expect(sandbox.pending.map((p) => p.request.ideaId).sort()).toEqual([0, 1, 2]);
    const early = run.store.ideas();
    expect(early.map((idea) => idea.status)).toEqual(['running', 'running', 'running', 'ready']);

    while (sandbox.pending.length > 0) {
      // However the lookahead adapts to run and preparing times, it never prepares more than one idea per slot.
      const waiting = run.store.ideas().filter((idea) => idea.status === 'ready' || idea.status === 'proposed');
      expect(waiting.length).toBeLessThanOrEqual(3);
      const next = sandbox.pending[0];
      next.finish(quadraticScore(next.request));
      await settled();
    }
    const summary = await done;
    expect(summary.stoppedBy).toBe('budget');
    expect(summary.ideas).toHaveLength(7);
    expect(summary.ideas.every(isFinished)).toBe(true);
    expect(sandbox.mostAtOnce).toBe(3);
    expect(sandbox.started).toHaveLength(7); // one run per idea, the baseline included
    expect(run.workspace.liveWorktrees).toBe(0);
    const statuses = run.events.flatMap((event) => (event.type === 'status' ? [event.status] : []));
    expect(Math.max(...statuses.map((status) => status.running))).toBe(3);
    expect(statuses.at(-1)).toMatchObject({ finished: 6, running: 0, preparing: 0 });
  });

  it('serial search proposes each idea only once the one before has finished, and picks the best', async () => {
    const run = memorySweep({ ideas: 3, search: 'serial' });
    const thinker = new ScriptedThinker([{ title: 'x=2' }, { title: 'x=3' }, { title: 'x=5' }]);
    const sandbox = new ScriptedSandbox(quadraticScore);
    const summary = await run.sweep({ thinker, sandbox });

    expect(sandbox.started.map((request) => request.ideaId)).toEqual([0, 1, 2, 3]);
    expect(thinker.calls.map((call) => call.ideaId)).toEqual([1, 2, 3]);
    for (const call of thinker.calls) {
      // Everything before the idea is finished when it is proposed.
      expect(call.history.map((idea) => [idea.id, isFinished(idea)])).toEqual(Array.from({ length: call.ideaId }, (_, id) => [id, true]));
    }
    expect(summary.stoppedBy).toBe('budget');
    expect(summary.best?.id).toBe(2); // x=3 scores 0, the maximum
    expect(summary.ideas.map((idea) => idea.reward)).toEqual([-6.25, -1, 0, -4]);
  });

  it('parallel search runs rounds: the next round is proposed once the whole last one has finished', async () => {
    const run = memorySweep({ ideas: 4, search: 'parallel', parallel: 2 });
    const thinker = new ScriptedThinker([{ title: 'x=1' }, { title: 'x=2' }, { title: 'x=4' }, { title: 'x=6' }]);
    const sandbox = new ScriptedSandbox();
    const done = run.sweep({ thinker, sandbox });

    await until(() => sandbox.pending.length === 2, 'the baseline and idea 1 running');
    await settled();
    expect(thinker.calls.map((call) => call.ideaId)).toEqual([1, 2]); // round 0 only
    for (let finished = 0; finished < 5; finished++) {
      await until(() => sandbox.pending.length > 0, 'a pending run');
      const next = sandbox.pending[0];
      next.finish(quadraticScore(next.request));
      await settled();
    }
    const summary = await done;
    expect(summary.stoppedBy).toBe('budget');
    const round = (id: number) => summary.ideas[id].meta.round;
    expect([1, 2, 3, 4].map(round)).toEqual([0, 0, 1, 1]);
    for (const call of thinker.calls.filter((c) => c.ideaId >= 3)) {
      const seen = byId(call.history as IdeaRecord[]);
      expect([1, 2].map((id) => seen.get(id)?.status)).toEqual(['succeeded', 'succeeded']);
    }
    for (const call of thinker.calls.filter((c) => c.ideaId <= 2)) {
      expect(call.history.filter((idea) => idea.id > 0).every((idea) => !isFinished(idea))).toBe(true);
    }
    expect(sandbox.mostAtOnce).toBe(2);
  });

  it('records every kind of failure on its idea and goes on with the next', async () => {
    const run = memorySweep({ ideas: 6, search: 'serial', repairRounds: 2 });
    const thinker = new ScriptedThinker([
      { title: 'x=2' },
      new Error('the thinker is down'),
      { title: 'no knob here' },
      { title: 'x=9' },
      { title: 'x=5' },
      { title: 'x=7 against stale code' },
    ]);
    const base = knobCoder();
    const coder = new ScriptedCoder((idea, context, feedback) =>
      idea.title.includes('stale')
        ? { kind: 'search-replace', blocks: [{ path: 'config.py', search: 'X = 42', replace: 'X = 7' }] }
        : base.implement(idea, context, feedback).then(
            (r) => r.value,
            (e: Error) => e,
          ),
    );
    const sandbox = new ScriptedSandbox((request) => {
      const x = knobValue(request);
      if (x > 8) return { exitCode: 1 };
      if (x === 5) return { engineError: 'the engine lost the host' };
      return quadraticScore(request);
    });
    const summary = await run.sweep({ thinker, coder, sandbox });

    expect(summary.stoppedBy).toBe('budget');
    const ideas = byId(summary.ideas);
    const outcome = (id: number) => [ideas.get(id)!.status, ideas.get(id)!.failureReason];
    expect([1, 2, 3, 4, 5, 6].map(outcome)).toEqual([
      ['succeeded', null],
      ['failed', 'agent-error'],
      ['failed', 'agent-error'],
      ['failed', 'crashed'],
      ['failed', 'infrastructure'],
      ['failed', 'patch-failed'],
    ]);
    expect(ideas.get(2)!.error).toMatch(/^the thinker failed: .*the thinker is down/);
    expect(ideas.get(3)!.error).toMatch(/^the coder failed: .*names no x=<value>/);
    expect(ideas.get(5)!.error).toMatch(/the engine lost the host/);
    expect(ideas.get(6)!.error).toMatch(/^the edit did not apply after 3 attempt\(s\)/);
    // The stale edit got its repair rounds, each told about the attempts before it.
    expect(coder.calls.filter((call) => call.ideaId === 6).map((call) => call.feedback)).toEqual([0, 1, 2]);
    expect(summary.best?.id).toBe(1);
    expect(run.workspace.liveWorktrees).toBe(0);
  });

  it('at --max-cost keeps the idea it could not pay for, and a resume with more budget carries on', async () => {
    const run = memorySweep({ ideas: 4, search: 'serial', maxCostUsd: 1 });
    const payingThinker = () =>
      new ScriptedThinker([
        (context) => {
          context.ledger.record({
            role: 'thinker',
            provider: 'scripted',
            model: 'scripted',
            cacheKey: null,
            usage: { inputTokens: 1, cachedTokens: 0, cacheWriteTokens: 0, outputTokens: 1, costUsd: 0.6 },
            latencyMs: 1,
            response: null,
          });
          return { title: `x=${context.ideaId + 1}` };
        },
      ]);
    const first = payingThinker();
    const stopped = await run.sweep({ thinker: first });
    expect(stopped.stoppedBy).toBe('max-cost');
    expect(run.events).toContainEqual({ type: 'stopping', reason: 'max-cost', hardStop: false });
    expect(stopped.ideas.map((idea) => [idea.id, isFinished(idea)])).toEqual([
      [0, true],
      [1, true],
      [2, false],
    ]);
    expect(run.store.usage().costUsd).toBeCloseTo(1.2);

    run.store.setMeta('config', { ...run.store.config, maxCostUsd: 10 });
    const second = payingThinker();
    const resumed = await run.sweep({ thinker: second });
    expect(resumed.stoppedBy).toBe('budget');
    expect(resumed.ideas).toHaveLength(5);
    expect(resumed.ideas.every(isFinished)).toBe(true);
    // Idea 2's proposal was paid for before the stop: it is kept, not asked for again.
    expect(second.calls.map((call) => call.ideaId)).toEqual([3, 4]);
    expect(resumed.ideas[2].title).toBe('x=3');
  });

  it('an interrupted sweep leaves its in-flight ideas for resume, which finishes exactly those and no more', async () => {
    const run = memorySweep({ ideas: 4, search: 'evolve', parallel: 2 });
    // Ideas 1 and 2 are proposed at once; every later proposal waits until the sweep is stopped.
    const thinker = new ScriptedThinker([{ title: 'x=2' }, { title: 'x=4' }, () => new Promise(() => {})]);
    const sandbox = new ScriptedSandbox();
    const stop = new AbortController();
    const done = run.sweep({ thinker, sandbox, signal: stop.signal });

    await until(() => sandbox.pending.length === 2, 'the baseline and idea 1 running');
    sandbox.finish(0, quadraticScore(sandbox.pending.find((p) => p.request.ideaId === 0)!.request));
    await until(() => sandbox.pending.length === 2 && thinker.calls.length >= 3, 'ideas 1 and 2 running, idea 3 being proposed');
    stop.abort();
    const stopped = await done;

    expect(stopped.stoppedBy).toBe('interrupted');
    const before = byId(run.store.ideas());
    expect(before.get(0)!.status).toBe('succeeded');
    expect([1, 2].map((id) => before.get(id)!.status)).toEqual(['ready', 'ready']); // coded, back in the queue
    const halfProposed = [...before.values()].filter((idea) => idea.meta.proposing === true).map((idea) => idea.id);
    expect(halfProposed).toContain(3);
    expect([...before.values()].some((idea) => idea.status === 'failed')).toBe(false);
    expect(run.store.runningEvaluations()).toEqual([]);
    const commits = [1, 2].map((id) => before.get(id)!.commit);

    const again = new ScriptedThinker([(context) => ({ title: `x=${context.ideaId + 3}` })]);
    const coder = knobCoder();
    const resumedSandbox = new ScriptedSandbox(quadraticScore);
    const resumed = await run.sweep({ thinker: again, coder, sandbox: resumedSandbox });

    expect(resumed.stoppedBy).toBe('budget');
    expect(resumed.ideas).toHaveLength(5);
    expect(resumed.ideas.every(isFinished)).toBe(true);
    expect(run.events).toContainEqual({
      type: 'resumed',
      requeued: [...before.values()].filter((idea) => !isFinished(idea)).map((idea) => idea.id),
    });
    // Ideas 1 and 2 run from the commits they had, once; only ideas never fully proposed are proposed.
    expect(coder.calls.map((call) => call.ideaId)).not.toContain(1);
    expect(coder.calls.map((call) => call.ideaId)).not.toContain(2);
    expect([1, 2].map((id) => resumed.ideas[id].commit)).toEqual(commits);
    expect(
      resumedSandbox.started
        .filter((request) => request.ideaId <= 2)
        .map((request) => request.ideaId)
        .sort(),
    ).toEqual([1, 2]);
    expect(again.calls.map((call) => call.ideaId).sort()).toEqual([...halfProposed, ...(before.has(4) ? [] : [4])].sort());
  });
});
