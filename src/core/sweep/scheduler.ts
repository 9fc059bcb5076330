/**
 * When things happen in a sweep: the evaluation slots, how many ideas to keep prepared ahead of
 * them (lookahead), the time and money limits, and draining (no new work once a limit or Ctrl-C
 * is reached). What to try next is the search strategy's decision; when is the scheduler's.
 *
 * The scheduler knows ideas only by id: it runs each idea's work as a task, tracks which ideas
 * are in flight and which hold a slot, and leaves recording results to the idea pipeline.
 */
import { setMaxListeners } from 'node:events';
import { longDelay } from '../long-timer.ts';
import { BaselineFailed, BudgetExceeded, EvaluatorChanged, ModelError, ResearcherError } from '../errors.ts';
import type { RunConfig } from '../run-config.ts';

/** Thrown inside an idea's task when the sweep stops dispatching: the idea stays for `resume`. */
export class Drained extends Error {}

/** A stop reason for the fatal errors that end the sweep instead of failing one idea. */
export function isFatal(error: unknown): boolean {
  return (
    error instanceof ModelError ||
    error instanceof BaselineFailed ||
    // A changed judge: no later reward could be compared with the earlier ones.
    error instanceof EvaluatorChanged ||
    (error instanceof ResearcherError && error.name === 'ConfigError')
  );
}

export type LimitReached = 'max-hours' | 'max-cost';

export interface SchedulerOptions {
  config: RunConfig;
  /** Evaluation slots: `--parallel`, bounded by how many runs the GPUs can hold at once. */
  slots: number;
  /** Active time of earlier sessions of this run (for --max-hours). */
  activeMsBefore: number;
  /** Dollars already spent on model calls in this run (for --max-cost). */
  spentUsd: number;
  /** Aborted on Ctrl-C: no new idea starts, running ones are stopped and left for `resume`. */
  signal: AbortSignal;
  /** An idea's task failed with an error that is neither fatal nor a stop: the idea fails with it. */
  onTaskFailed(ideaId: number, error: unknown): void;
  /** An idea's task ended (in any way). */
  onTaskEnded(): void;
}

export class Scheduler {
  readonly slots: number;
  private slotsFree: number;
  private readonly slotWaiters: ((granted: boolean) => void)[] = [];
  /** Ideas holding a slot right now. */
  running = 0;
  /** Ideas being proposed, coded, waiting for a slot or running. */
  readonly inFlight = new Set<number>();
  private readonly tasks = new Set<Promise<void>>();
  /** Worktrees being released in the background. */
  private readonly releasing = new Set<Promise<void>>();
  /** The first fatal error: it ends the sweep. */
  fatal: unknown = null;
  /** An agent found that its next model call would pass --max-cost. */
  private costStop = false;
  /** A limit other than the idea budget was reached: nothing new is prepared or started. */
  draining = false;
  /** Aborted when preparing ideas must stop (Ctrl-C, a limit): cancels model calls. */
  private readonly prepareStop = new AbortController();
  /** Aborted when running evaluations must stop (Ctrl-C, a limit with --hard-stop). */
  private readonly runStop = new AbortController();
  readonly startedAt = Date.now();
  private readonly activeMsBefore: number;
  private timeLimit: Promise<void> | null = null;
  /** Wakes the dispatch loop between task ends (spend passed --max-cost). */
  private wake: () => void = () => {};
  /** Dollars spent on model calls (kept here so budget checks never sum the whole table). */
  spentUsd: number;
  /** Exponentially weighted means of preparing an idea and of running one, in ms. */
  private prepareMs: number | null = null;
  private runMs: number | null = null;

  constructor(private readonly options: SchedulerOptions) {
    this.slots = options.slots;
    this.slotsFree = options.slots;
    this.activeMsBefore = options.activeMsBefore;
    this.spentUsd = options.spentUsd;
    // One listener per idea being prepared or run: with 64 slots that is over a hundred, by design.
    setMaxListeners(Infinity, this.prepareStop.signal, this.runStop.signal);
    const stopAll = () => {
      this.prepareStop.abort();
      this.runStop.abort();
    };
    if (options.signal.aborted) stopAll();
    else options.signal.addEventListener('abort', stopAll, { once: true });
  }

  private get config(): RunConfig {
    return this.options.config;
  }

  /** Cancels model calls of ideas being prepared. */
  get prepareSignal(): AbortSignal {
    return this.prepareStop.signal;
  }

  /** Stops running evaluations. */
  get runSignal(): AbortSignal {
    return this.runStop.signal;
  }

  // ─── tasks ──────────────────────────────────────────────────────────────────────────────

  /** Runs one idea's work as a task; how it ends decides whether the idea fails or stays for resume. */
  spawn(ideaId: number, work: () => Promise<void>): void {
    this.inFlight.add(ideaId);
    const task = work()
      .catch((error) => {
        if (error instanceof BudgetExceeded)
          this.costStop = true; // the idea stays unfinished, for a resume with more budget
        else if (isFatal(error)) {
          this.fatal ??= error;
          this.drain();
          // Without a baseline no idea can be compared: stop what runs too.
          if (error instanceof BaselineFailed) this.runStop.abort();
        } else if (error instanceof Drained || this.stopping())
          return; // stopped mid-way: the idea stays in flight for resume
        else this.options.onTaskFailed(ideaId, error);
      })
      .finally(() => {
        this.inFlight.delete(ideaId);
        this.tasks.delete(task);
        this.options.onTaskEnded();
      });
    this.tasks.add(task);
  }

