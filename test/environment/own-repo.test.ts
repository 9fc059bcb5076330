/**
 * "Your own repository in ten minutes", as a new user does it: a training repository written like
 * real ones (test/fixtures/tinygpt: a config object set by attribute assignments, `--section.key=value`
 * overrides, a `test score: n/m` print, the script under projects/, unit tests beside it, and a
 * dependency installed only in the user's venv). `env init` must write an environment that is
 * right without edits, `env check` must pass with the venv's interpreter, each failure must say
 * its cause and where the full log is, and a sweep must show a heartbeat for each running idea.
 */
import { execFileSync } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { closest } from '../../src/cli/args.ts';
import { CLEAN_ENV, researcher } from '../agents/cli-harness.ts';
import { QUADRATIC, REPO_ROOT, tempDir } from '../helpers/sweep.ts';

const FIXTURE = path.join(REPO_ROOT, 'test/fixtures/tinygpt');
/** No venv or conda environment of the machine running the tests may decide the interpreter. */
const NO_VENV = { ...CLEAN_ENV, VIRTUAL_ENV: undefined, CONDA_PREFIX: undefined };

let repo: string;
let venv: string;
let environmentDir: string;

/** A real venv (no pip: no network) with the repository's one dependency installed in it. */
function makeVenv(): string {
  const dir = path.join(tempDir('researcher-venv-'), 'venv');
  execFileSync('python3', ['-m', 'venv', '--without-pip', dir]);
  const lib = path.join(dir, 'lib');
  const version = readdirSync(lib).find((name) => name.startsWith('python'))!;
  cpSync(path.join(REPO_ROOT, 'test/fixtures/tinygpt-packages/tinytensor.py'), path.join(lib, version, 'site-packages', 'tinytensor.py'));
  return dir;
}

/** An environment beside the generated one, with its YAML changed by `edit`. */
function variant(name: string, edit: (yaml: string) => string): string {
  const dir = path.join(tempDir(`researcher-${name}-`), name);
  cpSync(environmentDir, dir, { recursive: true });
  const file = path.join(dir, 'environment.yaml');
  writeFileSync(file, edit(readFileSync(file, 'utf8').replace(/^name: .*$/m, `name: ${name}`)));
  return dir;
}

function fullLogPath(output: string): string {
  const match = /full log: (\S+)/.exec(output);
  expect(match, output).not.toBeNull();
  return match![1];
}

