/**
 * `researcher env init <repo>` and `researcher env check <environment>`.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../core/errors.ts';
import { checkEnvironment } from '../environment/check.ts';
import { environmentYaml, isDirectory, surveyRepo } from '../environment/init.ts';
import { loadEnvironment } from '../environment/load.ts';
import { parseGpuList } from '../sandbox/gpu-pool.ts';
import { createSandbox } from '../sandbox/index.ts';
import { parseCommand, positiveInt, requirePositional } from './args.ts';

const HELP = `usage:
  researcher env init <path-to-repo> [--name N] [--out DIR]   write environments/<N>/environment.yaml with best guesses
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
  const parsed = parseCommand(args, { name: { type: 'string' }, out: { type: 'string' } }, HELP);
  if (!parsed) return 0;
  const repoDir = path.resolve(requirePositional(parsed.positionals, 'repository folder', HELP));
  if (!isDirectory(repoDir)) throw new UsageError(`${repoDir} is not a folder`);
  const name = (parsed.values.name ?? path.basename(repoDir)).toLowerCase().replace(/[^a-z0-9._-]+/g, '-');
  const environmentDir = path.resolve(parsed.values.out ?? 'environments', name);
  const file = path.join(environmentDir, 'environment.yaml');
  if (existsSync(file)) throw new UsageError(`${path.relative(process.cwd(), file)} already exists; pick another --name`);

  const survey = surveyRepo(repoDir);
  const { yaml, todos } = environmentYaml(name, path.relative(environmentDir, repoDir) || '.', survey);
  mkdirSync(environmentDir, { recursive: true });
  writeFileSync(file, yaml);
  const shown = path.relative(process.cwd(), file);
  console.log(`wrote ${shown}`);
  console.log(`  languages: ${survey.languages.map(([l, n]) => `${l} (${n} files)`).join(', ') || 'none recognised'}`);
  console.log(`  run command: ${survey.command ?? '—'}${survey.commandSource ? ` (from ${survey.commandSource})` : ''}`);
  console.log(`  reward: ${survey.metric ? `"${survey.metric.name}" printed by ${survey.metric.file} (${survey.metric.goal})` : '—'}`);
  console.log(`  knobs: ${survey.knobs.map((k) => k.name).join(', ') || '—'}`);
  console.log(`  protected: ${survey.protectedPaths.join(', ') || '—'}`);
  if (todos.length) {
    console.log(`could not decide (marked TODO in the file):`);
    for (const todo of todos) console.log(`  - ${todo}`);
  }
  console.log(`next: check the guesses, then \`researcher env check ${path.relative(process.cwd(), environmentDir)} --seeds 3\``);
  return 0;
}

async function check(args: string[]): Promise<number> {
  const parsed = parseCommand(args, { seeds: { type: 'string' }, sandbox: { type: 'string' }, gpus: { type: 'string' } }, HELP);
  if (!parsed) return 0;
  const environment = loadEnvironment(requirePositional(parsed.positionals, 'environment folder', HELP));
  const seeds = positiveInt(parsed.values.seeds, '--seeds') ?? 1;
  const gpus = parsed.values.gpus ? parseGpuList(parsed.values.gpus) : [];
  const sandbox = await createSandbox(parsed.values.sandbox ?? 'local', {});
  try {
    await sandbox.preflight({ resources: environment.config.run.resources, gpus, image: environment.config.image });
    console.log(`checking ${environment.config.name} (${seeds} seed${seeds > 1 ? 's' : ''}, ${sandbox.name} sandbox)`);
    const report = await checkEnvironment(environment, {
      seeds,
      sandbox,
      gpus,
      onLine: (line) => console.log(`  ${line.ok ? (line.warning ? '!' : '✓') : '✗'} ${line.message}`),
    });
    console.log(report.verdict);
    return report.passed ? 0 : 1;
  } finally {
    await sandbox.close?.();
  }
}
