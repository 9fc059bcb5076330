/**
 * `env check` on an environment that declares `progress:`: the quadratic fixture, its train.py
 * printing a learning curve that depends on the seed, checked for real (local sandbox, git,
 * python); and the line it gives when the declared pattern never matches, or a seed stops short.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { curveCheckLine } from '../../src/environment/check-curve.ts';
import { copyEnvironment } from '../helpers/sweep.ts';

async function cli(args: string[]): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a) => void lines.push(a.join(' ')));
  const error = vi.spyOn(console, 'error').mockImplementation((...a) => void lines.push(a.join(' ')));
  try {
    return { code: await main(args), out: lines.join('\n') };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

/** The fixture, printing `step S/40 acc V` every 10 steps (V = S/100 + seed/100), declared as progress. */
function curvedEnvironment(pattern: string): string {
  const dir = copyEnvironment();
  const train = path.join(dir, 'code/train.py');
  writeFileSync(
    train,
    readFileSync(train, 'utf8').replace(
      'print(f"training with X={X} seed={seed}", flush=True)',
      'print(f"training with X={X} seed={seed}", flush=True)\nfor step in range(0, 41, 10):\n    print(f"step {step}/40 acc {step / 100 + seed / 100:.2f}", flush=True)',
    ),
  );
  const yaml = path.join(dir, 'environment.yaml');
  writeFileSync(yaml, `${readFileSync(yaml, 'utf8')}progress:\n  pattern: '${pattern}'\n  steps: 40\n`);
  return dir;
}

describe('env check with progress declared', () => {
  it("shows the baseline's curve with its spread across seeds", async () => {
    const checked = await cli(['env', 'check', curvedEnvironment('step (?<step>\\d+)/\\d+ acc (?<value>[\\d.]+)'), '--seeds', '3']);
    expect(checked.code, checked.out).toBe(0);
    // Seeds 0, 1, 2 add 0, 0.01, 0.02: a spread (sample std) of 0.01 at every step.
    expect(checked.out).toContain(
      '✓ baseline curve (mean ± std over 3 seeds): 0.01 ± 0.01 @0, 0.11 ± 0.01 @10, 0.21 ± 0.01 @20, 0.31 ± 0.01 @30, 0.41 ± 0.01 @40',
    );
    expect(checked.out).toMatch(/PASS: ready for a sweep/);
  }, 120_000);

  it('fails, pointing at the logs, when the declared pattern matches nothing the run prints', async () => {
    const checked = await cli(['env', 'check', curvedEnvironment('iteration (?<step>\\d+) loss (?<value>[\\d.]+)')]);
    expect(checked.code).not.toBe(0);
    expect(checked.out).toMatch(
      /progress: baseline seed 0 reported no learning curve: no line of its log matches \/iteration \(\?<step>\\d\+\) loss \(\?<value>\[\\d\.\]\+\)\/ \(logs: \S+\)/,
    );
  }, 120_000);

  it('says when a seed stopped short of progress.steps', () => {
    const line = curveCheckLine({ pattern: 's (?<step>\\d+) v (?<value>\\d+)', steps: 100 }, [
      [
        { step: 0, value: 1 },
        { step: 50, value: 2 },
      ],
    ]);
    expect(line).toEqual({
      ok: true,
      message:
        'baseline curve (1 seed: use --seeds 3 for its spread): 1 @0, 2 @50 (seed 0 reached step 50 of 100: is progress.steps right?)',
    });
  });
});
