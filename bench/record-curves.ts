/**
 * `npx tsx bench/record-curves.ts [--parallel N] [--only NAME,…]`: records real learning curves of
 * environments/grpo-torch for the early-stopping benchmark, into bench/curves/grpo-torch-knobs.json (bench/early-stop.ts reads this format too).
 *
 * Each run is the environment's code with some knobs set (config.py lines rewritten through the
 * knobs' own patterns), run in the CPU image with one core (`--cpus 1`, OMP_NUM_THREADS=1, as
 * environment.yaml's run step), its output read line by line with the environment's `progress:`
 * pattern, then scored by the environment's evaluator in the same image. The file is rewritten
 * after every run and runs already in it are skipped, so an interrupted recording resumes.
 *
 * Format of bench/curves/grpo-torch-knobs.json:
 *   { environment, image, progress: { pattern, steps }, goal, recordedAt, host,
 *     runs: [{ name, settings: {knob: value} (empty = the baseline), seed,
 *              points: [{ step, value, seconds }]   (seconds since the run started),
 *              finalReward: number | null           (the evaluator's accuracy; null when it failed),
 *              durationSeconds, failure?: string }] }
 *
 * Needs Docker (DOCKER_HOST) and the image ai-researcher/cpu:latest (AI_RESEARCHER_CPU_IMAGE).
 */
import { spawn } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { knobEdit } from '../src/agents/knobs.ts';
import { loadEnvironment } from '../src/environment/load.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ENVIRONMENT = path.join(ROOT, 'environments', 'grpo-torch');
const OUT_FILE = path.join(ROOT, 'bench', 'curves', 'grpo-torch-knobs.json');
const IMAGE = process.env.AI_RESEARCHER_CPU_IMAGE ?? 'ai-researcher/cpu:latest';

export interface CurvePoint {
  step: number;
  value: number;
  seconds: number;
}

export interface RecordedRun {
  name: string;
  settings: Record<string, string>;
  seed: number;
  points: CurvePoint[];
  finalReward: number | null;
  durationSeconds: number;
  failure?: string;
}

export interface RecordedCurves {
  environment: string;
  image: string;
  progress: { pattern: string; steps: number };
  goal: 'maximize' | 'minimize';
  recordedAt: string;
  host: string;
  runs: RecordedRun[];
}

interface Plan {
  name: string;
  settings: Record<string, string>;
  seed: number;
}

/**
 * Five baseline seeds (the band an idea is compared with), then one knob at a time around the
 * baseline: settings the grpo-torch README measured as worse, better, or that should break
 * learning (a learning rate 10x too high), so the curves cover winners, losers and divergence.
 */
const PLANS: Plan[] = [
  ...[0, 1, 2, 3, 4].map((seed) => ({ name: `baseline-seed${seed}`, settings: {}, seed })),
  { name: 'temperature-0.3', settings: { temperature: '0.3' }, seed: 0 },
  { name: 'temperature-0.3-seed1', settings: { temperature: '0.3' }, seed: 1 },
  { name: 'temperature-0.6', settings: { temperature: '0.6' }, seed: 0 },
  { name: 'temperature-1.5', settings: { temperature: '1.5' }, seed: 0 },
  { name: 'lr-1e-3', settings: { learning_rate: '1e-3' }, seed: 0 },
  { name: 'lr-3e-3', settings: { learning_rate: '3e-3' }, seed: 0 },
  { name: 'lr-1e-4', settings: { learning_rate: '1e-4' }, seed: 0 },
  { name: 'group-4', settings: { group_size: '4' }, seed: 0 },
  { name: 'group-16', settings: { group_size: '16' }, seed: 0 },
  { name: 'clip-0.05', settings: { clip_range: '0.05' }, seed: 0 },
  { name: 'clip-0.4', settings: { clip_range: '0.4' }, seed: 0 },
  { name: 'kl-0', settings: { kl_coef: '0.0' }, seed: 0 },
  { name: 'partial-credit-0.3', settings: { partial_credit: '0.3' }, seed: 0 },
  { name: 'inner-epochs-4', settings: { inner_epochs: '4' }, seed: 0 },
  { name: 'no-adv-normalisation', settings: { normalize_advantages: 'False' }, seed: 0 },
];

function parseArgs(argv: string[]): { parallel: number; only: Set<string> | null } {
  let parallel = 2;
  let only: Set<string> | null = null;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--parallel') parallel = Math.max(1, Number(argv[++i]));
    else if (argv[i] === '--only') only = new Set(argv[++i].split(','));
    else throw new Error(`unknown argument ${argv[i]} (expected --parallel N or --only NAME,…)`);
  }
  return { parallel, only };
}

/** Runs docker with `args`, calling `onLine` for each stdout/stderr line; resolves with the exit code. */
function docker(args: string[], onLine: (line: string) => void): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('docker', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    for (const stream of [child.stdout, child.stderr]) {
      let pending = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        pending += chunk;
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        lines.forEach(onLine);
      });
      stream.on('end', () => pending && onLine(pending));
    }
    child.on('error', reject);
    child.on('close', (code) => resolve(code ?? 1));
  });
}

