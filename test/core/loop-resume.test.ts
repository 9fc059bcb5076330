/**
 * A killed evolve sweep resumes the same search: `kill -9` mid-sweep, `researcher resume`, and the
 * run ends with as many ideas as an unkilled sweep, none re-run, and the evolve state (islands,
 * children, ideas seen) carried across the kill exactly.
 */
import { execFile, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { IdeaRecord } from '../../src/core/types.ts';
import { RunStore } from '../../src/store/run-store.ts';
import { REPO_ROOT, copyEnvironment, tempDir } from '../helpers/sweep.ts';

const CLI = path.join(REPO_ROOT, 'bin/researcher.js');
const IDEAS = 5;

interface EvolveState {
  islands: { members: number[]; seeded: number }[];
  children: Record<string, number>;
  finished: number;
}

const isFinished = (idea: IdeaRecord) => idea.status === 'succeeded' || idea.status === 'failed';

function cli(args: string[]): Promise<string> {
  return promisify(execFile)(process.execPath, [CLI, ...args], { encoding: 'utf8' }).then((result) => result.stdout);
}

function sweepArgs(environmentDir: string, runsDir: string, runId: string): string[] {
  return [
    'run',
    environmentDir,
    '--search',
    'evolve',
    '--ideas',
    String(IDEAS),
    '--parallel',
    '2',
    '--seed',
    '7',
    // One evaluation per idea, as the assertions below count (no extra baseline or confirmation seeds).
    '--baseline-seeds',
    '1',
    '--confirm-seeds',
    '0',
    '--runs-dir',
    runsDir,
    '--run-id',
    runId,
  ];
}

/** The evolve state must account for every idea exactly once. */
function expectConsistentState(store: RunStore): EvolveState {
  const state = store.getMeta<EvolveState>('searchState')!;
  const ideas = store.ideas().filter((i) => i.id > 0);
  expect(state.finished).toBe(ideas.filter(isFinished).length); // each result observed once
  const children = Object.values(state.children).reduce((a, b) => a + b, 0);
  expect(children).toBe(ideas.filter((i) => i.parentId !== null).length); // each child counted once
  expect(state.islands.reduce((sum, island) => sum + island.seeded, 0)).toBe(ideas.filter((i) => i.parentId === null).length);
  return state;
}

describe('evolve resume after kill -9', () => {
  it('ends with the same number of ideas as an unkilled sweep, re-running nothing', { timeout: 300_000 }, async () => {
    const environmentDir = copyEnvironment();
    const train = path.join(environmentDir, 'code/train.py');
    // Slow enough that ideas are always in flight when the researcher is killed.
    writeFileSync(train, `import time\ntime.sleep(1)\n${readFileSync(train, 'utf8')}`);
    const runsDir = tempDir('researcher-runs-');

    // The unkilled sweep runs alongside the one we kill.
    const unkilled = cli(sweepArgs(environmentDir, runsDir, 'whole'));
    const child = spawn(process.execPath, [CLI, ...sweepArgs(environmentDir, runsDir, 'killed')], { stdio: 'ignore' });
    const runDir = path.join(runsDir, 'killed');
    let store: RunStore | undefined;
    await expect
      .poll(
        () => {
          try {
            store ??= RunStore.open(runDir);
            const ideas = store.ideas().filter((i) => i.id > 0);
            // Mid-sweep: some ideas finished (so the population has members), others in flight.
            return ideas.filter(isFinished).length >= 2 && ideas.some((i) => !isFinished(i));
          } catch {
            return false;
          }
        },
        { timeout: 120_000, interval: 100 },
      )
      .toBe(true);
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));

    const before = store!.ideas().filter((i) => i.id > 0 && isFinished(i));
    const stateBefore = expectConsistentState(store!);
    expect(stateBefore.islands.some((island) => island.members.length > 0)).toBe(true);

    expect(await cli(['resume', runDir])).toMatch(/resuming run killed/);
    await unkilled;

    const whole = RunStore.open(path.join(runsDir, 'whole'));
    const after = store!.ideas();
    expect(after).toHaveLength(whole.ideas().length);
    expect(after).toHaveLength(IDEAS + 1);
    expect(after.every(isFinished)).toBe(true);
    for (const idea of before) {
      const again = after.find((i) => i.id === idea.id)!;
      expect(again.finishedAt).toBe(idea.finishedAt); // not re-run
      expect(again.reward).toBe(idea.reward);
    }
    for (const idea of after.filter((i) => i.status === 'succeeded')) {
      expect(store!.evaluations(idea.id).map((e) => e.status)).toEqual(['succeeded']);
    }
    // The population of before the kill carried over: its members are still known to the state,
    // and the state still accounts for every idea exactly once.
    const stateAfter = expectConsistentState(store!);
    expect(stateAfter.finished).toBe(IDEAS);
    expect(stateAfter.finished).toBe(expectConsistentState(whole).finished);
    for (const [parent, count] of Object.entries(stateBefore.children)) expect(stateAfter.children[parent]).toBeGreaterThanOrEqual(count);
    whole.close();
    store!.close();
  });
});
