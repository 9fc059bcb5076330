/**
 * Where the Docker sandbox puts a step: the GPUs the sweep's pool gave when their host is up and
 * they are free, else free GPUs on another live host; steps without GPUs on the least busy host.
 */
import { describe, expect, it } from 'vitest';
import { choosePlacement, type EngineLoad } from '../../src/sandbox/docker/placement.ts';

function engine(name: string, gpus: number, running = 0, alive = true): EngineLoad & { name: string } {
  return { name, alive, running, gpus: Array.from({ length: gpus }, (_, i) => `${name}/${i}`) };
}

describe('choosePlacement', () => {
  it('puts a step without GPUs on the live host running the fewest steps', () => {
    const [a, b, c] = [engine('a', 0, 2), engine('b', 0, 1), engine('c', 0, 0, false)];
    expect(choosePlacement([a, b, c], undefined, [], false, new Set())?.engine.name).toBe('b');
    expect(choosePlacement([c], undefined, [], false, new Set())).toBeNull();
  });

  it('uses the GPUs the pool gave while their host is up and they are free', () => {
    const [a, b] = [engine('a', 2), engine('b', 2)];
    expect(choosePlacement([a, b], b, ['b/1'], false, new Set(['a/0']))).toEqual({ engine: b, gpus: ['b/1'] });
  });

  it('moves a step whose host went away to free GPUs of the live host with the most free', () => {
    const [a, b, c] = [engine('a', 2, 0, false), engine('b', 2), engine('c', 4)];
    expect(choosePlacement([a, b, c], a, ['a/0', 'a/1'], false, new Set(['c/0', 'c/1', 'c/2']))).toEqual({
      engine: b,
      gpus: ['b/0', 'b/1'],
    });
    expect(choosePlacement([a, b, c], a, ['a/0', 'a/1'], false, new Set(['c/0']))).toEqual({ engine: c, gpus: ['c/1', 'c/2'] });
  });

  it('never gives a GPU in use to a second step, and waits (null) when none is free', () => {
    const [a, b] = [engine('a', 1), engine('b', 1)];
    expect(choosePlacement([a, b], a, ['a/0'], false, new Set(['a/0']))).toEqual({ engine: b, gpus: ['b/0'] });
    expect(choosePlacement([a, b], a, ['a/0'], false, new Set(['a/0', 'b/0']))).toBeNull();
  });

  it('lets steps share GPUs when the environment allows it', () => {
    const a = engine('a', 1);
    expect(choosePlacement([a], a, ['a/0'], true, new Set(['a/0']))).toEqual({ engine: a, gpus: ['a/0'] });
  });
});
