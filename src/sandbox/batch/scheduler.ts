/**
 * The cluster side of a batch sandbox: a step is a job handed to a scheduler (Slurm today;
 * Kubernetes or Ray next), which this process follows, and which outlives this process.
 *
 * The pattern every batch backend follows, and what this folder gives it:
 * - submit: the job carries a name that says which step it is (run, idea, seed, kind); a
 *   submission that failed transiently may have reached the scheduler after all, so it is looked
 *   for by name before it is sent again (`submitOnce`);
 * - poll: one `JobBoard` per sandbox asks the scheduler about every followed job at once, and
 *   `followJob` waits for a job to end, cancelling it at its time limit (counted from when its
 *   command really began) or on Ctrl-C, tolerating a scheduler that is briefly unreachable and one
 *   that has forgotten a finished job;
 * - re-attach: a researcher restarted after `kill -9` finds its still-live jobs by name
 *   (`claimOldest`) instead of submitting them twice.
 * What a job ran in, how its files travel and what its final state means stay with the backend.
 */

/** A job as the scheduler reports it. */
export interface BatchJob {
  id: string;
  /** The scheduler's word for its state (Slurm: RUNNING, COMPLETED, CANCELLED, …). */
  state: string;
  name: string;
  /** Why it is in that state, when the scheduler says ("None" when it has nothing to say). */
  reason: string;
}

/** One poll of the queue: the jobs it knows (a job missing was forgotten), or why it did not answer. */
export type QueueAnswer = { jobs: BatchJob[] } | { unreachable: string };

/** What a batch backend implements for the job board, `followJob` and re-attachment. */
export interface BatchScheduler {
  /** The states of these jobs, finished ones included for as long as the scheduler remembers them. */
  queue(jobIds: string[]): Promise<QueueAnswer>;
  /** The user's live jobs with these exact names. */
  liveJobsNamed(names: string[]): Promise<BatchJob[]>;
  /** Asks the scheduler to stop the job; false when it refused or could not be reached. */
  cancel(jobId: string): Promise<boolean>;
  /** A finished job's final state from the scheduler's records (Slurm: sacct), or null when it keeps none. */
  finalState(jobId: string): Promise<string | null>;
  /** Whether a job in this state may still run. */
  isLive(state: string): boolean;
}

/**
 * Of the live jobs with one step's name, the one to attach to: the oldest (lowest id). Two live
 * jobs for one step would be a double submission: the younger ones are cancelled.
 */
export async function claimOldest(scheduler: BatchScheduler, jobs: readonly BatchJob[]): Promise<BatchJob | null> {
  const sorted = [...jobs].sort((a, b) => Number(a.id) - Number(b.id));
  for (const duplicate of sorted.slice(1)) await scheduler.cancel(duplicate.id);
  return sorted[0] ?? null;
}

export interface SubmitAttempt {
  /** Sends the job once: its id, or why the scheduler refused and whether trying again may help. */
  send(): Promise<{ jobId: string } | { error: string; transient: boolean }>;
  /** The job's name, to find a submission that reached the scheduler although the call failed. */
  name: string;
  attempts: number;
  /** Waits before the n-th attempt (n ≥ 1), returning early when the sweep stops. */
  backoff(attempt: number): Promise<void>;
  /** The sweep's stop signal: once it fired, a failed attempt is the last. */
  signal?: AbortSignal;
}

/** Submits a job, retrying transient failures, never twice: a job with its name found live is taken instead. */
export async function submitOnce(scheduler: BatchScheduler, attempt: SubmitAttempt): Promise<{ jobId: string } | { error: string }> {
  let error = '';
  for (let n = 0; n < attempt.attempts; n++) {
    if (n > 0) {
      await attempt.backoff(n);
      // A timed-out submission may have reached the scheduler after all.
      const already = await scheduler.liveJobsNamed([attempt.name]).catch(() => []);
      if (already.length) return { jobId: already[0].id };
    }
    const sent = await attempt.send();
    if ('jobId' in sent) return { jobId: sent.jobId };
    error = sent.error;
    if (!sent.transient || attempt.signal?.aborted) break;
  }
  return { error };
}
