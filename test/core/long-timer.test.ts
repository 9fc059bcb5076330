/**
 * Timers past Node's 2^31 − 1 ms limit: a plain setTimeout given 30 days fires after 1 ms (and
 * warns); the chained timer waits the whole time. The clock is vitest's fake one, so a month
 * passes in an instant; the timers under it are the real setTimeout chain.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MAX_TIMER_MS, longDelay, setLongTimeout } from '../../src/core/long-timer.ts';

const DAY = 86_400_000;

describe('setLongTimeout', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance', 'Date'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('fires after 30 days, not after 1 ms nor after 24.8 days', () => {
    const fired = vi.fn();
    setLongTimeout(fired, 30 * DAY);
    vi.advanceTimersByTime(1_000);
    expect(fired).not.toHaveBeenCalled();
    vi.advanceTimersByTime(MAX_TIMER_MS);
    expect(fired).not.toHaveBeenCalled();
    vi.advanceTimersByTime(30 * DAY - MAX_TIMER_MS - 1_000 - 1);
    expect(fired).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(fired).toHaveBeenCalledTimes(1);
  });

  it('fires short delays like setTimeout, asynchronously', () => {
    const fired = vi.fn();
    setLongTimeout(fired, 0);
    expect(fired).not.toHaveBeenCalled();
    vi.advanceTimersByTime(0);
    expect(fired).toHaveBeenCalledTimes(1);
    const later = vi.fn();
    setLongTimeout(later, 1_500);
    vi.advanceTimersByTime(1_499);
    expect(later).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(later).toHaveBeenCalledTimes(1);
  });

  it('can be cleared mid-chain, and never fires for an infinite delay', () => {
    const fired = vi.fn();
    const timer = setLongTimeout(fired, 60 * DAY);
    vi.advanceTimersByTime(40 * DAY);
    timer.clear();
    vi.advanceTimersByTime(40 * DAY);
    expect(fired).not.toHaveBeenCalled();
    const never = vi.fn();
    setLongTimeout(never, Infinity);
    vi.advanceTimersByTime(365 * DAY);
    expect(never).not.toHaveBeenCalled();
  });

  it('resolves longDelay after the whole delay', async () => {
    let done = false;
    void longDelay(26 * DAY).then(() => (done = true));
    await vi.advanceTimersByTimeAsync(25 * DAY);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(DAY);
    expect(done).toBe(true);
  });
});
