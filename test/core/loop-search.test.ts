/**
 * The search strategies inside real sweeps (real git repository, SQLite store, local sandbox,
 * python) on the quadratic fixture with the offline agent or scripted agents.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AgentResult, Thinker } from '../../src/core/interfaces.ts';
import type { SweepEvent } from '../../src/core/progress.ts';
import { ZERO_USAGE, type IdeaDraft, type IdeaRecord } from '../../src/core/types.ts';
import { copyEnvironment, createTestRun, QUADRATIC, scriptedCoder, setX } from '../helpers/sweep.ts';

const finished = (idea: IdeaRecord) => idea.status === 'succeeded' || idea.status === 'failed';

function isAncestor(repoDir: string, ancestor: string, commit: string): boolean {
  try {
    execFileSync('git', ['merge-base', '--is-ancestor', ancestor, commit], { cwd: repoDir });
    return true;
  } catch {
    return false;
  }
}

/** A thinker that writes the given titles in order and records every context it saw. */
function recordingThinker(titles: string[]): Thinker & { instructions: (string | undefined)[] } {
  let next = 0;
  const thinker = {
    name: 'recording',
    instructions: [] as (string | undefined)[],
    async propose(context: { instruction?: string }): Promise<AgentResult<IdeaDraft>> {
      thinker.instructions.push(context.instruction);
      const title = titles[Math.min(next++, titles.length - 1)];
      return { value: { title, hypothesis: 'h', plan: title, expectedEffect: '' }, usage: ZERO_USAGE };
    },
  };
  return thinker;
}

