/**
 * `researcher run <environment>`: create a run (its own git repository, frozen evaluator and
 * SQLite store under runs/<run-id>/) and sweep.
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { prepareAgent } from '../agents/index.ts';
import { UsageError } from '../core/errors.ts';
import { formatEarlyStop, parseEarlyStop } from '../core/early-stopping.ts';
import { RunConfig } from '../core/run-config.ts';
import { loadEnvironment } from '../environment/load.ts';
import { freezeEvaluator } from '../reward/frozen-evaluator.ts';
import { chooseLocalIsolation } from '../sandbox/isolation.ts';
import { parseGpuList } from '../sandbox/gpu-pool.ts';
import { createStrategy } from '../search/index.ts';
import { ModelUnavailableError, RESUME_HINT } from '../models/retry.ts';
import { DATABASE_FILE, RunStore } from '../store/run-store.ts';
import { GitWorkspace } from '../workspace/git.ts';
import { parseCommand, positiveInt, positiveNumber, requirePositional } from './args.ts';
import { enginesFromFlags, slurmOptionsFromFlags } from './sandbox-flags.ts';
import { EVALUATOR_DIR, TEST_EVALUATOR_DIR, runSession } from './sweep-session.ts';

const HELP = `usage: researcher run <environment> [options]

  --ideas N            ideas to try, the baseline not counted (default 12)
  --seeds S            seeds each idea is evaluated under (default 1)
  --baseline-seeds B   seeds for the baseline, to measure the seed-to-seed noise every gain is
                       judged against (default: 3, or --seeds when more)
  --confirm-seeds E    extra seeds a would-be best idea is re-evaluated with before it counts
                       as best: the baseline's next seeds, so the two compare seed by seed
                       (default: 2, or --seeds when above 1; 0 turns confirmation off)
  --test-top K         environments with a test: evaluator: when the sweep ends, the K best
                       ideas (and the baseline) are re-run on fresh seeds and scored on the test
                       split, which the search never sees (default 3; 0: only \`researcher confirm\`)
  --test-seeds T       fresh seeds for each of them on the test split (default 1)
  --search NAME        search strategy: serial (default), parallel (rounds of best-of-N), evolve
  --build-on base|best serial search: apply each idea on the base commit or on the best idea
  --search-option K=V  strategy setting, repeatable: parallel roundSize; evolve islands,
                       populationSize, seedIdeas, exploration, migrationInterval
  --parallel K         evaluations at once (default: the GPUs given, or 1)
  --gpus LIST          GPU ids to use, e.g. 0,1,2,3
  --agent FILE         agent file or bundled agent: anthropic, openai, openai-compatible, offline
                       (default: offline, the knob-searching agent; it calls no model)
  --sandbox NAME       where runs execute: local (default), docker, slurm
  --unisolated         local: run steps without bubblewrap isolation (recorded in the run; needed
                       for model-written code on a machine without bubblewrap)
  --docker-host URL    docker: an engine to run on (repeatable): unix:///path, tcp://host:port or
                       ssh://user@host, with its GPUs as URL#gpus=0,1 (default: DOCKER_HOST)
  --shared-dir DIR     slurm: a folder every node sees; ideas' code, outputs and logs are staged there
  --slurm-partition P, --slurm-account A, --slurm-qos Q
                       slurm: where jobs go (default: environment.yaml's slurm block, then the cluster's)
  --slurm-isolation M  slurm: bubblewrap around each step on the nodes: auto (where installed,
                       the default), required (a node without it fails the step), off
  --early-stop RULE    stop runs whose learning curve cannot win (environments that declare
                       progress:): on (the default), off, or margin:k=K,grace=G,window=W
  --max-hours H        stop after H hours of sweeping
  --max-cost USD       stop before model spend passes USD
  --hard-stop          at --max-hours/--max-cost, stop running evaluations too (kept for resume)
  --fresh              start without the environment's lab notebook (<runs-dir>/notebooks/<environment>.md);
                       the sweep still writes what it establishes there
  --seed N             seed of the researcher's own randomness (default 0)
  --runs-dir DIR       where runs are kept (default runs/)
  --run-id ID          name of the run folder (default: <environment>-<time>-<random>)`;

/**
 * Noise-honest defaults (see the README's "Seeds and noise" for their cost): three baseline seeds
 * measure the noise once per run; two more seeds for an idea that would become the best (a
 * handful of times a night) let it be compared with the baseline seed by seed on three seeds.
 */
