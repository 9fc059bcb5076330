/**
 * Resume and recovery: what a killed researcher left running is stopped and its unfinished ideas
 * go back in the queue before a sweep starts; what a stopping sweep leaves unfinished goes back
 * in the queue when it ends. A resumed sweep then takes each idea from where it was.
 */
import { isFinished } from '../ideas.ts';
import type { SweepDependencies } from './dependencies.ts';
import type { RunRecord } from './run-record.ts';

/** Stops what a killed researcher left running and puts its unfinished ideas back in the queue. */
export async function recoverInterrupted(deps: SweepDependencies): Promise<void> {
  const { store, sandbox, workspace, progress } = deps;
  // Smoke steps too (./smoke.ts): they run in the same sandboxes as the runs.
  const running = [...store.runningEvaluations(), ...store.runningSmokeRuns()];
  const handles = running.map((e) => e.handle).filter((h) => h !== null);
  if (handles.length) await sandbox.reap(handles);
  await workspace.cleanup();
  const requeued: number[] = [];
  for (const idea of store.ideas()) {
    if (isFinished(idea)) continue;
    store.requeueIdea(idea.id);
    requeued.push(idea.id);
  }
  if (requeued.length) progress.report({ type: 'resumed', requeued });
}

/** At the end of a sweep: ideas it started but did not finish go back in the queue for `resume`. */
export function requeueUnfinished(deps: SweepDependencies, record: RunRecord): void {
  for (const idea of record.history()) {
    if (!isFinished(idea) && idea.status !== 'proposed') {
      deps.store.requeueIdea(idea.id);
      record.refresh(idea.id);
    }
  }
}
