/**
 * `researcher env init <repo>` and `researcher env check <environment>`.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../core/errors.ts';
import { checkEnvironment, runOnce } from '../environment/check.ts';
import { progressFromLog } from '../environment/progress-guess.ts';
import { environmentYaml, isDirectory, metricFromLog, surveyRepo, type MetricGuess } from '../environment/init.ts';
import { crashCause, readLogTail } from '../reward/log-cause.ts';
import { stepFailure } from '../reward/evaluate.ts';
import { extractMetric } from '../reward/metric.ts';
import { describeInterpreter, resolveInterpreter } from '../environment/interpreter.ts';
import { loadEnvironment } from '../environment/load.ts';
import { parseGpuList } from '../sandbox/gpu-pool.ts';
import { createSandbox } from '../sandbox/index.ts';
import { parseCommand, positiveInt, requirePositional } from './args.ts';
import { formatLimit } from '../core/format.ts';

const HELP = `usage:
  researcher env init <path-to-repo> [--name N] [--out DIR] [--run]
                                                              write DIR/environment.yaml (default environments/<N>/) with best
                                                              guesses; --run runs the command once to read the real log
  researcher env check <environment> [--seeds S] [--sandbox NAME] [--gpus LIST]
                                                              validate, run the baseline, give a verdict`;

export async function envCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === 'init') return init(rest);
  if (sub === 'check') return check(rest);
  if (!sub || sub === '--help' || sub === '-h') {
    console.log(HELP);
    return sub ? 0 : 2;
  }
  throw new UsageError(`unknown env command "${sub}"\n${HELP}`);
}

async function init(args: string[]): Promise<number> {
  const parsed = parseCommand(args, { name: { type: 'string' }, out: { type: 'string' }, run: { type: 'boolean' } }, HELP);
  if (!parsed) return 0;
  const repoDir = path.resolve(requirePositional(parsed.positionals, 'repository folder', HELP));
  if (!isDirectory(repoDir)) throw new UsageError(`${repoDir} is not a folder`);
  const out = parsed.values.out;
  // --out DIR is the environment folder itself: DIR/environment.yaml, nothing deeper.
  const name = environmentName(parsed.values.name ?? (out ? path.basename(path.resolve(out)) : path.basename(repoDir)));
  const environmentDir = path.resolve(out ?? path.join('environments', name));
  const file = path.join(environmentDir, 'environment.yaml');
  const shownDir = shortPath(environmentDir);
  if (existsSync(file))
    throw new UsageError(`${path.relative(process.cwd(), file) || file} already exists; pick another --out or --name (or remove it)`);

  const survey = surveyRepo(repoDir);
  // The interpreter the user is working in now (an active venv or conda environment) is the one
  // that has the code's packages: name it in the file, so later runs from another shell use it too.
  // With none active, a venv inside the repository (.venv, venv) is the next best sign of what the code runs in.
  const active = resolveInterpreter({ host: process.env });
  const inRepo = ['.venv/bin/python', 'venv/bin/python'].find((bin) => existsSync(path.join(repoDir, bin)));
  const interpreter = active?.source === 'PATH' && inRepo ? resolveInterpreter({ python: inRepo, baseDir: repoDir }) : active;
  // Relative when the code is near the environment (the pair moves together), else absolute.
  const relativeCode = path.relative(environmentDir, repoDir) || '.';
  const codePath = relativeCode.startsWith(`..${path.sep}..${path.sep}`) ? repoDir : relativeCode;
  let { yaml, todos } = environmentYaml(name, codePath, survey, { interpreter, repoDir, shownDir });
  mkdirSync(environmentDir, { recursive: true });
  writeFileSync(file, yaml);
  if (parsed.values.run && survey.command) {
    // The real log settles what reading the code could only guess: which line carries the metric.
    const { metric: fromLog, logText } = await readRealLog(environmentDir, survey.metric?.pattern ?? null);
    survey.progress = logText === null ? null : progressFromLog(logText, (fromLog ?? survey.metric)?.name ?? null);
    if (survey.progress) console.log(`  the real log shows a learning curve ("${survey.progress.line}"): progress: reads it`);
    if (fromLog || survey.progress) {
      if (fromLog) survey.metric = fromLog;
      ({ yaml, todos } = environmentYaml(name, codePath, survey, { interpreter, repoDir, shownDir }));
      writeFileSync(file, yaml);
    }
  }
  console.log(`wrote ${shortPath(file)}`);
  console.log(`  languages: ${survey.languages.map(([l, n]) => `${l} (${n} files)`).join(', ') || 'none recognised'}`);
  console.log(
    `  run command: ${survey.command ?? '—'}${survey.entryReason ? ` (${survey.entryReason.replace(/^Entry point \S+: /, '')})` : ''}`,
  );
  if (survey.budget) console.log(`  short budget: ${survey.budget.flag}`);
  console.log(
    `  reward: ${survey.metric ? `/${survey.metric.pattern}/${survey.metric.ratio ? ' as a ratio' : ''} from ${survey.metric.file} (${survey.metric.goal})` : '—'}`,
  );
  console.log(`  knobs: ${survey.knobs.map((k) => `${k.name}=${k.value}`).join(', ') || '—'}`);
  console.log(`  editable: ${survey.editable.join(', ') || '—'}`);
  console.log(`  protected: ${survey.protectedPaths.join(', ') || '—'}`);
  console.log(
    `  interpreter: ${interpreter && interpreter.source !== 'PATH' ? `${interpreter.bin} (written as python:)` : `${describeInterpreter(interpreter)}; set python: if the code needs another`}`,
  );
  if (todos.length) {
    console.log(`could not decide (marked TODO in the file):`);
    for (const todo of todos) console.log(`  - ${todo}`);
  }
  if (!parsed.values.run)
    console.log(
      `to read the real log now, add --run: it runs the command once (up to run.timeout) and takes the reward from what it prints`,
    );
  console.log(`next: check the guesses, then \`researcher env check ${shownDir} --seeds 3\` runs the baseline and shows its log`);
  return 0;
}

/**
 * `env init --run`: runs the written environment's command once and reads its log. Returns a
 * reward read from the real output when the guessed one did not match it (null to keep the
 * guess), and the log of a run that succeeded (null when it failed).
 */
