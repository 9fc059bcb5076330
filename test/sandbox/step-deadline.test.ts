/**
 * The one timeout/interrupt watch every sandbox uses. Fake timers here test the arithmetic
 * (limits of days, escalation after a grace period), not speed; one check runs on Node's real
 * timers, because the overflow it guards against is Node's own behaviour.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MAX_TIMER_MS } from '../../src/core/long-timer.ts';
import { stepDeadline, type StopReason } from '../../src/sandbox/step-deadline.ts';

const DAY_MS = 24 * 60 * 60 * 1000;

function recorder() {
  const stops: StopReason[] = [];
  const escalations: StopReason[] = [];
  return {
    stops,
    escalations,
    onStop: (reason: StopReason) => stops.push(reason),
    escalation: { graceMs: 2_000, onEscalate: (reason: StopReason) => escalations.push(reason) },
  };
}

describe('stepDeadline with a fake clock', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('times out once, at the limit and not before', () => {
    const seen = recorder();
    const deadline = stepDeadline({ timeoutMs: 5_000, onStop: seen.onStop });
    vi.advanceTimersByTime(4_999);
    expect(seen.stops).toEqual([]);
    expect(deadline.reason).toBeNull();
    vi.advanceTimersByTime(1);
    expect(seen.stops).toEqual(['timeout']);
    expect(deadline).toMatchObject({ reason: 'timeout', timedOut: true, interrupted: false });
    vi.advanceTimersByTime(60_000);
    expect(seen.stops).toEqual(['timeout']);
  });

  it('waits out limits longer than one timer can hold (days), without firing early', () => {
    const seen = recorder();
    const timeoutMs = 30 * DAY_MS;
    expect(timeoutMs).toBeGreaterThan(MAX_TIMER_MS);
    stepDeadline({ timeoutMs, onStop: seen.onStop });
    vi.advanceTimersByTime(MAX_TIMER_MS + 1);
    expect(seen.stops).toEqual([]);
    vi.advanceTimersByTime(timeoutMs - (MAX_TIMER_MS + 1) - 1);
    expect(seen.stops).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(seen.stops).toEqual(['timeout']);
  });

  it('stops on an interrupt, and no timeout follows', () => {
    const seen = recorder();
    const controller = new AbortController();
    const deadline = stepDeadline({ timeoutMs: 5_000, signal: controller.signal, onStop: seen.onStop });
    vi.advanceTimersByTime(1_000);
    controller.abort();
    expect(seen.stops).toEqual(['interrupt']);
    vi.advanceTimersByTime(10_000);
    expect(seen.stops).toEqual(['interrupt']);
    expect(deadline).toMatchObject({ reason: 'interrupt', timedOut: false, interrupted: true });
  });

  it('reports an interrupt that comes after a timeout, keeping the timeout as the first reason', () => {
    const seen = recorder();
    const controller = new AbortController();
    const deadline = stepDeadline({ timeoutMs: 1_000, signal: controller.signal, onStop: seen.onStop });
    vi.advanceTimersByTime(1_000);
    controller.abort();
    expect(seen.stops).toEqual(['timeout', 'interrupt']);
    expect(deadline).toMatchObject({ reason: 'timeout', timedOut: true, interrupted: true });
  });

  it('stops at once, synchronously, when the signal has already fired', () => {
    const seen = recorder();
    const deadline = stepDeadline({ timeoutMs: 1_000, signal: AbortSignal.abort(), onStop: seen.onStop });
    expect(seen.stops).toEqual(['interrupt']);
    vi.advanceTimersByTime(5_000);
    expect(seen.stops).toEqual(['interrupt']);
    expect(deadline.reason).toBe('interrupt');
  });

  it('escalates once, a grace period after the first stop', () => {
    const seen = recorder();
    const controller = new AbortController();
    stepDeadline({ timeoutMs: 1_000, signal: controller.signal, onStop: seen.onStop, escalation: seen.escalation });
    vi.advanceTimersByTime(1_000);
    controller.abort(); // a second reason does not start a second grace period
    vi.advanceTimersByTime(1_999);
    expect(seen.escalations).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(seen.escalations).toEqual(['timeout']);
    vi.advanceTimersByTime(10_000);
    expect(seen.escalations).toEqual(['timeout']);
  });

  it('does not escalate when the step ends within the grace period', () => {
    const seen = recorder();
    const deadline = stepDeadline({ timeoutMs: 1_000, onStop: seen.onStop, escalation: seen.escalation });
    vi.advanceTimersByTime(1_500);
    deadline.dispose();
    vi.advanceTimersByTime(10_000);
    expect(seen.stops).toEqual(['timeout']);
    expect(seen.escalations).toEqual([]);
  });

  it('says nothing once disposed, neither for the clock nor for the signal', () => {
    const seen = recorder();
    const controller = new AbortController();
    const deadline = stepDeadline({ timeoutMs: 1_000, signal: controller.signal, onStop: seen.onStop });
    deadline.dispose();
    controller.abort();
    vi.advanceTimersByTime(5_000);
    expect(seen.stops).toEqual([]);
    expect(deadline.reason).toBeNull();
  });

  it('starts the clock later, counted from when the step really began', () => {
    const seen = recorder();
    const controller = new AbortController();
    const deadline = stepDeadline({ signal: controller.signal, onStop: seen.onStop });
    vi.advanceTimersByTime(60_000); // queued: no clock yet
    expect(seen.stops).toEqual([]);
    deadline.start(10_000, Date.now() - 4_000); // began 4 s ago on the cluster
    deadline.start(1, Date.now()); // a second start changes nothing
    vi.advanceTimersByTime(5_999);
    expect(seen.stops).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(seen.stops).toEqual(['timeout']);
  });

  it('times out on the next tick when the step began longer ago than its limit', () => {
    const seen = recorder();
    const deadline = stepDeadline({ onStop: seen.onStop });
    deadline.start(1_000, Date.now() - 5_000);
    expect(seen.stops).toEqual([]);
    vi.advanceTimersByTime(0);
    expect(seen.stops).toEqual(['timeout']);
  });

  it('only an interrupt stops a step with no finite limit', () => {
    const seen = recorder();
    const controller = new AbortController();
    stepDeadline({ timeoutMs: Number.POSITIVE_INFINITY, signal: controller.signal, onStop: seen.onStop });
    vi.advanceTimersByTime(365 * DAY_MS);
    expect(seen.stops).toEqual([]);
    controller.abort();
    expect(seen.stops).toEqual(['interrupt']);
  });
});

describe('stepDeadline on real timers', () => {
  it('does not fire early for a limit past 2^31-1 ms (where a single setTimeout fires after 1 ms)', async () => {
    const seen = recorder();
    const deadline = stepDeadline({ timeoutMs: 30 * DAY_MS, onStop: seen.onStop });
    await new Promise((resolve) => setTimeout(resolve, 50));
    deadline.dispose();
    expect(seen.stops).toEqual([]);
  });

  it('times out a short limit', async () => {
    const stopped = new Promise<StopReason>((resolve) => stepDeadline({ timeoutMs: 20, onStop: resolve }));
    expect(await stopped).toBe('timeout');
  });
});
