/**
 * When a running step must stop: its time limit passed ('timeout') or the sweep is stopping
 * (its AbortSignal fired: 'interrupt'). Every sandbox needs the same watch around its command;
 * this is the one place it is written.
 *
 *   const deadline = stepDeadline({
 *     timeoutMs: request.step.timeout,
 *     signal: request.signal,
 *     onStop: (reason) => killGroup('SIGTERM'),
 *     escalation: { graceMs: 2_000, onEscalate: () => killGroup('SIGKILL') },
 *   });
 *   try { await child; } finally { deadline.dispose(); }
 *
 * Rules, so callers can rely on them:
 * - `onStop` is called at most once per reason. An interrupt is still reported after a timeout
 *   (the sweep is stopping, and a caller may let that override the timeout); a timeout is never
 *   reported after an interrupt.
 * - An already-aborted signal calls `onStop('interrupt')` synchronously, inside `stepDeadline`.
 * - The escalation runs once, `graceMs` after the first stop, unless the deadline was disposed
 *   first (the step ended in time). Its timer does not keep the process alive.
 * - Time limits may be days long. Node fires a setTimeout longer than 2^31-1 ms (about 24.8 days)
 *   after 1 ms, so the wait is a chain of shorter timers, each re-reading the clock.
 * - The clock can start later than the watch (`start`): a batch job's limit counts from when its
 *   command really began on the cluster, not from its submission.
 */

export type StopReason = 'timeout' | 'interrupt';

export interface StepDeadlineOptions {
  /** The step's time limit; when given, the clock starts now. Leave it out to `start` it later. */
  timeoutMs?: number;
  /** The sweep's stop signal (Ctrl-C). */
  signal?: AbortSignal;
  /** Asks the step to stop; called at most once per reason. */
  onStop(reason: StopReason): void;
  /** A harder stop for a step still running `graceMs` after the first `onStop` (SIGKILL after SIGTERM). */
  escalation?: { graceMs: number; onEscalate(reason: StopReason): void };
}

export interface StepDeadline {
  /** The first reason the step was told to stop for, or null while it may run on. */
  readonly reason: StopReason | null;
  /** Whether `onStop('interrupt')` has been called. */
  readonly interrupted: boolean;
  /** Whether `onStop('timeout')` has been called. */
  readonly timedOut: boolean;
  /**
   * Starts the clock: the step times out `timeoutMs` after `startedAt` (ms since the epoch,
   * default now). A `startedAt` far enough in the past times out at once (on the next tick).
   * Ignored when the clock already runs, the step was interrupted, or the deadline is disposed.
   */
  start(timeoutMs: number, startedAt?: number): void;
  /** Stops watching: no further `onStop` or escalation. Call it when the step has ended. */
  dispose(): void;
}

import { setLongTimeout, type LongTimer } from '../core/long-timer.ts';

export function stepDeadline(options: StepDeadlineOptions): StepDeadline {
  const { signal, onStop, escalation } = options;
  let reason: StopReason | null = null;
  let timedOut = false;
  let interrupted = false;
  let disposed = false;
  let clockStarted = false;
  let timer: LongTimer | undefined;
  let escalationTimer: NodeJS.Timeout | undefined;

  const stop = (why: StopReason) => {
    if (disposed) return;
    if (why === 'timeout') {
      if (timedOut || interrupted) return;
      timedOut = true;
    } else {
      if (interrupted) return;
      interrupted = true;
      timer?.clear();
      signal?.removeEventListener('abort', onAbort);
    }
    const first = reason === null;
    reason ??= why;
    onStop(why);
    if (first && escalation && !disposed) {
      escalationTimer = setTimeout(() => {
        if (!disposed) escalation.onEscalate(why);
      }, escalation.graceMs);
      escalationTimer.unref();
    }
  };
  const onAbort = () => stop('interrupt');

  /** Times out at `at` (ms since the epoch); setLongTimeout chains timers for limits of days. */
  const waitUntil = (at: number) => {
    timer = setLongTimeout(() => stop('timeout'), at - Date.now());
  };

  const deadline: StepDeadline = {
    get reason() {
      return reason;
    },
    get interrupted() {
      return interrupted;
    },
    get timedOut() {
      return timedOut;
    },
    start(timeoutMs: number, startedAt = Date.now()) {
      if (clockStarted || disposed || interrupted) return;
      clockStarted = true;
      // No finite limit: only an interrupt stops the step.
      if (!Number.isFinite(timeoutMs)) return;
      waitUntil(startedAt + timeoutMs);
    },
    dispose() {
      disposed = true;
      timer?.clear();
      clearTimeout(escalationTimer);
      signal?.removeEventListener('abort', onAbort);
    },
  };

  if (signal?.aborted) stop('interrupt');
  else signal?.addEventListener('abort', onAbort, { once: true });
  if (options.timeoutMs !== undefined) deadline.start(options.timeoutMs);
  return deadline;
}
