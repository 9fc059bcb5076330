/**
 * A real run with learning curves, for the curve tests: a sweep on the quadratic fixture (one
 * good idea, one that crashes; two baseline seeds), whose evaluations then get progress points
 * through the store's own recordProgress, as the sweep records them while runs report; and one
 * more idea left running, its curve part-way, as a live sweep leaves the store between two polls.
 */
import { createTestRun, QUADRATIC, scriptedCoder, scriptedThinker, setX } from '../helpers/sweep.ts';

/** Steps 0, 10, …, 100: a full run. */
export const FULL = Array.from({ length: 11 }, (_, i) => i * 10);

export interface CurveRun {
  runDir: string;
  /** The idea still running (id), with its curve up to step 40. */
  runningId: number;
}

export async function createCurveRun(): Promise<CurveRun> {
  const run = await createTestRun(QUADRATIC, { ideas: 2, seeds: 1, baselineSeeds: 2, confirmSeeds: 0, repairRounds: 0 });
  await run.sweep({
    thinker: scriptedThinker([
      { title: 'x to 2', hypothesis: 'closer to the target' },
      { title: 'x to 9', hypothesis: 'past the point where training diverges' },
    ]),
    coder: scriptedCoder([setX('2'), setX('9')]),
  });
  const { store } = run;
  const at = (steps: number[], value: (step: number) => number) => steps.map((step) => ({ step, value: value(step), atMs: step * 100 }));
  for (const evaluation of store.evaluations()) {
    if (evaluation.ideaId === 0)
      store.recordProgress(
        evaluation.id,
        at(FULL, (s) => 0.5 + s / 400 + (evaluation.seed === 0 ? -0.02 : 0.02)),
      );
    if (evaluation.ideaId === 1)
      store.recordProgress(
        evaluation.id,
        at(FULL, (s) => 0.5 + s / 250),
      );
    // The crashed run: its curve ends at step 30, falling.
    if (evaluation.ideaId === 2)
      store.recordProgress(
        evaluation.id,
        at([0, 10, 20, 30], (s) => 0.5 - s / 100),
      );
  }
  const runningId = store.insertIdea({ title: 'x to 2.5', hypothesis: 'between', plan: '', expectedEffect: '' }, null);
  store.setIdeaStatus(runningId, 'running');
  const evaluation = store.startEvaluation(runningId, 0, 'local', `${run.runDir}/ideas/${runningId}/seed-0/run.log`, []);
  store.recordProgress(
    evaluation,
    at([0, 10, 20, 30, 40], (s) => 0.5 + s / 300),
  );
  store.close();
  return { runDir: run.runDir, runningId };
}