const DEFAULT_BASELINE_SEEDS = 3;
const DEFAULT_CONFIRM_SEEDS = 2;

export async function runCommand(args: string[]): Promise<number> {
  const parsed = parseCommand(
    args,
    {
      ideas: { type: 'string' },
      seeds: { type: 'string' },
      'baseline-seeds': { type: 'string' },
      'confirm-seeds': { type: 'string' },
      'test-top': { type: 'string' },
      'test-seeds': { type: 'string' },
      search: { type: 'string' },
      'search-option': { type: 'string', multiple: true },
      'build-on': { type: 'string' },
      'hard-stop': { type: 'boolean' },
      fresh: { type: 'boolean' },
      parallel: { type: 'string' },
      gpus: { type: 'string' },
      agent: { type: 'string' },
      sandbox: { type: 'string' },
      unisolated: { type: 'boolean' },
      'docker-host': { type: 'string', multiple: true },
      'shared-dir': { type: 'string' },
      'slurm-partition': { type: 'string' },
      'slurm-account': { type: 'string' },
      'slurm-qos': { type: 'string' },
      'slurm-isolation': { type: 'string' },
      'early-stop': { type: 'string' },
      'max-hours': { type: 'string' },
      'max-cost': { type: 'string' },
      seed: { type: 'string' },
      'runs-dir': { type: 'string' },
      'run-id': { type: 'string' },
    },
    HELP,
  );
  if (!parsed) return 0;
  const { values, positionals } = parsed;
  const environment = loadEnvironment(requirePositional(positionals, 'environment folder', HELP));

  const buildOn = values['build-on'] ?? 'base';
  if (buildOn !== 'base' && buildOn !== 'best') throw new UsageError(`--build-on expects base or best, got "${buildOn}"`);
  let gpus: string[] = [];
  try {
    gpus = values.gpus ? parseGpuList(values.gpus) : [];
  } catch (error) {
    throw new UsageError(`--gpus: ${(error as Error).message}`);
  }
  const engines = enginesFromFlags(values.sandbox ?? 'local', values['docker-host'] ?? [], gpus, environment.config.run.resources.gpus);
  gpus = engines.gpus;
  const seeds = positiveInt(values.seeds, '--seeds') ?? 1;
  const runId = values['run-id'] ?? defaultRunId(environment.config.name);
  if (!/^[\w.-]+$/.test(runId)) throw new UsageError(`--run-id may only hold letters, digits, ".", "_" and "-"`);
  const runDir = path.resolve(values['runs-dir'] ?? 'runs', runId);
  if (existsSync(runDir)) {
    // Only a folder holding a run can be resumed; anything else would just fail again there.
    throw new UsageError(
      existsSync(path.join(runDir, DATABASE_FILE))
        ? `${runDir} already holds a run; pick another --run-id, or continue that one with \`researcher resume ${path.relative(process.cwd(), runDir) || runDir}\``
        : `${runDir} already exists and is not a run; pick another --run-id or remove that folder`,
    );
  }

  const sandbox = values.sandbox ?? 'local';
  const agent = await prepareNewRunAgent(values.agent, positiveNumber(values['max-cost'], '--max-cost') ?? null);
  if (values.unisolated && sandbox !== 'local')
    throw new UsageError(`--unisolated is for the local sandbox; the ${sandbox} sandbox isolates its steps itself`);
  const isolation = sandbox === 'local' ? chooseLocalIsolation({ agent, unisolated: values.unisolated ?? false }) : null;

  const config = RunConfig.parse({
    runId,
    createdAt: new Date().toISOString(),
    environmentDir: environment.dir,
    environmentName: environment.config.name,
    goal: environment.config.reward.goal,
    rewardRange: environment.config.reward.range ?? null,
    agent,
    sandbox,
    unisolated: isolation?.isolation === 'none',
    sandboxOptions: {
      ...(isolation ? { isolation: isolation.isolation } : {}),
      ...slurmOptionsFromFlags(values.sandbox ?? 'local', {
        sharedDir: values['shared-dir'],
        partition: values['slurm-partition'],
        account: values['slurm-account'],
        qos: values['slurm-qos'],
        isolation: values['slurm-isolation'],
      }),
      ...engines.sandboxOptions,
    },
    search: values.search ?? 'serial',
    buildOn,
    ideas: positiveInt(values.ideas, '--ideas') ?? 12,
    seeds,
    baselineSeeds: positiveInt(values['baseline-seeds'], '--baseline-seeds') ?? Math.max(seeds, DEFAULT_BASELINE_SEEDS),
    parallel: positiveInt(values.parallel, '--parallel') ?? defaultParallel(gpus, environment.config.run.resources),
    confirmSeeds:
      values['confirm-seeds'] === undefined
        ? seeds > 1
          ? seeds
          : DEFAULT_CONFIRM_SEEDS
        : nonNegativeInt(values['confirm-seeds'], '--confirm-seeds'),
    testTop: values['test-top'] === undefined ? 3 : nonNegativeInt(values['test-top'], '--test-top'),
    testSeeds: positiveInt(values['test-seeds'], '--test-seeds') ?? 1,
    searchOptions: parseSearchOptions(values['search-option'] ?? []),
    hardStop: values['hard-stop'] ?? false,
    fresh: values.fresh ?? false,
    // Parsed now, so a bad rule fails before the run exists; stored as the rule it means.
    earlyStop: formatEarlyStop(parseEarlyStop(values['early-stop'] ?? 'on')),
    gpus,
    maxHours: positiveNumber(values['max-hours'], '--max-hours') ?? null,
    maxCostUsd: positiveNumber(values['max-cost'], '--max-cost') ?? null,
    randomSeed: values.seed === undefined ? 0 : Number(values.seed),
  });

  createStrategy(config); // a bad --search or --search-option fails before anything is created

  mkdirSync(runDir, { recursive: true });
  let store: RunStore;
  let workspace: GitWorkspace;
  try {
    workspace = await GitWorkspace.create(environment, runDir);
    // The evaluator is frozen now: every idea of this run is scored by this exact copy, and its
    // hash is checked before each evaluation.
    const evaluatorHash = environment.evaluatorDir ? freezeEvaluator(environment.evaluatorDir, path.join(runDir, EVALUATOR_DIR)) : null;
    // So is the test evaluator, beside it and as far from the run steps.
    const testEvaluatorHash = environment.testEvaluatorDir
      ? freezeEvaluator(environment.testEvaluatorDir, path.join(runDir, TEST_EVALUATOR_DIR))
      : null;
    store = RunStore.create(runDir, { ...config, evaluatorHash, testEvaluatorHash });
  } catch (error) {
    rmSync(runDir, { recursive: true, force: true });
    throw error;
  }
  console.log(
    `run ${runId}: ${environment.config.name}, ${config.ideas} ideas, agent ${config.agent}, ${config.search} search, ${config.sandbox} sandbox → ${path.relative(process.cwd(), runDir)}`,
  );
  if (isolation?.notice) console.log(isolation.notice);
  try {
    await runSession(store, environment, workspace);
  } finally {
    store.close();
  }
  return 0;
}

