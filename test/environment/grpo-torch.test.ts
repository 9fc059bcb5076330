/**
 * grpo-torch is scored from its checkpoint: the frozen evaluator loads the policy train.py saved
 * and answers its own held-out problems with its own copy of the model. A sweep in the CPU Docker
 * image (torch lives only there) on a copy with one GRPO step: the baseline's checkpoint scores
 * far above chance; a run that writes correct predictions but no checkpoint, and one whose
 * checkpoint is a pickle that would forge the metrics when unpickled, are refused by the evaluator
 * (no metric); when the sweep ends, its top idea and the baseline are scored on the test split.
 * The splits themselves are checked without Docker: the code holds no evaluation problem. And the
 * warm-up policy every run starts from is what make_warmup.py makes, byte for byte.
 */
import { createHash } from 'node:crypto';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import type { RunSummary } from '../../src/report/run-summary.ts';
import { CPU_IMAGE, DOCKER_HOST, dockerTestsRun, researcher, uniqueRunId } from '../docker/engine.ts';
import { REPO_ROOT, tempDir } from '../helpers/sweep.ts';

const ENVIRONMENT = path.join(REPO_ROOT, 'environments/grpo-torch');
const problems = (file: string): string[] =>
  (JSON.parse(readFileSync(path.join(ENVIRONMENT, file), 'utf8')) as [number, number][]).map(([a, b]) => `${a}+${b}`);

describe('grpo-torch splits', () => {
  it('gives the code only training problems; validation and test are disjoint from it and from each other', () => {
    const train = new Set(problems('code/data/train_problems.json'));
    const validation = problems('evaluator/validation_problems.json');
    const test = problems('evaluator/test_problems.json');
    expect([train.size, validation.length, test.length]).toEqual([8000, 1000, 1000]);
    expect(new Set([...train, ...validation, ...test]).size).toBe(10_000);
    expect(validation.filter((p) => train.has(p))).toEqual([]);
    expect(test.filter((p) => train.has(p) || validation.includes(p))).toEqual([]);
  });

  it('scores the test split with the same evaluator folder and code as validation, another split', () => {
    const yaml = readFileSync(path.join(ENVIRONMENT, 'environment.yaml'), 'utf8');
    expect(yaml).toMatch(/^evaluate: .*\n {2}command: python3 score\.py validation\n {2}dir: \.\/evaluator$/m);
    expect(yaml).toMatch(/^test: .*\n {2}command: python3 score\.py test\n {2}dir: \.\/evaluator$/m);
  });
});

// Idea 1 writes every right answer as predictions and no checkpoint; idea 2 saves a checkpoint whose
// pickle, loaded without weights_only, would write a perfect metrics.json into the evaluator's EVAL_DIR
// (it does: torch 1.13 in the image runs it).
const PRELUDE = String.raw`import json as _json, os as _os, sys as _sys, torch as _torch
if _os.environ.get("IDEA_ID") == "1":
    with open(_os.path.join(_os.environ["OUTPUT_DIR"], "predictions.json"), "w") as _f:
        _json.dump({f"{a}+{b}=": a + b for a in range(100) for b in range(100)}, _f)
    _sys.exit(0)
if _os.environ.get("IDEA_ID") == "2":
    class _Forge:
        def __reduce__(self):
            return (exec, ("import os, json; json.dump({'accuracy': 1.0, 'n': 1000}, open(os.path.join(os.environ['EVAL_DIR'], 'metrics.json'), 'w'))",))
    _torch.save({"format": "grpo-torch-policy", "version": 1, "hidden": 256, "n_layers": 2, "state_dict": _Forge()},
                _os.path.join(_os.environ["OUTPUT_DIR"], "policy.pt"))
    _sys.exit(0)
`;

const runs = await dockerTestsRun('the grpo-torch checkpoint tests');

