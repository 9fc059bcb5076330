/**
 * Defining your own environment: `env init` on a plain Python training repo that knows nothing
 * of ai-researcher, fill in the TODOs it lists, and `env check` accepts it.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { surveyRepo } from '../../src/environment/init.ts';
import { QUADRATIC, tempDir } from '../helpers/sweep.ts';

/** A small, ordinary training script: logistic regression on generated data, metrics printed. */
const TRAIN_PY = `import argparse, math, random

LEARNING_RATE = 0.05
EPOCHS = 20

def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    points = [(rng.gauss(0, 1), rng.gauss(0, 1)) for _ in range(400)]
    data = [((x, y), 1 if x + 0.5 * y + rng.gauss(0, 0.5) > 0 else 0) for x, y in points]
    train, val = data[:300], data[300:]
    w = [0.0, 0.0]
    for epoch in range(EPOCHS):
        loss = 0.0
        for (x, y), label in train:
            p = 1 / (1 + math.exp(-(w[0] * x + w[1] * y)))
            loss -= math.log(max(p if label else 1 - p, 1e-9))
            w[0] -= LEARNING_RATE * (p - label) * x
            w[1] -= LEARNING_RATE * (p - label) * y
        print(f"epoch {epoch} loss: {loss / len(train):.4f}")
    correct = sum((w[0] * x + w[1] * y > 0) == bool(label) for (x, y), label in val)
    print(f"val_acc: {correct / len(val):.4f}")

if __name__ == "__main__":
    main()
`;

function plainRepo(): string {
  const dir = path.join(tempDir('plain-repo-'), 'logreg');
  mkdirSync(path.join(dir, 'data'), { recursive: true });
  writeFileSync(path.join(dir, 'train.py'), TRAIN_PY);
  writeFileSync(path.join(dir, 'data', 'README.txt'), 'generated on the fly\n');
  return dir;
}

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

describe('env init and env check', () => {
  it('surveys a plain repo: entry point, printed metric, knobs, data', () => {
    const survey = surveyRepo(plainRepo());
    expect(survey.entryPoint).toBe('train.py');
    // The seed the researcher hands each run (SEED) reaches the script's own --seed.
    expect(survey.command).toBe('python3 train.py --seed $SEED');
    expect(survey.metric).toMatchObject({ name: 'val_acc', goal: 'maximize' });
    expect(survey.knobs.map((k) => k.name)).toEqual(['learning_rate', 'epochs']);
    expect(survey.protectedPaths).toContain('data/**');
  });

  it('writes a file that env check accepts once the listed TODOs are filled', async () => {
    const repo = plainRepo();
    const environments = tempDir('environments-');
    const init = await cli(['env', 'init', repo, '--name', 'logreg', '--out', path.join(environments, 'logreg')]);
    expect(init.code).toBe(0);
    expect(init.out).toMatch(/could not decide \(marked TODO in the file\):\n {2}- description/);
    const file = path.join(environments, 'logreg', 'environment.yaml');

    // Before the TODOs are filled, the check refuses and names them.
    const early = await cli(['env', 'check', path.dirname(file)]);
    expect(early.code).toBe(1);
    expect(early.out).toMatch(/FAIL: still TODO: description/);

    writeFileSync(
      file,
      readFileSync(file, 'utf8').replace(/^description: .*$/m, 'description: "Logistic regression; raise validation accuracy."'),
    );
    const checked = await cli(['env', 'check', path.dirname(file), '--seeds', '2']);
    expect(checked.out).toMatch(/knobs found: learning_rate=0\.05, epochs=20/);
    expect(checked.out).toMatch(/a broken run \(no output\) is refused: no-metric/);
    // Each seed draws its own data now (--seed $SEED), so the spread is measured, not zero by construction.
    expect(checked.out).toMatch(/^PASS: ready for a sweep — baseline reward 0\.\d+ ± [\d.]+ \(std over 2 seeds/m);
    expect(checked.out).toMatch(/! no evaluate step: the reward is read from the run's own output/);
    expect(checked.code).toBe(0);
  });

  it('fails with the reason when the baseline does not produce a reward', async () => {
    const environments = tempDir('environments-');
    const dir = path.join(environments, 'broken');
    mkdirSync(path.join(dir, 'code'), { recursive: true });
    writeFileSync(path.join(dir, 'code', 'train.py'), 'print("no metric here")\n');
    writeFileSync(
      path.join(dir, 'environment.yaml'),
      'name: broken\ndescription: d\ncode: { path: ./code }\neditable: ["*.py"]\nrun: { command: python3 train.py, timeout: 30s }\nreward: { source: regex, pattern: "acc=(\\\\S+)", goal: maximize }\n',
    );
    const checked = await cli(['env', 'check', dir]);
    expect(checked.code).toBe(1);
    expect(checked.out).toMatch(/FAIL: baseline seed 0: no-metric: the output never matched/);
  });

  it('proposes a smoke step where the run can be cut short, and env check runs it', async () => {
    const repo = plainRepo();
    // The same script, with its epochs on the command line: the budget init can cut.
    writeFileSync(
      path.join(repo, 'train.py'),
      TRAIN_PY.replace('EPOCHS = 20\n', '').replace(
        '    args = parser.parse_args()',
        '    parser.add_argument("--epochs", type=int, default=20)\n    args = parser.parse_args()\n    EPOCHS = args.epochs',
      ),
    );
    const out = path.join(tempDir('environments-'), 'logreg');
    expect((await cli(['env', 'init', repo, '--name', 'logreg', '--out', out])).code).toBe(0);
    const file = path.join(out, 'environment.yaml');
    const yaml = readFileSync(file, 'utf8');
    expect(yaml).toMatch(/^smoke:\n {2}command: "python3 train\.py --epochs 2 --seed \$SEED"\n {2}timeout: 5m$/m);
    writeFileSync(file, yaml.replace(/^description: .*$/m, 'description: "Logistic regression."'));
    const checked = await cli(['env', 'check', out]);
    expect(checked.out).toMatch(/smoke step passed on the unmodified code/);
    expect(checked.code).toBe(0);

    // A smoke step that fails on the unmodified code stops the check, with the cause.
    writeFileSync(
      file,
      readFileSync(file, 'utf8').replace(/^smoke:\n {2}command: .*$/m, 'smoke:\n  command: "python3 -c \'import nothing_here\'"'),
    );
    const failed = await cli(['env', 'check', out]);
    expect(failed.code).toBe(1);
    expect(failed.out).toMatch(/FAIL: smoke step \(`python3 -c 'import nothing_here'`\): crashed: it crashed \(exit code 1\)/);
    expect(failed.out).toMatch(/ModuleNotFoundError: No module named 'nothing_here'/);
  });

  it('reports the baseline spread over seeds for the test fixture', async () => {
    const checked = await cli(['env', 'check', QUADRATIC, '--seeds', '3']);
    expect(checked.code).toBe(0);
    expect(checked.out).toMatch(/PASS: .*baseline reward 3\.76 ± 0\.01 \(std over 3 seeds; range 3\.75–3\.77\)/);
  });
});