/**
 * The agent, checked before the run exists. A model outage here must not say "resume": there is
 * no run yet, so the same command is what to try again.
 */
async function prepareNewRunAgent(flag: string | undefined, maxCostUsd: number | null): Promise<string> {
  try {
    return await prepareAgent(flag, maxCostUsd);
  } catch (error) {
    if (error instanceof ModelUnavailableError && error.message.includes(RESUME_HINT)) {
      throw new ModelUnavailableError(error.message.replace(RESUME_HINT, '; no run was created: try the same command again later'), {
        cause: error,
      });
    }
    throw error;
  }
}

/** As many evaluations at once as the GPUs can hold; 1 on a machine without GPUs. */
function defaultParallel(gpus: string[], resources: { gpus: number; shareGpus: boolean }): number {
  if (gpus.length === 0) return 1;
  if (resources.gpus === 0 || resources.shareGpus) return gpus.length;
  return Math.max(1, Math.floor(gpus.length / resources.gpus));
}

function nonNegativeInt(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`${flag} expects a whole number (0 or more), got "${value}"`);
  return n;
}

/** "--search-option islands=3" → { islands: 3 }. */
function parseSearchOptions(pairs: string[]): Record<string, number> {
  const options: Record<string, number> = {};
  for (const pair of pairs) {
    const match = /^([A-Za-z]\w*)=(.+)$/.exec(pair);
    const value = match ? Number(match[2]) : NaN;
    if (!match || !Number.isFinite(value)) throw new UsageError(`--search-option expects NAME=NUMBER (e.g. islands=3), got "${pair}"`);
    options[match[1]] = value;
  }
  return options;
}

function defaultRunId(environmentName: string): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${environmentName}-${stamp}-${randomBytes(2).toString('hex')}`;
}
