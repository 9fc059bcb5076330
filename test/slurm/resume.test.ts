/**
 * kill -9 mid-sweep, then `researcher resume`: the jobs the dead researcher left queued or
 * running are re-attached to by their job id — recorded in the run before and after — and not
 * submitted again; the sweep finishes and leaves no job in the queue.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { STAGE_FOLDER } from '../../src/sandbox/slurm/staging.ts';
import { RunStore } from '../../src/store/run-store.ts';
import { tempDir } from '../helpers/sweep.ts';
import { quadraticWith, startResearcher, until } from './cli.ts';
import { SKIP_SLURM, queuedJobs, requireSlurm } from './cluster.ts';

interface InFlight {
  ideaId: number;
  seed: number;
  jobId: string;
}

describe.skipIf(SKIP_SLURM)('kill -9 and resume with Slurm', () => {
  requireSlurm();

  it('re-attaches to the jobs still running instead of submitting them again', async () => {
    const sharedDir = tempDir('researcher-shared-');
    const marker = path.join(sharedDir, 'starts');
    const go = path.join(sharedDir, 'go');
    // Every start of a run step leaves a line; ideas (not the baseline) wait for the test to let
    // them go, so they are surely still running when the researcher is killed and resumed. The
    // reward is the run's own output (the evaluator case is in reattach.test.ts). The step's time
    // limit covers the wait: on a loaded machine the resumed researcher may take a minute to start.
    const environment = quadraticWith((yaml) =>
      yaml
        .replace(
          'command: python3 train.py\n  timeout: 20s',
          `command: 'echo "$IDEA_ID-$SEED" >> "$MARKER"; if [ "$IDEA_ID" != 0 ]; then until [ -e "$GO" ]; do sleep 0.2; done; fi; python3 train.py'\n  timeout: 240s\n  env:\n    MARKER: ${marker}\n    GO: ${go}`,
        )
        .replace(/evaluate:\n(  .*\n)+/, '')
        .replace(/reward:\n(  .*\n)+/, 'reward:\n  source: json\n  file: prediction.json\n  key: x\n  goal: minimize\n'),
    );
    const runsDir = tempDir('researcher-runs-');
    const runId = `slurm-resume-${process.pid}`;
    const runDir = path.join(runsDir, runId);
    const prefix = `researcher-${runId}-`;
    const first = startResearcher([
      'run',
      environment,
      '--ideas',
      '2',
      // The test is about re-attaching: one baseline seed, no confirmation seeds.
      '--baseline-seeds',
      '1',
      '--confirm-seeds',
      '0',
      '--search',
      'parallel',
      '--parallel',
      '2',
      '--runs-dir',
      runsDir,
      '--run-id',
      runId,
      '--sandbox',
      'slurm',
      '--shared-dir',
      sharedDir,
      // The steps leave markers on the shared folder for the test; bubblewrap would hide it.
      '--slurm-isolation',
      'off',
    ]);

    // Wait until an idea's run step is running as a job the run has recorded.
    let inFlight: InFlight[] = [];
    let killedEvaluations = new Set<number>();
    try {
      await until(() => {
        if (!existsSync(path.join(runDir, 'run.db')) && !existsSync(runDir)) return false;
        let store: RunStore;
        try {
          store = RunStore.open(runDir);
        } catch {
          return false;
        }
        try {
          const running = new Set(
            queuedJobs(prefix)
              .filter((job) => job.state === 'RUNNING' && job.name.endsWith('-run'))
              .map((job) => job.id),
          );
          killedEvaluations = new Set(store.runningEvaluations().map((e) => e.id));
          inFlight = store
            .runningEvaluations()
            .filter((e) => e.ideaId > 0 && e.handle?.jobId && running.has(e.handle.jobId))
            .map((e) => ({ ideaId: e.ideaId, seed: e.seed, jobId: e.handle!.jobId! }));
        } finally {
          store.close();
        }
        return inFlight.length > 0;
      }, "an idea's job to run");
    } finally {
      first.child.kill('SIGKILL');
      await first.exited;
    }
    // The killed researcher's jobs are still there.
    const queued = queuedJobs(prefix).map((job) => job.id);
    for (const job of inFlight) expect(queued).toContain(job.jobId);

    // While the resumed researcher works, watch which job each new evaluation records first:
    // the re-attached job (the evaluator's job is recorded after it).
    const resumed = startResearcher(['resume', runDir]);
    const firstRecorded = new Map<number, string>(); // evaluation id → job id
    const watcher = setInterval(() => {
      let store: RunStore | undefined;
      try {
        store = RunStore.open(runDir);
        for (const e of store.runningEvaluations()) {
          if (e.handle?.jobId && !firstRecorded.has(e.id)) firstRecorded.set(e.id, e.handle.jobId);
        }
        // Once every job the killed researcher left is re-attached to, let the ideas finish.
        const reattached = new Set(firstRecorded.values());
        if (inFlight.every((job) => reattached.has(job.jobId))) writeFileSync(go, '');
      } catch {
        // the store is busy being written; look again
      } finally {
        store?.close();
      }
    }, 100);
    const code = await resumed.exited.finally(() => clearInterval(watcher));
    expect(code, resumed.output()).toBe(0);
    expect(resumed.output()).toMatch(/resuming run/);

    const store = RunStore.open(runDir);
    const ideas = store.ideas();
    expect(ideas).toHaveLength(3);
    // Each idea's status with its error, so that a failure says which and why.
    expect(ideas.map((idea) => `${idea.id}: ${idea.status}${idea.error ? ` (${idea.error})` : ''}`)).toEqual([
      '0: succeeded',
      '1: succeeded',
      '2: succeeded',
    ]);
    for (const job of inFlight) {
      // One evaluation for the seed, finished, recording the job id it had before the kill.
      const evaluations = store.evaluations(job.ideaId).filter((e) => e.seed === job.seed);
      expect(evaluations.map((e) => ({ status: e.status, jobId: e.handle?.jobId }))).toEqual([{ status: 'succeeded', jobId: job.jobId }]);
      expect(killedEvaluations.has(evaluations[0].id)).toBe(false); // a new evaluation, after the requeue…
      expect([...firstRecorded.values()]).toContain(job.jobId); // …that re-attached to the same job while it ran
      // Its outputs came back, and the reward was computed from them.
      const prediction = JSON.parse(
        readFileSync(path.join(runDir, 'ideas', String(job.ideaId), `seed-${job.seed}`, 'outputs/prediction.json'), 'utf8'),
      );
      expect(store.idea(job.ideaId)!.reward).toBe(prediction.x);
    }
    // No step was submitted twice: each run step started exactly once.
    const starts = readFileSync(marker, 'utf8').split('\n').filter(Boolean).sort();
    expect(starts).toEqual(['0-0', '1-0', '2-0']);
    expect(queuedJobs(prefix)).toEqual([]);
    expect(existsSync(path.join(sharedDir, STAGE_FOLDER, runId))).toBe(false);
    store.close();
  }, 420_000);
});