async function readRealLog(
  environmentDir: string,
  guessedPattern: string | null,
): Promise<{ metric: MetricGuess | null; logText: string | null }> {
  const environment = loadEnvironment(environmentDir);
  console.log(
    `running the baseline once to read its real log (up to ${formatLimit(environment.config.run.timeout)}; interpreter ${describeInterpreter(environment.interpreter)})`,
  );
  const sandbox = await createSandbox('local', {}, environment);
  let single: Awaited<ReturnType<typeof runOnce>>;
  try {
    single = await runOnce(environment, sandbox);
  } finally {
    await sandbox.close?.();
  }
  const { result, logPath } = single;
  const text = readLogTail(logPath);
  const failure = stepFailure(result, 'run', environment.config.run.timeout);
  if (failure) {
    const { cause, before } = crashCause(text);
    console.log(`  the run failed (${failure.reason}): ${cause ?? failure.message}`);
    for (const line of before) console.log(`      ${line}`);
    console.log(`  full log: ${logPath}`);
    console.log(`  the reward below is still a guess from the code; fix the run, then \`researcher env check\``);
    return { metric: null, logText: null };
  }
  if (guessedPattern && new RegExp(guessedPattern, 'm').test(text)) {
    const scored = extractMetric(environment.config.reward, { dir: path.dirname(logPath), logPath });
    console.log(`  the real log matches the guessed reward${scored.ok ? `: ${scored.reward}` : ''} (log: ${logPath})`);
    return { metric: null, logText: text };
  }
  const found = metricFromLog(text);
  console.log(
    found
      ? `  the real log prints "${found.line}": the reward now reads it (log: ${logPath})`
      : `  no line of the real log looks like a metric (log: ${logPath})`,
  );
  return { metric: found, logText: text };
}

/** A path as the user would type it: relative to here unless that climbs out of it. */
function shortPath(p: string): string {
  const relative = path.relative(process.cwd(), p);
  return !relative ? '.' : relative.startsWith('..') ? p : relative;
}

/** An environment name as the schema wants it: lower case, digits, ".", "_" and "-". */
function environmentName(raw: string): string {
  return (
    raw
      .toLowerCase()
      .replace(/[^a-z0-9._-]+/g, '-')
      .replace(/^[^a-z0-9]+/, '') || 'environment'
  );
}

async function check(args: string[]): Promise<number> {
  const parsed = parseCommand(args, { seeds: { type: 'string' }, sandbox: { type: 'string' }, gpus: { type: 'string' } }, HELP);
  if (!parsed) return 0;
  const environment = loadEnvironment(requirePositional(parsed.positionals, 'environment folder', HELP));
  const seeds = positiveInt(parsed.values.seeds, '--seeds') ?? 1;
  const gpus = parsed.values.gpus ? parseGpuList(parsed.values.gpus) : [];
  const sandbox = await createSandbox(parsed.values.sandbox ?? 'local', {}, environment);
  try {
    await sandbox.preflight({ resources: environment.config.run.resources, gpus, image: environment.config.image });
    console.log(`checking ${environment.config.name} (${seeds} seed${seeds > 1 ? 's' : ''}, ${sandbox.name} sandbox)`);
    const report = await checkEnvironment(environment, {
      seeds,
      sandbox,
      gpus,
      onLine: (line) => {
        console.log(`  ${line.ok ? (line.warning ? '!' : '✓') : '✗'} ${line.message}`);
        for (const detail of line.details ?? []) console.log(`      ${detail}`);
      },
    });
    console.log(report.verdict);
    return report.passed ? 0 : 1;
  } finally {
    await sandbox.close?.();
  }
}