describe('env init and env check on a repository written like real ones', () => {
  beforeAll(async () => {
    repo = path.join(tempDir('researcher-repo-'), 'tinygpt');
    cpSync(FIXTURE, repo, { recursive: true });
    venv = makeVenv();
    environmentDir = path.join(tempDir('researcher-envs-'), 'envs', 'adder');
    // The user works in their venv: it is active when they run env init.
    const init = await researcher(['env', 'init', repo, '--out', environmentDir], { ...NO_VENV, VIRTUAL_ENV: venv });
    expect(init.code, init.stderr).toBe(0);
  });

  it('writes exactly where --out says an environment that is right without edits', () => {
    expect(existsSync(path.join(environmentDir, 'environment.yaml'))).toBe(true);
    expect(existsSync(path.join(environmentDir, 'adder'))).toBe(false);
    const text = readFileSync(path.join(environmentDir, 'environment.yaml'), 'utf8');
    expect(text).not.toMatch(/TODO/);
    expect(text).toContain(`researcher env check ${environmentDir} --seeds 3`);
    const env = parseYaml(text);

    expect(env.name).toBe('adder');
    // The training script under projects/, not the unit-test suite; a tenth of its 2000 iterations; each seed its own.
    expect(env.run.command).toBe('python3 projects/adder/adder.py --trainer.max_iters=200 --system.seed=$SEED');
    expect(env.run.env).toEqual({ PYTHONPATH: '.' });
    expect(env.python).toBe(path.join(venv, 'bin', 'python'));

    // "test score: 472/500" is a ratio of the test line, never the train line's numbers.
    expect(env.reward).toMatchObject({ source: 'regex', ratio: true, goal: 'maximize' });
    const pattern = new RegExp(env.reward.pattern);
    expect(pattern.exec('train score: 498/500')).toBeNull();
    expect(pattern.exec('test score: 472/500 = 94.40% correct')?.slice(1, 3)).toEqual(['472', '500']);

    // Knobs from the config object's attribute assignments; the budget is on the command line instead.
    expect(env.knobs.map((k: { name: string }) => k.name)).toEqual(['learning_rate', 'batch_size']);
    expect(env.knobs[0]).toMatchObject({ file: 'projects/adder/adder.py', type: 'float', scale: 'log' });
    expect(new RegExp(env.knobs[0].pattern, 'm').exec(readFileSync(path.join(repo, 'projects/adder/adder.py'), 'utf8'))?.[1]).toBe('5e-4');

    // Editable: the script and the package it imports; the tests are protected, setup.py is read-only.
    expect(env.editable).toEqual(['projects/adder/adder.py', 'tinygpt/*.py']);
    expect(env.protected).toEqual(['tests/**']);
    expect(env.description).toMatch(/^Trains a tiny model to add two two-digit numbers/);
    expect(env.description).toMatch(/[.%]$/); // whole sentences, never cut mid-word
  });

  it('env check passes with the venv interpreter and says which one it used', async () => {
    const checked = await researcher(['env', 'check', environmentDir, '--seeds', '2'], NO_VENV);
    expect(checked.stdout).toContain(`✓ interpreter: ${path.join(venv, 'bin', 'python')} (python: in environment.yaml)`);
    expect(checked.stdout).toMatch(/✓ knobs found: learning_rate=5e-4, batch_size=32/);
    expect(checked.stdout).toMatch(/✓ baseline seed 1: reward 0\.\d+/);
    expect(checked.stdout).toMatch(/^PASS: ready for a sweep/m);
    expect(checked.code).toBe(0);
  });

  it('a missing module names the interpreter used, how to choose another, and the full log', async () => {
    const dir = variant('no-venv', (yaml) => yaml.replace(/^python: .*$/m, ''));
    const checked = await researcher(['env', 'check', dir], NO_VENV);
    expect(checked.code).toBe(1);
    expect(checked.stdout).toMatch(/✗ baseline seed 0: crashed: ModuleNotFoundError: No module named 'tinytensor'/);
    expect(checked.stdout).toMatch(
      /the run used \/\S+ \(the first python3 on PATH; no venv or conda environment was active\), which has no module 'tinytensor'/,
    );
    expect(checked.stdout).toContain(
      'set python: in environment.yaml (e.g. python: .venv/bin/python), or activate its venv or conda environment',
    );
    expect(readFileSync(fullLogPath(checked.stdout), 'utf8')).toMatch(/Traceback[\s\S]*No module named 'tinytensor'/);
  });

  it('a crash shows the exception line, the lines before it and the full log', async () => {
    const dir = variant('crash', (yaml) => yaml.replace(/^(  command: ".*)"$/m, '$1 --trainer.batch_size=-1"'));
    const checked = await researcher(['env', 'check', dir], NO_VENV);
    expect(checked.code).toBe(1);
    expect(checked.stdout).toMatch(
      /✗ baseline seed 0: crashed: the run crashed \(exit code 1\): ValueError: Sample larger than population or is negative/,
    );
    expect(checked.stdout).toMatch(/the lines before it:\n(\s+.*\n)*\s+.*random\.sample/);
    expect(checked.stdout).toMatch(/^FAIL: baseline seed 0: crashed: .*ValueError/m);
    expect(readFileSync(fullLogPath(checked.stdout), 'utf8')).toMatch(
      /command line overwriting config attribute trainer\.batch_size with -1/,
    );
  });

  it('a reward that does not parse shows the lines that nearly matched and the full log', async () => {
    const dir = variant('no-metric', (yaml) =>
      yaml.replace(/^reward: .*$/m, 'reward: { source: regex, pattern: "test accuracy: (\\\\S+)", goal: maximize }'),
    );
    const checked = await researcher(['env', 'check', dir], NO_VENV);
    expect(checked.code).toBe(1);
    expect(checked.stdout).toMatch(/✗ baseline seed 0: no-metric: the output never matched/);
    expect(checked.stdout).toMatch(/lines that nearly matched \/test accuracy: \(\\S\+\)\/:\n\s+test score: \d+\/500 = [\d.]+% correct\n/);
    expect(existsSync(fullLogPath(checked.stdout))).toBe(true);
  });

  it('--run reads the real log when the code prints its score in a way the survey cannot see', async () => {
    const hidden = path.join(tempDir('researcher-repo-'), 'tinygpt');
    cpSync(FIXTURE, hidden, { recursive: true });
    const script = path.join(hidden, 'projects/adder/adder.py');
    const printed = /    print\(f"train score: .*\n    print\(f"test score: .*\n/;
    expect(readFileSync(script, 'utf8')).toMatch(printed);
    writeFileSync(
      script,
      readFileSync(script, 'utf8').replace(
        printed,
        '    for split, (correct, total) in [("train", (train_correct, train_total)), ("test", (test_correct, test_total))]:\n        summary = "%s score: %d/%d" % (split, correct, total)\n        print(summary)\n',
      ),
    );
    const guessed = await researcher(['env', 'init', hidden, '--out', path.join(tempDir('researcher-envs-'), 'guessed')], {
      ...NO_VENV,
      VIRTUAL_ENV: venv,
    });
    expect(guessed.stdout).toMatch(/- reward: no printed metric found/);
    expect(guessed.stdout).toMatch(/to read the real log now, add --run/);

    const out = path.join(tempDir('researcher-envs-'), 'ran');
    const ran = await researcher(['env', 'init', hidden, '--out', out, '--run'], { ...NO_VENV, VIRTUAL_ENV: venv });
    expect(ran.code, ran.stderr).toBe(0);
    expect(ran.stdout).toMatch(/the real log prints "test score: \d+\/500": the reward now reads it/);
    expect(ran.stdout).not.toMatch(/could not decide/);
    const env = parseYaml(readFileSync(path.join(out, 'environment.yaml'), 'utf8'));
    expect(env.reward).toMatchObject({ source: 'regex', ratio: true, goal: 'maximize' });
    expect(new RegExp(env.reward.pattern).exec('test score: 26/500')?.slice(1, 3)).toEqual(['26', '500']);
  });

  it('a sweep shows a heartbeat for each running idea in plain logs', { timeout: 240_000 }, async () => {
    const runsDir = tempDir('researcher-runs-');
    const env = { ...NO_VENV, AI_RESEARCHER_HEARTBEAT_SECONDS: '0.5' };
    const run = await researcher(
      ['run', environmentDir, '--ideas', '2', '--search', 'parallel', '--parallel', '2', '--runs-dir', runsDir, '--run-id', 'adder'],
      env,
    );
    expect(run.code, run.stderr).toBe(0);
    // Each run sleeps 10 ms a step for 200 steps: at least one beat each at 0.5 s.
    for (const name of ['baseline', 'idea 1', 'idea 2']) {
      expect(run.stdout).toMatch(
        new RegExp(`^\\[\\d\\d:\\d\\d:\\d\\d\\] ${name} seed 0: running \\d+s of 30m · (last: .+|no output yet)$`, 'm'),
      );
    }
    expect(run.stdout).toMatch(
      / seed 0: running \d+s of 30m · last: (iter \d+: loss [\d.]+|command line overwriting .*|test score: .*|train score: .*)$/m,
    );

    // Finished: resume says so instead of starting anything.
    const resumed = await researcher(['resume', path.join(runsDir, 'adder')], env);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toMatch(
      /run adder is finished: 2 of 2 ideas done, nothing left to do\. To try more, raise the budget: researcher resume \S+ --ideas 14/,
    );
  });
});

describe('error wording from the same pass', () => {
  it('an unknown flag or command says what was meant', async () => {
    expect(closest('--seds', ['--seeds', '--seed', '--ideas'])).toBe('--seeds');
    expect(closest('--zzz', ['--seeds', '--ideas'])).toBeNull();
    const flag = await researcher(['run', FIXTURE, '--seds', '3'], CLEAN_ENV);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/^error: unknown option --seds; did you mean --seeds\?$/m);
    const command = await researcher(['rn', FIXTURE], CLEAN_ENV);
    expect(command.stderr).toMatch(/^error: unknown command "rn"; did you mean `researcher run`\?$/m);
    const env = await researcher(['env', 'check', FIXTURE, '--sandbx', 'docker'], CLEAN_ENV);
    expect(env.stderr).toMatch(/^error: unknown option --sandbx; did you mean --sandbox\?$/m);
  });

  it('a model that cannot be reached before the run exists does not say resume', async () => {
    // A loopback port nothing listens on: every connection is refused at once.
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    const agentFile = path.join(tempDir('researcher-agent-'), 'down.yaml');
    writeFileSync(
      agentFile,
      `name: down\nmodel:\n  provider: openai-compatible\n  baseUrl: http://127.0.0.1:${port}/v1\n  model: m\nretry: { attempts: 2, initialDelaySeconds: 0.01, maxDelaySeconds: 0.02, maxWaitSeconds: 5 }\n`,
    );
    const runsDir = tempDir('researcher-runs-');
    const result = await researcher(['run', QUADRATIC, '--agent', agentFile, '--runs-dir', runsDir, '--run-id', 'never'], NO_VENV);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/no run was created: try the same command again later/);
    expect(result.stderr).not.toMatch(/resume/);
    expect(existsSync(path.join(runsDir, 'never'))).toBe(false);
  });

  it('a folder that is not a run is not offered to resume', async () => {
    const runsDir = tempDir('researcher-runs-');
    const notRun = path.join(runsDir, 'taken');
    cpSync(FIXTURE, notRun, { recursive: true });
    const result = await researcher(['run', QUADRATIC, '--runs-dir', runsDir, '--run-id', 'taken'], NO_VENV);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/already exists and is not a run; pick another --run-id or remove that folder/);
    expect(result.stderr).not.toMatch(/resume/);
  });
});
