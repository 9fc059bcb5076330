/**
 * The job board of a batch sandbox: the latest state of every job this process follows.
 */
import type { BatchJob, BatchScheduler } from './scheduler.ts';

/** After this long without a new job, polls slow down. */
const SLOW_POLL_AFTER_MS = 30_000;

/**
 * One poller for every job this process follows: a single queue query per tick (Slurm:
 * `squeue -t all -j <ids>`), however many ideas are in flight, so a big sweep does not hammer
 * the scheduler. Polls slow down 5× once no job was added for a while.
 */
export class JobBoard {
  private readonly ids = new Set<string>();
  private readonly latest = new Map<string, BatchJob>();
  private waiters: (() => void)[] = [];
  private timer: NodeJS.Timeout | null = null;
  private polling = false;
  private lastWatchAt = 0;
  /** Why the last poll failed (the scheduler did not answer), or null. */
  unreachable: string | null = null;

  constructor(
    private readonly scheduler: Pick<BatchScheduler, 'queue'>,
    /** How often job states are polled while jobs are young (ms). */
    private readonly pollMs: number,
  ) {}

  watch(jobId: string): void {
    this.ids.add(jobId);
    this.lastWatchAt = Date.now();
    this.schedule(0);
  }

  unwatch(jobId: string): void {
    this.ids.delete(jobId);
    this.latest.delete(jobId);
  }

  /** The job as the last poll saw it; undefined when the scheduler no longer knows it. */
  info(jobId: string): BatchJob | undefined {
    return this.latest.get(jobId);
  }

  /** Resolves after the next poll (or when `signal` fires). */
  nextPoll(signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        signal?.removeEventListener('abort', done);
        resolve();
      };
      this.waiters.push(done);
      signal?.addEventListener('abort', done, { once: true });
      this.schedule(this.interval());
    });
  }

  private interval(): number {
    return Date.now() - this.lastWatchAt < SLOW_POLL_AFTER_MS ? this.pollMs : this.pollMs * 5;
  }

  private schedule(delayMs: number): void {
    if (this.timer || this.polling) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.poll();
    }, delayMs);
  }

  private async poll(): Promise<void> {
    this.polling = true;
    // Only callers waiting before this poll began get its answer; later ones wait for the next.
    const waiters = this.waiters;
    this.waiters = [];
    try {
      const ids = [...this.ids];
      if (ids.length) {
        const answer = await this.scheduler.queue(ids);
        if ('jobs' in answer) {
          this.unreachable = null;
          const seen = new Map(answer.jobs.map((job) => [job.id, job]));
          for (const id of ids) {
            const job = seen.get(id);
            if (job) this.latest.set(id, job);
            else this.latest.delete(id);
          }
        } else {
          this.unreachable = answer.unreachable;
        }
      }
    } finally {
      this.polling = false;
      for (const resolve of waiters) resolve();
      if (this.waiters.length) this.schedule(this.interval());
    }
  }
}
