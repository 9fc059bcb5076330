/**
 * An evaluator that answers held-out questions with the run's checkpoint itself needs a GPU:
 * `evaluate.gpus: N` gives it the first N of the GPUs the idea holds (none by default), and an
 * environment asking for more than the run's is refused when it is loaded.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadEnvironment } from '../../src/environment/load.ts';
import { copyEnvironment, createTestRun, scriptedCoder, scriptedThinker, setX } from '../helpers/sweep.ts';

/** The quadratic fixture with one GPU per run; its evaluator's reward is the GPU id it was shown (-1: none). */
function gpuEnvironment(evaluatorGpus: number | null, runGpus = 1): string {
  const dir = copyEnvironment();
  const file = path.join(dir, 'environment.yaml');
  const yaml = readFileSync(file, 'utf8')
    .replace('  timeout: 20s\nevaluate:', `  timeout: 20s\n  resources: { gpus: ${runGpus} }\nevaluate:`)
    .replace('  dir: ./evaluator\n', `  dir: ./evaluator\n${evaluatorGpus === null ? '' : `  gpus: ${evaluatorGpus}\n`}`);
  writeFileSync(file, yaml);
  writeFileSync(
    path.join(dir, 'evaluator/score.py'),
    // Two GPUs shown would not parse as one number: the score would be missing.
    'import json, os\nshown = os.environ.get("CUDA_VISIBLE_DEVICES", "")\nwith open(os.path.join(os.environ["EVAL_DIR"], "metrics.json"), "w") as f:\n    json.dump({"score": float(shown) if shown else -1}, f)\n',
  );
  return dir;
}

async function baselineReward(environmentDir: string, gpus = ['7']): Promise<number | null> {
  const run = await createTestRun(environmentDir, { ideas: 1, gpus });
  await run.sweep({ thinker: scriptedThinker([{ title: 'x 1' }]), coder: scriptedCoder([setX('1')]) });
  return run.store.idea(0)!.reward;
}

describe('evaluate.gpus', () => {
  it("shows the evaluator the run's GPU when it asks for one, and none by default", async () => {
    expect(await baselineReward(gpuEnvironment(1))).toBe(7);
    expect(await baselineReward(gpuEnvironment(null))).toBe(-1);
    // A run holding two GPUs: the evaluator asking for one gets the first of them only.
    expect(await baselineReward(gpuEnvironment(1, 2), ['3', '5'])).toBe(3);
  }, 60_000);

  it("refuses an evaluator asking for more GPUs than the run's, saying so", () => {
    expect(() => loadEnvironment(gpuEnvironment(2))).toThrow(/evaluate\.gpus.*at most the run's GPUs \(run\.resources\.gpus is 1\)/s);
  });
});
