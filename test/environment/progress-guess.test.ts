/**
 * The learning curve `env init --run` proposes from a real log, and the points a declared
 * pattern reads: on grpo-torch's own progress lines, on an epoch/loss log, and end to end on a
 * plain training script run once in the local sandbox.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { main } from '../../src/cli/main.ts';
import { loadEnvironment } from '../../src/environment/load.ts';
import { progressFromLog, progressPoints } from '../../src/environment/progress-guess.ts';
import { tempDir } from '../helpers/sweep.ts';

const GRPO_TORCH_LOG = `seed=0 device=cpu threads=1 params=94476 train_problems=9000 eval_questions=1000
warmup steps=400 greedy_acc=0.899 elapsed=36.8s
step 0/60 reward 0.8800
step 1/60 reward 0.8820 train_reward=0.641 train_exact=0.641 loss=-0.0129 kl=0.0016 clip_frac=0.012 elapsed=37.5s
step 5/60 reward 0.9020 train_reward=0.602 train_exact=0.602 loss=-0.0017 kl=0.0188 clip_frac=0.003 elapsed=39.4s
step 10/60 reward 0.9100 train_reward=0.562 train_exact=0.562 loss=-0.0020 kl=0.0399 clip_frac=0.004 elapsed=41.5s
final greedy_acc(train)=0.947
`;

describe('the progress pattern a log suggests', () => {
  it("picks grpo-torch's reward by step, with the full run's steps from step N/60, and reads its points back", () => {
    const guess = progressFromLog(GRPO_TORCH_LOG, 'accuracy')!;
    expect(guess).toMatchObject({ name: 'reward', steps: 60, stepsFromLog: true, goal: 'maximize' });
    expect(progressPoints(GRPO_TORCH_LOG, guess.pattern)).toEqual([
      { step: 0, value: 0.88 },
      { step: 1, value: 0.882 },
      { step: 5, value: 0.902 },
      { step: 10, value: 0.91 },
    ]);
    // It is a pattern environment.yaml accepts: named groups step and value.
    expect(new RegExp(guess.pattern).exec('step 40/60 reward 0.9360 train_reward=0.570')?.groups).toMatchObject({
      step: '40',
      value: '0.9360',
    });
  });

  it('prefers the metric the reward reads, then held-out measures; a loss is minimised; steps without /N are a guess', () => {
    const log = Array.from({ length: 5 }, (_, i) => `epoch ${i} loss: ${(1 / (i + 1)).toFixed(4)} lr=0.01`).join('\n');
    expect(progressFromLog(log)).toMatchObject({ name: 'loss', steps: 4, stepsFromLog: false, goal: 'minimize' });
    const both = Array.from({ length: 4 }, (_, i) => `[epoch ${i}] train_loss=${1 - i / 10} val_acc=${i / 10} time=${i}s`).join('\n');
    expect(progressFromLog(both)?.name).toBe('val_acc');
    expect(progressFromLog(both, 'train_loss')?.name).toBe('train_loss');
  });

  it('proposes nothing without at least three increasing step lines of one value', () => {
    expect(progressFromLog('accuracy: 0.9\nstep 1 acc 0.3\nstep 2 acc 0.4\n')).toBeNull();
    expect(progressFromLog('step 3 acc 0.3\nstep 2 acc 0.4\nstep 1 acc 0.5\n')).toBeNull();
    expect(progressFromLog('')).toBeNull();
  });
});

const TRAIN_PY = `import random
STEPS = 30
acc = 0.1
for step in range(0, STEPS + 1, 5):
    acc += random.random() * 0.1
    print(f"step {step}/{STEPS} acc {acc:.4f} elapsed={step * 0.1:.1f}s", flush=True)
print(f"val_acc: {acc:.4f}")
`;

describe('env init --run', () => {
  it('writes a progress: that environment.yaml accepts when the real log shows a curve', async () => {
    const repo = path.join(tempDir('curve-repo-'), 'curvy');
    mkdirSync(repo, { recursive: true });
    writeFileSync(path.join(repo, 'train.py'), TRAIN_PY);
    const out = path.join(tempDir('curve-envs-'), 'curvy');
    const lines: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((...a) => void lines.push(a.join(' ')));
    let code: number;
    try {
      code = await main(['env', 'init', repo, '--out', out, '--run']);
    } finally {
      log.mockRestore();
    }
    expect(code, lines.join('\n')).toBe(0);
    expect(lines.join('\n')).toMatch(
      /the real log shows a learning curve \("step \d+\/30 acc [\d.]+ elapsed=[\d.]+s"\): progress: reads it/,
    );
    const text = readFileSync(path.join(out, 'environment.yaml'), 'utf8');
    expect(text).toContain("# steps: the full run's last step, as the log printed it.");
    const progress = parseYaml(text).progress;
    expect(progress).toMatchObject({ steps: 30 });
    expect(loadEnvironment(out).config.progress?.pattern).toBe(progress.pattern);
    expect(progressPoints('step 25/30 acc 0.4125 elapsed=2.5s', progress.pattern)).toEqual([{ step: 25, value: 0.4125 }]);
  }, 120_000);
});
