/**
 * A timer for delays of any length. Node's setTimeout keeps its delay in a signed 32-bit
 * integer: past 2^31 − 1 ms (about 24.8 days) it warns and fires after 1 ms, which would kill a
 * long step at once or end a long sweep's wait early. This chains ordinary timers, each at most
 * that long, until the whole delay has passed. An infinite delay never fires.
 */

/** The longest delay one setTimeout honours. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export interface LongTimer {
  /** Cancels the timer; the callback will not run. */
  clear(): void;
  /** Lets the process exit while only this timer is pending (like Timeout.unref). */
  unref(): LongTimer;
}

export function setLongTimeout(callback: () => void, delayMs: number): LongTimer {
  // A monotonic clock: a wall-clock change must not shorten or stretch a time limit.
  const deadline = performance.now() + (Number.isNaN(delayMs) ? 0 : Math.max(0, delayMs));
  let timer: NodeJS.Timeout | undefined;
  let unreffed = false;
  let cleared = false;
  const arm = () => {
    timer = setTimeout(tick, Math.min(Math.max(0, deadline - performance.now()), MAX_TIMER_MS));
    if (unreffed) timer.unref();
  };
  const tick = () => {
    if (cleared) return;
    if (performance.now() >= deadline) callback();
    else arm(); // one link of the chain has passed; wait for the rest
  };
  if (deadline !== Infinity) arm();
  const handle: LongTimer = {
    clear() {
      cleared = true;
      if (timer) clearTimeout(timer);
    },
    unref() {
      unreffed = true;
      timer?.unref();
      return handle;
    },
  };
  return handle;
}

/** Resolves after `delayMs` (any length; never for Infinity). */
export function longDelay(delayMs: number, options: { unref?: boolean } = {}): Promise<void> {
  return new Promise((resolve) => {
    const timer = setLongTimeout(resolve, delayMs);
    if (options.unref) timer.unref();
  });
}