async function recordRun(plan: Plan, pattern: RegExp, log: (line: string) => void): Promise<RecordedRun> {
  const environment = loadEnvironment(ENVIRONMENT);
  const work = mkdtempSync(path.join(os.tmpdir(), `researcher-curves-${plan.name}-`));
  try {
    const code = path.join(work, 'code');
    const output = path.join(work, 'output');
    const evalDir = path.join(work, 'eval');
    cpSync(path.join(ENVIRONMENT, 'code'), code, { recursive: true });
    for (const dir of [output, evalDir]) {
      mkdirSync(dir);
      chmodSync(dir, 0o777); // the image's user need not be ours
    }
    for (const [name, value] of Object.entries(plan.settings)) {
      const knob = environment.config.knobs.find((k) => k.name === name);
      if (!knob) throw new Error(`grpo-torch has no knob ${name}`);
      const file = path.join(code, knob.file);
      const edit = knobEdit(knob, readFileSync(file, 'utf8'), value);
      if (!edit) throw new Error(`knob ${name}: its pattern is not in ${knob.file}`);
      writeFileSync(file, readFileSync(file, 'utf8').replace(edit.search, edit.replace));
    }

    const points: CurvePoint[] = [];
    const tail: string[] = [];
    const started = Date.now();
    const common = ['run', '--rm', '--network', 'none', '--cpus', '1', '-e', 'OMP_NUM_THREADS=1', '-e', 'PYTHONDONTWRITEBYTECODE=1'];
    const exit = await docker(
      [
        ...common,
        '-e',
        `SEED=${plan.seed}`,
        '-e',
        'OUTPUT_DIR=/output',
        '-v',
        `${code}:/code:ro`,
        '-v',
        `${output}:/output`,
        '-w',
        '/code',
        IMAGE,
        'python3',
        'train.py',
      ],
      (line) => {
        tail.push(line);
        if (tail.length > 5) tail.shift();
        const groups = pattern.exec(line)?.groups;
        if (!groups) return;
        const step = Number(groups.step);
        const value = Number(groups.value);
        if (Number.isFinite(step) && Number.isFinite(value)) points.push({ step, value, seconds: (Date.now() - started) / 1000 });
      },
    );
    const durationSeconds = (Date.now() - started) / 1000;
    const run: RecordedRun = { ...plan, points, finalReward: null, durationSeconds };
    if (exit !== 0) return { ...run, failure: `train.py exited ${exit}: ${tail.at(-1) ?? ''}`.trim() };

    const scoreExit = await docker(
      [
        ...common,
        '-e',
        'OUTPUT_DIR=/output',
        '-e',
        'EVAL_DIR=/eval',
        '-v',
        `${path.join(ENVIRONMENT, 'evaluator')}:/evaluator:ro`,
        '-v',
        `${output}:/output:ro`,
        '-v',
        `${evalDir}:/eval`,
        '-w',
        '/evaluator',
        IMAGE,
        'python3',
        'score.py',
      ],
      (line) => log(`  ${plan.name} score: ${line}`),
    );
    const metrics = path.join(evalDir, 'metrics.json');
    if (scoreExit !== 0 || !existsSync(metrics)) return { ...run, failure: `score.py exited ${scoreExit}` };
    const accuracy: unknown = JSON.parse(readFileSync(metrics, 'utf8')).accuracy;
    return typeof accuracy === 'number' ? { ...run, finalReward: accuracy } : { ...run, failure: 'metrics.json has no numeric accuracy' };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { parallel, only } = parseArgs(process.argv.slice(2));
  const environment = loadEnvironment(ENVIRONMENT);
  const progress = environment.config.progress;
  if (!progress?.pattern) throw new Error('environments/grpo-torch/environment.yaml declares no progress pattern');
  const pattern = new RegExp(progress.pattern);
  const previous: RecordedCurves | null = existsSync(OUT_FILE) ? (JSON.parse(readFileSync(OUT_FILE, 'utf8')) as RecordedCurves) : null;
  const result: RecordedCurves = {
    environment: 'grpo-torch',
    image: IMAGE,
    progress: { pattern: progress.pattern, steps: progress.steps },
    goal: progress.goal ?? (environment.config.reward.goal as 'maximize' | 'minimize'),
    recordedAt: new Date().toISOString(),
    host: `${os.cpus().length} cores, load average ${os.loadavg()[0].toFixed(1)} at the start (shared machine)`,
    runs: previous?.runs ?? [],
  };
  const done = new Set(result.runs.map((run) => run.name));
  const queue = PLANS.filter((plan) => !done.has(plan.name) && (!only || only.has(plan.name)));
  const save = () => {
    mkdirSync(path.dirname(OUT_FILE), { recursive: true });
    const order = new Map(PLANS.map((plan, i) => [plan.name, i]));
    result.runs.sort((a, b) => (order.get(a.name) ?? 0) - (order.get(b.name) ?? 0));
    writeFileSync(OUT_FILE, JSON.stringify(result, null, 1) + '\n');
  };
  const log = (line: string) => console.log(line);
  log(`recording ${queue.length} run(s) of grpo-torch, ${parallel} at a time, into ${path.relative(ROOT, OUT_FILE)}`);
  const worker = async () => {
    for (let plan = queue.shift(); plan; plan = queue.shift()) {
      const run = await recordRun(plan, pattern, log);
      result.runs.push(run);
      save();
      const last = run.points.at(-1);
      log(
        `${run.name}: ${run.failure ?? `reward ${run.finalReward}`}, ${run.points.length} points (last ${last?.value}@${last?.step}), ${run.durationSeconds.toFixed(0)}s`,
      );
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    console.error(`record-curves: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
