/**
 * Budgets other than the idea count: on reaching --max-cost (or --max-hours, same path) the sweep
 * stops preparing ideas, lets running evaluations finish (or stops them with --hard-stop), keeps
 * what did not run for `resume`, and returns normally.
 */
import { readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AgentResult, ResearchContext, Thinker } from '../../src/core/interfaces.ts';
import { ZERO_USAGE, type IdeaDraft } from '../../src/core/types.ts';
import { copyEnvironment, createTestRun, scriptedCoder, setX } from '../helpers/sweep.ts';

/** The environment's run sleeps `seconds` for every idea (the baseline, X = 0.5, does not). */
function slowIdeas(seconds: number): string {
  const dir = copyEnvironment();
  const train = path.join(dir, 'code/train.py');
  writeFileSync(
    train,
    `${readFileSync(train, 'utf8').replace('seed = int', `import time\nif X != 0.5:\n    time.sleep(${seconds})\nseed = int`)}`,
  );
  const yaml = path.join(dir, 'environment.yaml');
  writeFileSync(yaml, readFileSync(yaml, 'utf8').replace('timeout: 20s', 'timeout: 300s'));
  return dir;
}

/**
 * A thinker whose n-th proposal costs costs[n] dollars, recorded through the run's ledger. A costly
 * proposal first waits until `ready()` (e.g. until an evaluation is running).
 */
function pricedThinker(costs: number[], ready: () => boolean = () => true): Thinker & { calls: number } {
  const thinker = {
    name: 'priced',
    calls: 0,
    async propose(context: ResearchContext): Promise<AgentResult<IdeaDraft>> {
      const n = thinker.calls++;
      if (costs[Math.min(n, costs.length - 1)] > 0) {
        while (!ready()) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const usage = { ...ZERO_USAGE, costUsd: costs[Math.min(n, costs.length - 1)] };
      context.ledger.record({ role: 'thinker', provider: 'test', model: 'priced', cacheKey: null, usage, latencyMs: 0, response: null });
      return { value: { title: `idea number ${n + 1}`, hypothesis: 'h', plan: `plan ${n + 1}`, expectedEffect: '' }, usage };
    },
  };
  return thinker;
}

/** Processes whose working directory is inside `dir`. */
function processesUnder(dir: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/cwd`).startsWith(dir)) found.push(Number(entry));
    } catch {
      // gone, or not ours to read
    }
  }
  return found;
}

describe('budgets', () => {
  it('at --max-cost lets the running evaluation finish, keeps the unstarted idea, and resume carries on', async () => {
    const run = await createTestRun(slowIdeas(2), {
      ideas: 3,
      search: 'evolve',
      parallel: 2,
      maxCostUsd: 1,
      searchOptions: { islands: 1, seedIdeas: 5 },
    });
    const thinker = pricedThinker([0, 5, 0], () => run.store.runningEvaluations().some((e) => e.ideaId > 0));
    const coder = scriptedCoder([setX('3'), setX('2'), setX('4')]);
    const summary = await run.sweep({ thinker, coder });

    expect(summary.stoppedBy).toBe('max-cost');
    const ideas = run.store.ideas().filter((i) => i.id > 0);
    // The idea that was running when the limit came finished; the others were being prepared or
    // waiting for a slot: none of them ran, all are kept for resume.
    const ran = ideas.filter((i) => i.status === 'succeeded');
    const kept = ideas.filter((i) => i.status !== 'succeeded');
    expect(ran.length).toBeGreaterThan(0);
    expect(kept.length).toBeGreaterThan(0);
    for (const idea of kept) {
      expect(idea.status).toMatch(/^(proposed|ready)$/);
      expect(run.store.evaluations(idea.id)).toEqual([]);
    }
    expect(run.events.some((e) => e.type === 'stopping' && e.reason === 'max-cost' && !e.hardStop)).toBe(true);
    const proposedBefore = thinker.calls;
    const stillProposing = kept.filter((idea) => idea.meta.proposing).length;

    // Resume with a higher limit: kept ideas run without being proposed again, nothing is re-run.
    run.store.setMeta('config', { ...run.store.config, maxCostUsd: 100 });
    const resumed = await run.sweep({ thinker, coder });
    expect(resumed.stoppedBy).toBe('budget');
    const after = run.store.ideas();
    expect(after).toHaveLength(4);
    expect(after.every((i) => i.status === 'succeeded')).toBe(true);
    // Only drafts never written are proposed again (and ideas the first sweep never got to).
    expect(thinker.calls).toBe(proposedBefore + stillProposing + (3 - ideas.length));
    for (const idea of ran) expect(run.store.evaluations(idea.id)).toHaveLength(1); // not re-run
    expect(after[2].title).toBe('idea number 2');
  });

  it('with --hard-stop stops running evaluations too, kills their processes and exits normally', async () => {
    const run = await createTestRun(slowIdeas(120), {
      ideas: 4,
      search: 'evolve',
      parallel: 2,
      maxCostUsd: 1,
      hardStop: true,
      searchOptions: { islands: 1, seedIdeas: 5 },
    });
    // Priced once ideas 1 and 2 both run (or, on a loaded machine where one of them is slow to
    // get its slot, once one has run for a while: the hard stop is tested either way).
    const since = Date.now();
    const thinker = pricedThinker([0, 0, 5], () => {
      const running = run.store.runningEvaluations().filter((e) => e.ideaId > 0).length;
      return running >= 2 || (running >= 1 && Date.now() - since > 30_000);
    });
    const coder = scriptedCoder([setX('3'), setX('2'), setX('4')]);
    // The third proposal passes the limit; by then ideas 1 and 2 are running 120 s runs.
    const summary = await run.sweep({ thinker, coder });

    expect(summary.stoppedBy).toBe('max-cost');
    const ideas = run.store.ideas().filter((i) => i.id > 0);
    expect(ideas.every((i) => i.status === 'proposed' || i.status === 'ready')).toBe(true); // all kept for resume
    expect(run.store.runningEvaluations()).toEqual([]);
    expect(run.events.some((e) => e.type === 'stopping' && e.hardStop === true)).toBe(true);
    expect(processesUnder(path.join(run.runDir, 'worktrees'))).toEqual([]);
  });

  it('at --max-hours stops dispatching and returns, keeping unstarted ideas; an exhausted limit returns at once', async () => {
    const run = await createTestRun(slowIdeas(4), { ideas: 3, search: 'evolve', parallel: 2, maxHours: 1 });
    // As if earlier sessions had used all but 3 seconds of the hour.
    run.store.setMeta('activeMs', 3_600_000 - 3_000);
    const summary = await run.sweep();
    expect(summary.stoppedBy).toBe('max-hours');
    for (const idea of run.store.ideas().filter((i) => i.id > 0)) {
      // Either it was running and finished, or it never started and is kept for resume.
      if (idea.status !== 'succeeded') {
        expect(idea.status).toMatch(/^(proposed|ready)$/);
        expect(run.store.evaluations(idea.id)).toEqual([]);
      }
    }
    expect(run.store.runningEvaluations()).toEqual([]);
    expect(run.events.some((e) => e.type === 'stopping' && e.reason === 'max-hours')).toBe(true);

    // Resumed with the hour used up, the sweep stops at once and runs nothing.
    const evaluations = run.store.evaluations().length;
    expect((await run.sweep()).stoppedBy).toBe('max-hours');
    expect(run.store.evaluations()).toHaveLength(evaluations);
  });
});