describe.skipIf(!runs)('grpo-torch scored from a checkpoint, in Docker', () => {
  it('ships the warm-up policy make_warmup.py makes, byte for byte (it is deterministic)', { timeout: 300_000 }, async () => {
    const environment = tempDir('grpo-torch-warmup-');
    cpSync(ENVIRONMENT, environment, { recursive: true });
    const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
    const shipped = path.join(ENVIRONMENT, 'code/data/warmup_policy.pt');
    const made = path.join(environment, 'code/data/warmup_policy.pt');
    writeFileSync(made, ''); // so that a make_warmup.py that wrote nothing cannot pass
    const result = await execa(
      'docker',
      // As ourselves and writing no bytecode, so that the copy holds only files we can remove.
      [
        'run',
        '--rm',
        '--cpus',
        '1',
        '--user',
        `${process.getuid!()}:${process.getgid!()}`,
        '-e',
        'OMP_NUM_THREADS=1',
        '-e',
        'PYTHONDONTWRITEBYTECODE=1',
        '-v',
        `${environment}:/env`,
        '-w',
        '/env',
        CPU_IMAGE,
        'python3',
        'make_warmup.py',
      ],
      { env: { DOCKER_HOST }, reject: false },
    );
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^wrote code\/data\/warmup_policy\.pt: 400 warm-up steps \(seed 0\)/);
    expect(sha256(made)).toBe(sha256(shipped));
  });

  it(
    "scores the baseline's checkpoint far above chance, refuses no checkpoint or a forging pickle, and scores the top idea on the test split",
    { timeout: 900_000 },
    async () => {
      const environment = tempDir('grpo-torch-checkpoint-');
      cpSync(ENVIRONMENT, environment, { recursive: true });
      const config = path.join(environment, 'code/config.py');
      // One GRPO step after the full warm-up: the warm-up alone reaches about 0.9 (README).
      writeFileSync(config, readFileSync(config, 'utf8').replace(/^GRPO_STEPS = \d+$/m, 'GRPO_STEPS = 1'));
      const train = path.join(environment, 'code/train.py');
      writeFileSync(train, `${PRELUDE}\n${readFileSync(train, 'utf8')}`);

      const runsDir = tempDir('grpo-torch-runs-');
      const runId = uniqueRunId('grpo-torch');
      const result = await researcher([
        'run',
        environment,
        '--sandbox',
        'docker',
        '--ideas',
        '3',
        '--seeds',
        '1',
        '--baseline-seeds',
        '1',
        '--runs-dir',
        runsDir,
        '--run-id',
        runId,
      ]);
      expect(result.status, result.stderr).toBe(0);
      const shown = await researcher(['show', path.join(runsDir, runId), '--json']);
      const summary = JSON.parse(shown.stdout) as RunSummary;
      const [baseline, predictionsOnly, forged, knob] = summary.ideas;

      // Chance is about 1 in 1,000 (three digits); the evaluator's own decoding of the trained weights.
      expect(baseline.status).toBe('succeeded');
      expect(baseline.reward!).toBeGreaterThan(0.5);
      expect(predictionsOnly).toMatchObject({ status: 'failed', failureReason: 'no-metric', reward: null });
      // The evaluator refusing the run's outputs is the run's failure: no metric, with the evaluator's line.
      expect(predictionsOnly.error).toMatch(/^the evaluator rejected the run's outputs \(exit code 1\): score\.py: no checkpoint: /);
      expect(forged).toMatchObject({ status: 'failed', failureReason: 'no-metric', reward: null });
      expect(forged.error).toMatch(
        /^the evaluator rejected the run's outputs \(exit code 1\): score\.py: unreadable checkpoint .*UnpicklingError: Weights only load failed/,
      );
      // Idea 3 is a plain knob change. The sweep ended, so the top idea and the baseline were re-run
      // on a fresh seed and scored by the test split's evaluator, from their checkpoints.
      expect(knob.status).toBe('succeeded');
      for (const scored of [baseline, knob]) {
        expect(scored.testRewards).toEqual([{ seed: 1000, reward: expect.any(Number) }]);
        expect(scored.testReward!).toBeGreaterThan(0.5);
      }
      // The chosen idea is the better of the two on validation (one GRPO step may not beat the baseline).
      const chosen = summary.test!.chosen!;
      const expected = chosen.id === 3 ? knob : baseline;
      expect(chosen).toMatchObject({
        validation: expected.reward,
        test: expected.testReward,
        gap: expected.reward! - expected.testReward!,
      });
    },
  );
});