  get idle(): boolean {
    return this.tasks.size === 0;
  }

  /** Resolves when a task ends, the dispatcher is woken, or --max-hours is reached. */
  untilSomethingChanges(): Promise<void> {
    const wakeUps = [...this.tasks, new Promise<void>((resolve) => (this.wake = resolve))];
    if (!this.draining) wakeUps.push(this.untilTimeLimit()); // once passed, it would resolve at once, forever
    return Promise.race(wakeUps);
  }

  /** Wakes the dispatch loop (a slot was taken, spending passed --max-cost). */
  wakeUp(): void {
    this.wake();
  }

  /** Waits for every task, and every worktree released in the background. */
  async settle(): Promise<void> {
    await Promise.allSettled(this.tasks);
    await Promise.allSettled(this.releasing);
  }

  /** Keeps a background release of a worktree, so the sweep waits for it at the end. */
  releaseInBackground(release: Promise<void>): void {
    const releasing: Promise<void> = release.catch(() => {}).finally(() => this.releasing.delete(releasing));
    this.releasing.add(releasing);
  }

  // ─── slots ──────────────────────────────────────────────────────────────────────────────

  async acquireSlot(): Promise<void> {
    if (this.draining) throw new Drained();
    if (this.slotsFree > 0) {
      this.slotsFree--;
      return;
    }
    const granted = await new Promise<boolean>((resolve) => this.slotWaiters.push(resolve));
    if (!granted) throw new Drained();
  }

  releaseSlot(): void {
    const next = this.slotWaiters.shift();
    if (next) next(true);
    else this.slotsFree++;
  }

  /**
   * How many ideas to keep prepared (proposed, coded, waiting for a slot) beyond the running ones.
   * Enough to cover the slots that free up while one idea is being prepared — about slots ×
   * preparing time / run time, plus one — and no more: an idea prepared early is proposed without the
   * results that arrive meanwhile, which costs the search (and, with LLM agents, money). Until a
   * run has finished there is nothing to go by: fill every free slot, plus one.
   */
  lookahead(): number {
    const free = this.slots - this.running;
    if (this.runMs === null || this.prepareMs === null) return Math.max(1, free + 1);
    // Half again as many, for slots that free up together (run lengths are far from regular).
    const needed = Math.ceil((1.5 * this.slots * this.prepareMs) / Math.max(1, this.runMs)) + 1;
    return Math.min(this.slots, Math.max(1, needed, free));
  }

  /** Ideas being prepared (proposed, coded, waiting for a slot). */
  get preparing(): number {
    return this.inFlight.size - this.running;
  }

  recordPrepareTime(ms: number): void {
    this.prepareMs = ewma(this.prepareMs, ms);
  }

  recordRunTime(ms: number): void {
    this.runMs = ewma(this.runMs, ms);
  }

  // ─── limits and draining ────────────────────────────────────────────────────────────────

  /** A time or money limit that stops the sweep (the idea budget only stops dispatching). */
  limitReached(): LimitReached | null {
    const { maxHours, maxCostUsd } = this.config;
    if (maxHours !== null && this.activeMs() >= maxHours * 3_600_000) return 'max-hours';
    if (this.costStop || (maxCostUsd !== null && this.spentUsd >= maxCostUsd)) return 'max-cost';
    return null;
  }

  /** Counts a model call's cost; passing --max-cost wakes the dispatcher to stop. */
  spend(costUsd: number): void {
    this.spentUsd += costUsd;
    if (this.config.maxCostUsd !== null && this.spentUsd >= this.config.maxCostUsd) this.wake();
  }

  /** Resolves when --max-hours is reached, so the loop wakes up for it even while runs are long. */
  private untilTimeLimit(): Promise<void> {
    if (!this.timeLimit) {
      const { maxHours } = this.config;
      this.timeLimit =
        maxHours === null ? new Promise(() => {}) : longDelay(Math.max(0, maxHours * 3_600_000 - this.activeMs()) + 5, { unref: true }); // --max-hours may pass 24.8 days
    }
    return this.timeLimit;
  }

  /** Stops dispatching: prepared ideas and ideas waiting for a slot are left for `resume`. */
  drain(): void {
    this.draining = true;
    for (const waiter of this.slotWaiters.splice(0)) waiter(false);
    this.prepareStop.abort();
    if (this.config.hardStop) this.runStop.abort();
  }

  /** The sweep stops dispatching: a limit, Ctrl-C or --hard-stop. */
  stopping(): boolean {
    return this.draining || this.options.signal.aborted;
  }

  /** Time this run has been active, over all its sessions. */
  activeMs(): number {
    return this.activeMsBefore + (Date.now() - this.startedAt);
  }
}

function ewma(previous: number | null, sample: number): number {
  return previous === null ? sample : 0.8 * previous + 0.2 * sample;
}
