/**
 * `researcher compare`: two real sweeps of the quadratic fixture (different researcher seeds and
 * budgets) compared on best reward, best reward at equal numbers of ideas, and cost.
 */
import path from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.ts';
import type { Goal } from '../../src/core/ideas.ts';
import { compareRuns, type RunComparison } from '../../src/report/compare-runs.ts';
import { summarizeRun, type RunSummary } from '../../src/report/run-summary.ts';
import { RunStore } from '../../src/store/run-store.ts';
import { QUADRATIC, tempDir } from '../helpers/sweep.ts';

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const log = vi.spyOn(console, 'log').mockImplementation((...parts: unknown[]) => void (out += `${parts.join(' ')}\n`));
  const error = vi.spyOn(console, 'error').mockImplementation((...parts: unknown[]) => void (err += `${parts.join(' ')}\n`));
  try {
    return { code: await main(args), out, err };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

function summaryOf(runDir: string): RunSummary {
  const store = RunStore.open(runDir);
  try {
    return summarizeRun(store);
  } finally {
    store.close();
  }
}

/** Best reward among the first n ideas to finish, computed straight from the summary. */
function bestOfFirst(summary: RunSummary, n: number, goal: Goal = 'maximize'): number | null {
  const finished = summary.ideas
    .filter((i) => i.id !== 0 && i.finishedAt)
    .sort((a, b) => Date.parse(a.finishedAt!) - Date.parse(b.finishedAt!) || a.id - b.id)
    .slice(0, n)
    .filter((i) => i.reward !== null)
    .map((i) => i.reward!);
  if (finished.length === 0) return null;
  return goal === 'maximize' ? Math.max(...finished) : Math.min(...finished);
}

describe('researcher compare', () => {
  let runA: string;
  let runB: string;
  let a: RunSummary;
  let b: RunSummary;

  beforeAll(async () => {
    const runs = tempDir('researcher-compare-');
    expect((await cli('run', QUADRATIC, '--ideas', '3', '--seed', '0', '--runs-dir', runs, '--run-id', 'wide')).code).toBe(0);
    expect(
      (await cli('run', QUADRATIC, '--ideas', '2', '--seed', '6', '--build-on', 'best', '--runs-dir', runs, '--run-id', 'deep')).code,
    ).toBe(0);
    runA = path.join(runs, 'wide');
    runB = path.join(runs, 'deep');
    a = summaryOf(runA);
    b = summaryOf(runB);
  }, 180_000);

  it('reports best reward, best reward at equal numbers of ideas, and cost, as JSON', async () => {
    const { code, out } = await cli('compare', runA, runB, '--json');
    expect(code).toBe(0);
    const comparison = JSON.parse(out) as RunComparison;
    const bestOf = (s: RunSummary) => Math.max(...s.ideas.filter((i) => i.id !== 0 && i.reward !== null).map((i) => i.reward!));

    expect(comparison.a).toMatchObject({ runId: 'wide', environment: 'quadratic', ideasFinished: 3, costUsd: 0, gpuHours: 0 });
    expect(comparison.b).toMatchObject({ runId: 'deep', environment: 'quadratic', ideasFinished: 2 });
    expect(comparison.a.best!.reward).toBe(bestOf(a));
    expect(comparison.b.best!.reward).toBe(bestOf(b));
    expect(comparison.bestLeader).toBe(bestOf(a) > bestOf(b) ? 'a' : bestOf(a) < bestOf(b) ? 'b' : 'tie');

    // The race is run over the ideas both runs have: 2.
    expect(comparison.checkpoints.map((c) => c.ideas)).toEqual([1, 2]);
    for (const checkpoint of comparison.checkpoints) {
      expect(checkpoint.a).toBe(bestOfFirst(a, checkpoint.ideas));
      expect(checkpoint.b).toBe(bestOfFirst(b, checkpoint.ideas));
    }
    expect(comparison.a.evaluations).toBe(a.ideas.reduce((n, i) => n + i.evaluations.length, 0));
    expect(comparison.a.computeHours).toBeGreaterThan(0);
    expect(comparison.notes).toEqual(['the runs finished different numbers of ideas (3 and 2): compare them at 2 ideas for a fair race']);
  });

  it('prints a side-by-side table for people', async () => {
    const { code, out } = await cli('compare', runA, runB);
    expect(code).toBe(0);
    expect(out).toMatch(/^\s+A\s+B\n/);
    expect(out).toMatch(/run\s+wide\s+deep/);
    expect(out).toMatch(/ideas finished\s+3 \(\d failed\)\s+2 \(\d failed\)/);
    expect(out).toContain('best reward after the first N ideas of each (in the order they finished):');
    expect(out).toMatch(/dollars\s+\$0\.0000\s+\$0\.0000/);
    expect(out).toMatch(/(A|B) found the better best idea \(.* beyond noise|no winner beyond noise \(/);
    expect(out).toContain('note: the runs finished different numbers of ideas (3 and 2)');
  });

  it('follows the goal and flags runs that are not comparable', () => {
    const minimizing = compareRuns({ ...a, goal: 'minimize' }, { ...b, goal: 'minimize' });
    expect(minimizing.checkpoints[1].a).toBe(bestOfFirst(a, 2, 'minimize'));
    const [x, y] = [minimizing.checkpoints[1].a!, minimizing.checkpoints[1].b!];
    expect(minimizing.checkpoints[1].leader).toBe(x < y ? 'a' : x > y ? 'b' : 'tie');

    const elsewhere = compareRuns(a, { ...b, run: { ...b.run, environmentName: 'grpo-tiny' } });
    expect(elsewhere.notes[0]).toBe(
      'the runs are on different environments (quadratic and grpo-tiny): their rewards may not be comparable',
    );
    const opposite = compareRuns(a, { ...b, goal: 'minimize' });
    expect(opposite.bestLeader).toBeNull();
    expect(opposite.notes).toContain('the runs optimise in different directions (maximize and minimize): no leader is named');
  });

  it('refuses bad input in one line', async () => {
    const missing = await cli('compare', runA);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/^error: expected two run folders/);
    const notARun = await cli('compare', runA, tempDir());
    expect(notARun.code).toBe(2);
    expect(notARun.err.trim().split('\n')).toHaveLength(1);
    expect(notARun.err).toMatch(/is not a run: run\.db is missing/);
  });
});
