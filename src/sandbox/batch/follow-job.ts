/**
 * Following one batch job to its end: the poll / cancel half of the batch pattern (see
 * scheduler.ts), shared by every batch backend.
 */
import { stepDeadline, type StopReason } from '../step-deadline.ts';
import type { JobBoard } from './job-board.ts';
import type { BatchJob, BatchScheduler } from './scheduler.ts';

/** How long to wait for a cancelled job to leave the queue (Slurm's KillWait is 30 s by default). */
export const CANCEL_WAIT_MS = 120_000;
/** How long a job the queue has forgotten may go without a recorded exit before we stop waiting. */
export const FORGOTTEN_JOB_WAIT_MS = 30_000;

export interface FollowJob {
  scheduler: BatchScheduler;
  board: JobBoard;
  jobId: string;
  /** The sweep's stop signal: the job is cancelled when it fires. */
  signal?: AbortSignal;
  /** The step's time limit, counted from `startedAt`. */
  timeoutMs: number;
  /** When the job's command began (ms since the epoch), or null while it is queued or starting. */
  startedAt(): number | null;
  /** Whether the job has recorded its exit status (it ended by itself, whatever the queue says yet). */
  exitRecorded(): boolean;
  /** Called after every poll (a backend mirrors the job's log here). */
  afterPoll?(): void;
}

export interface FollowedJob {
  /** Why we cancelled the job, or null when it ended by itself. */
  cancelled: StopReason | null;
  /** The job as the queue last reported it. */
  last?: BatchJob;
  /** Its final state: the last one the queue reported, else the scheduler's records; null when neither knows. */
  state: string | null;
}

/**
 * Waits for the job to end, cancelling it on Ctrl-C or at its time limit (unless it has already
 * recorded its exit). A scheduler that does not answer is asked again, for as long as the job may
 * be running; only a cancellation that cannot be confirmed is given up on, after CANCEL_WAIT_MS.
 */
export async function followJob(follow: FollowJob): Promise<FollowedJob> {
  const { scheduler, board, jobId } = follow;
  let cancelled: StopReason | null = null;
  let cancelledAt = 0;
  let unknownSince: number | null = null;
  let last: BatchJob | undefined;
  // Woken by the deadline, so a limit or Ctrl-C is acted on at once rather than at the next poll.
  let wake = new AbortController();
  const deadline = stepDeadline({ signal: follow.signal, onStop: () => wake.abort() });
  const cancel = async (why: StopReason) => {
    cancelled = why;
    cancelledAt = Date.now();
    await scheduler.cancel(jobId);
  };
  board.watch(jobId);
  try {
    for (;;) {
      if (!cancelled && deadline.interrupted) await cancel('interrupt');
      const begin = follow.startedAt();
      if (begin !== null) deadline.start(follow.timeoutMs, begin);
      if (!cancelled && deadline.timedOut && !follow.exitRecorded()) await cancel('timeout');
      wake = new AbortController();
      await board.nextPoll(cancelled ? undefined : wake.signal);
      follow.afterPoll?.();
      if (board.unreachable) {
        // The scheduler is away; the job may well be running. Keep asking, unless we are
        // only waiting for a cancellation that cannot be confirmed.
        if (cancelled && Date.now() - cancelledAt > CANCEL_WAIT_MS) break;
        continue;
      }
      const info = board.info(jobId);
      if (info) {
        last = info;
        unknownSince = null;
        if (!scheduler.isLive(info.state)) break;
        if (cancelled && Date.now() - cancelledAt > CANCEL_WAIT_MS) break;
        continue;
      }
      // The queue has forgotten the job (Slurm's MinJobAge passed, or it never saw it finish).
      unknownSince ??= Date.now();
      if (follow.exitRecorded() || Date.now() - unknownSince > FORGOTTEN_JOB_WAIT_MS) break;
    }
  } finally {
    deadline.dispose();
    board.unwatch(jobId);
  }
  const state = (last && !scheduler.isLive(last.state) ? last.state : null) ?? (await scheduler.finalState(jobId));
  return { cancelled, last, state };
}