describe('search strategies in real sweeps', () => {
  it('serial, parallel and evolve each complete a sweep with the offline agent', async () => {
    const runs = await Promise.all([
      createTestRun(QUADRATIC, { ideas: 2, search: 'serial', buildOn: 'best' }),
      createTestRun(QUADRATIC, { ideas: 4, search: 'parallel', parallel: 2 }),
      // One slot: idea 3 is proposed when idea 2 starts, i.e. after idea 1 finished and joined the population.
      createTestRun(QUADRATIC, { ideas: 4, search: 'evolve', parallel: 1, searchOptions: { islands: 1, seedIdeas: 1 } }),
    ]);
    const [serial, parallel, evolve] = runs;
    const summaries = await Promise.all(runs.map((run) => run.sweep()));
    expect(summaries.map((s) => s.stoppedBy)).toEqual(['budget', 'budget', 'budget']);

    for (const [run, count] of [
      [serial, 2],
      [parallel, 4],
      [evolve, 4],
    ] as const) {
      const ideas = run.store.ideas();
      expect(ideas).toHaveLength(count + 1);
      expect(ideas.every(finished)).toBe(true);
      expect(ideas.filter((i) => i.status === 'succeeded').length).toBeGreaterThan(1); // the baseline and at least one idea
    }

    // Parallel: two rounds of two on the base commit; round 1 was proposed after round 0 finished.
    const rounds = parallel.store.ideas().filter((i) => i.id > 0);
    expect(rounds.map((i) => i.meta.round)).toEqual([0, 0, 1, 1]);
    expect(rounds.every((i) => i.parentId === null)).toBe(true);
    const roundZeroDone = Math.max(...rounds.filter((i) => i.meta.round === 0).map((i) => Date.parse(i.finishedAt!)));
    for (const idea of rounds.filter((i) => i.meta.round === 1)) expect(Date.parse(idea.createdAt)).toBeGreaterThanOrEqual(roundZeroDone);

    // Evolve: after its seeds on the base commit, children build on a parent's commit.
    const children = evolve.store.ideas().filter((i) => i.parentId !== null);
    expect(children.length).toBeGreaterThan(0);
    for (const child of children.filter((i) => i.commit)) {
      const parent = evolve.store.idea(child.parentId!)!;
      expect(parent.status).toBe('succeeded');
      expect(isAncestor(evolve.workspace.repoDir, parent.commit!, child.commit!)).toBe(true);
      expect(child.meta).toMatchObject({ island: 0, generation: (parent.meta.generation as number) + 1 });
    }
    const state = evolve.store.getMeta<{ finished: number; islands: { members: number[] }[] }>('searchState')!;
    expect(state.finished).toBe(4);
    expect(state.islands[0].members.length).toBeGreaterThan(0);

    // Serial --build-on best: each idea builds on the best idea before it (or the base).
    for (const idea of serial.store.ideas().filter((i) => i.parentId !== null)) {
      expect(serial.store.idea(idea.parentId!)!.status).toBe('succeeded');
    }
  });

  it('rejects a near-duplicate idea before coding or running it, after asking the thinker again', async () => {
    const run = await createTestRun(QUADRATIC, { ideas: 2, search: 'evolve', searchOptions: { islands: 1, seedIdeas: 5 } });
    const thinker = recordingThinker(['x 0.5 → 3', 'x 0.5 → 3.01']);
    const coder = scriptedCoder([setX('3')]);
    await run.sweep({ thinker, coder });

    const [, first, second] = run.store.ideas();
    expect(first.status).toBe('succeeded');
    expect(second).toMatchObject({ status: 'failed', failureReason: 'duplicate' });
    expect(second.error).toMatch(/nearly repeats idea 1/);
    expect(run.store.evaluations(second.id)).toEqual([]); // no GPU time
    expect(second.commit).toBeNull(); // not even coded
    expect(coder.calls).toBe(1);
    // Asked once, then twice more with the reason.
    expect(thinker.instructions).toHaveLength(4);
    expect(thinker.instructions[3]).toMatch(/rejected: .*nearly repeats idea 1.*Propose something clearly different/s);
  });

  it('re-evaluates a would-be best with extra seeds and picks the best on the re-evaluated mean', async () => {
    const environmentDir = copyEnvironment();
    // A noisy evaluator: x = 3.5 scores high under seed 0 only (a lucky seed).
    const score = path.join(environmentDir, 'evaluator/score.py');
    writeFileSync(
      score,
      readFileSync(score, 'utf8').replace('score = 10', 'score = (0.6 if prediction["x"] == 3.5 and prediction["seed"] == 0 else 0) + 10'),
    );
    const run = await createTestRun(environmentDir, { ideas: 3, seeds: 1, confirmSeeds: 2 });
    const thinker = recordingThinker(['lucky', 'solid', 'worse']);
    const summary = await run.sweep({ thinker, coder: scriptedCoder([setX('3.5'), setX('3'), setX('1')]) });

    const [, lucky, solid, worse] = run.store.ideas();
    expect(run.store.evaluations(lucky.id).map((e) => e.seed)).toEqual([0, 1, 2]);
    expect(run.store.evaluations(solid.id).map((e) => e.seed)).toEqual([0, 1, 2]);
    expect(run.store.evaluations(worse.id).map((e) => e.seed)).toEqual([0]); // not a candidate: one seed
    expect(lucky.rewardCount).toBe(3);
    // Under seed 0 alone "lucky" (10.35) beats "solid" (10.0); on the re-evaluated mean it does not.
    expect(run.store.evaluations(lucky.id)[0].reward).toBeGreaterThan(run.store.evaluations(solid.id)[0].reward!);
    expect(summary.best?.id).toBe(solid.id);
    expect(lucky.rewardStd).toBeGreaterThan(0);
    const confirming = run.events.filter((e): e is Extract<SweepEvent, { type: 'confirming' }> => e.type === 'confirming');
    expect(confirming.map((e) => e.ideaId)).toEqual([lucky.id, solid.id]);
  });

  it('keeps every slot busy: a prepared idea waits while K evaluations run, never more than K', async () => {
    const environmentDir = copyEnvironment();
    const train = path.join(environmentDir, 'code/train.py');
    // Runs much longer than preparing an idea (instant agents), so a prepared idea must be waiting.
    writeFileSync(train, `import time\ntime.sleep(3)\n${readFileSync(train, 'utf8')}`);
    const run = await createTestRun(environmentDir, { ideas: 4, search: 'evolve', parallel: 2 });
    await run.sweep({
      thinker: recordingThinker(['x 3', 'x 2', 'x 4', 'x 1']),
      coder: scriptedCoder([setX('3'), setX('2'), setX('4'), setX('1')]),
    });
    const statuses = run.events.flatMap((e) => (e.type === 'status' ? [e.status] : []));
    expect(Math.max(...statuses.map((s) => s.running))).toBe(2);
    // While both slots ran, the next idea was already prepared, so it could start at once.
    expect(statuses.some((s) => s.running === 2 && s.preparing >= 1)).toBe(true);
    // Overlap, shown by the store: some evaluation started before another one finished.
    const evaluations = run.store.evaluations().filter((e) => e.ideaId > 0);
    const overlaps = evaluations.some((a) =>
      evaluations.some((b) => a !== b && a.startedAt < b.finishedAt! && b.startedAt < a.finishedAt!),
    );
    expect(overlaps).toBe(true);
    const last = statuses[statuses.length - 1];
    expect(last).toMatchObject({ ideas: 4, finished: 4, running: 0, preparing: 0 });
  });
});
