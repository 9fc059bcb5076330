/**
 * (Over 400 lines on purpose: one survey of a repository — entry point, command and its budget
 * override, editable and protected paths, the YAML — read top to bottom in the order a researcher
 * reads a new repository; the metric and knob guesses are in init-guesses.ts.)
 *
 * `researcher env init <repo>`: read a codebase that was not written for ai-researcher the way a
 * researcher would, and write a commented environment.yaml, marking as TODO only what it cannot
 * know (each TODO says what to fill in).
 *
 * - The entry point is the script that trains, not the test suite: a `train*.py`, a script the
 *   README runs, a `projects/*` or `scripts/*` script, a `__main__` that builds an optimiser.
 * - The run command gets a short-budget override in the form the script accepts (`--a.b=N` for a
 *   config object, `--steps N` for argparse, `STEPS=N` for an environment variable), and the seed.
 * - Knobs are the forms real code uses: module constants, argparse defaults, config-object
 *   assignments (`C.trainer.learning_rate = 5e-4`), dataclass fields, YAML/JSON config files.
 * - The reward is what the code prints: "test score: 472/500" becomes a ratio, `val_loss` is
 *   minimised, a test/validation metric wins over a training one.
 * - Editable files are the entry point and the repository modules it imports; tests, data and
 *   evaluation code are protected.
 * Every guess is explained in a comment beside it so the user can check it.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { ProgressGuess } from './progress-guess.ts';
import { BUDGET_WORD, SEED_WORD, escapeRegex, findKnobs, findMetric, type KnobGuess, type MetricGuess } from './init-guesses.ts';
import type { Interpreter } from './interpreter.ts';

export { metricFromLog, type KnobGuess, type MetricGuess } from './init-guesses.ts';

export interface RepoSurvey {
  languages: [string, number][];
  entryPoint: string | null;
  /** Why this entry point (for the comment and the summary). */
  entryReason: string | null;
  command: string | null;
  commandSource: string | null;
  /** The override that keeps one experiment short, explained; null when none was found. */
  budget: { flag: string; note: string } | null;
  /** Variables the run needs (PYTHONPATH when the script imports the repository's own package). */
  env: Record<string, string>;
  envNote: string | null;
  metric: MetricGuess | null;
  /** The learning curve the real log shows (`env init --run`, progress-guess.ts); absent without one. */
  progress?: ProgressGuess | null;
  knobs: KnobGuess[];
  editable: string[];
  context: string[];
  protectedPaths: string[];
  description: string | null;
  files: string[];
}

const SKIP_DIRS = new Set([
  '.git',
  'node_modules',
  '__pycache__',
  '.venv',
  'venv',
  'env',
  '.mypy_cache',
  '.pytest_cache',
  'dist',
  'build',
  'wandb',
  'outputs',
  'checkpoints',
  'site-packages',
]);
const LANGUAGES: Record<string, string> = {
  '.py': 'Python',
  '.ts': 'TypeScript',
  '.js': 'JavaScript',
  '.sh': 'shell',
  '.rs': 'Rust',
  '.go': 'Go',
  '.jl': 'Julia',
  '.cpp': 'C++',
  '.cu': 'CUDA',
  '.c': 'C',
};
/** A test suite, not the training code: never the entry point, never editable. */
const TEST_LIKE = /(^|\/)(tests?|testing)\/|(^|\/)(test_[^/]*|[^/]*_test|conftest)\.py$/i;
const EVAL_SEGMENT =
  /^(eval|evals|evaluate|evaluation|evaluator|metrics?|score|scoring|tests?|testing|heldout|held_out|benchmarks?)(\.[a-z]+)?$|^test_.*\.py$|_test\.py$|^conftest\.py$/i;
const DATA_SEGMENT = /^(data|datasets?|answers?)$/i;
const DATA_FILE = /\.(csv|jsonl|parquet|npy|npz|pt|pth|bin|arrow|pkl|h5)$/i;
const NOT_ENTRY = /(^|\/)(setup|conftest|__init__|version|_version)\.py$|(^|\/)docs?\//i;

export function surveyRepo(repoDir: string): RepoSurvey {
  const files = listFiles(repoDir);
  const counts = new Map<string, number>();
  for (const file of files) {
    const language = LANGUAGES[path.extname(file)];
    if (language) counts.set(language, (counts.get(language) ?? 0) + 1);
  }
  const languages = [...counts.entries()].sort((a, b) => b[1] - a[1]);
  const cache = new Map<string, string>();
  const read = (file: string) => {
    if (!cache.has(file)) cache.set(file, readFileSync(path.join(repoDir, file), 'utf8'));
    return cache.get(file)!;
  };

  const readmes = files.filter((f) => /(^|\/)readme(\.md|\.txt|\.rst)?$/i.test(f));
  const readmeCommands = readmes.flatMap((readme) => runCommands(read(readme)).map((line) => ({ readme, line })));
  const pyFiles = files.filter((f) => f.endsWith('.py'));

  const entry = chooseEntryPoint(pyFiles, read, readmeCommands, files);
  const entryPoint = entry?.file ?? null;
  const source = entryPoint ? read(entryPoint) : '';

  const localModules = entryPoint ? importedModules(entryPoint, pyFiles, read) : [];
  const editable = entryPoint ? [entryPoint, ...localModules.filter((f) => !TEST_LIKE.test(f) && !isProtected(f))] : [];

  // The command: the README's line when it runs the entry point, else python3 <entry>.
  const readmeLine = entryPoint ? readmeCommands.find((c) => mentionsScript(c.line, entryPoint, c.readme)) : undefined;
  let command: string | null = null;
  let commandSource: string | null = null;
  let budget: RepoSurvey['budget'] = null;
  if (entryPoint) {
    const base =
      readmeLine && !/^cd\b/.test(readmeLine.line) && readmeLine.line.includes(entryPoint) ? readmeLine.line : `python3 ${entryPoint}`;
    commandSource = readmeLine ? `${readmeLine.readme} and ${entryPoint}` : entryPoint;
    const overrides = commandOverrides(source);
    budget = overrides.budget;
    command = [overrides.envPrefix, base, ...overrides.flags].filter(Boolean).join(' ');
  }

  // A script under projects/ that imports the repository's own package finds it only from the root.
  const env: Record<string, string> = {};
  let envNote: string | null = null;
  const packages = entryPoint ? rootPackagesImported(source, files) : [];
  if (entryPoint && entryPoint.includes('/') && packages.length) {
    env.PYTHONPATH = '.';
    envNote = `${entryPoint} imports ${packages.join(', ')} from the repository root (PYTHONPATH=. also wins over an installed copy, so ideas' edits take effect)`;
  }

  const metric = findMetric(
    [entryPoint, ...localModules, ...pyFiles.filter((f) => !TEST_LIKE.test(f))].filter((f): f is string => !!f),
    read,
  );

  const budgetName = budget ? budget.flag.replace(/^-+/, '').split(/[= ]/)[0] : null;
  const knobs: KnobGuess[] = [];
  const knobFiles = [
    entryPoint,
    ...files.filter((f) => /(^|\/)(config|configs|hparams|hyperparams)\.(py|ya?ml|json)$/i.test(f) && !TEST_LIKE.test(f)),
  ];
  for (const file of [...new Set(knobFiles.filter((f): f is string => !!f))]) {
    for (const knob of findKnobs(read(file), file)) {
      // The budget is set on the command line, where a knob could not change it.
      if (budgetName && (knob.name === budgetName || budgetName.endsWith(`.${knob.name}`) || budgetName.replace(/\./g, '_') === knob.name))
        continue;
      if (!knobs.some((k) => k.name === knob.name)) knobs.push(knob);
      else if (!knobs.some((k) => k.file === knob.file && k.pattern === knob.pattern))
        knobs.push({ ...knob, name: `${knob.name}_${path.basename(file).replace(/\W+/g, '_')}` });
    }
  }
  for (const knob of knobs) if (!editable.includes(knob.file)) editable.push(knob.file);

  const protectedPaths = [
    ...new Set(
      files
        .filter((f) => !editable.includes(f))
        .map(protectedGlob)
        .filter((g): g is string => !!g),
    ),
  ];
  const entryReadme = entryPoint ? readmes.find((r) => path.dirname(r) === path.dirname(entryPoint) && r.includes('/')) : undefined;
  const rootReadme = readmes.find((r) => !r.includes('/'));
  const description = [entryReadme, rootReadme].map((r) => (r ? firstParagraph(read(r)) : null)).find(Boolean) ?? null;

  return {
    languages,
    entryPoint,
    entryReason: entry?.reason ?? null,
    command,
    commandSource,
    budget,
    env,
    envNote,
    metric,
    knobs,
    editable,
    context: editable.slice(0, 12),
    protectedPaths,
    description,
    files,
  };
}

export interface YamlOptions {
  /** The interpreter to write as `python:` (the active venv when env init ran), if any. */
  interpreter?: Interpreter | null;
  /** The repository folder, absolute: a `python:` inside it is written relative to it. */
  repoDir?: string;
  /** What the header tells the user to run: the environment folder as they would type it. */
  shownDir?: string;
}

/** The environment.yaml text for a surveyed repo, and the list of things left TODO. */
export function environmentYaml(
  name: string,
  codePath: string,
  survey: RepoSurvey,
  options: YamlOptions = {},
): { yaml: string; todos: string[] } {
  const todos: string[] = [];
  const q = (value: string) => JSON.stringify(value);
  const list = (values: string[]) => `[${values.map(q).join(', ')}]`;
  const lines: string[] = [`name: ${name}`];

  const goalText = survey.metric
    ? ` The reward is "${survey.metric.name}"${survey.metric.ratio ? ' as a fraction' : ''}, ${survey.metric.goal === 'maximize' ? 'higher is better' : 'lower is better'}.`
    : '';
  if (survey.description) {
    lines.push(
      '# From the README; the thinker reads it: say what should improve and which changes make sense.',
      `description: ${q(`${survey.description}${goalText}`)}`,
    );
  } else {
    todos.push('description: what the code does and what should improve, written for the thinker');
    lines.push('description: "TODO: what the code does, what the reward measures, what kinds of changes make sense"');
  }
  lines.push('code:', `  path: ${q(codePath)}`);

  if (options.interpreter && options.interpreter.source !== 'PATH') {
    const relative = options.repoDir ? path.relative(options.repoDir, options.interpreter.bin) : '';
    const shown = relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : options.interpreter.bin;
    lines.push(
      `# The interpreter active when env init ran (${options.interpreter.source}); runs put its folder first on PATH.`,
      `python: ${q(shown)}`,
    );
  } else {
    lines.push(
      "# python: .venv/bin/python   # the interpreter with the code's packages; default: the active venv or conda environment, else python3 on PATH",
    );
  }

  const editable = survey.editable.length ? editableGlobs(survey.editable, survey.files) : [];
  lines.push(`# Languages: ${survey.languages.map(([l, n]) => `${l} (${n})`).join(', ') || 'none recognised'}.`);
  lines.push('# Files the thinker and coder read.', `context: ${list(survey.context.length ? survey.context : editable)}`);
  if (editable.length) {
    lines.push(`# The entry point and the repository modules it imports; everything else is read-only.`, `editable: ${list(editable)}`);
  } else {
    todos.push('editable: globs of the files a diff may change (the training code)');
    lines.push('editable: ["TODO: globs of the files a diff may change"]');
  }
  lines.push('# Tests, data and evaluation code: never editable.', `protected: ${list(survey.protectedPaths)}`);

  lines.push('run:');
  if (survey.command) {
    lines.push(`  # ${survey.entryReason ?? `From ${survey.commandSource}`}.`);
    if (survey.budget) lines.push(`  # ${survey.budget.note}`);
    lines.push(`  command: ${q(survey.command)}`);
  } else {
    todos.push('run.command: the command that trains and prints or writes the metric');
    lines.push('  command: "TODO: the command that runs one experiment"');
  }
  if (Object.keys(survey.env).length) {
    if (survey.envNote) lines.push(`  # ${survey.envNote}.`);
    lines.push(
      `  env: { ${Object.entries(survey.env)
        .map(([k, v]) => `${k}: ${q(v)}`)
        .join(', ')} }`,
    );
  }
  lines.push(
    '  # A guess: raise it to what one experiment needs (env check shows how long the baseline takes).',
    '  timeout: 30m',
    '  resources: { gpus: 0 }',
  );

  lines.push(...smokeLines(survey));

  lines.push('# How a run becomes a reward.');
  if (survey.metric) {
    const m = survey.metric;
    lines.push(
      `# ${m.file} prints ${m.line.includes('"') ? `'${m.line}'` : `"${m.line}"`}; the last value printed is the reward${m.ratio ? ' (count/total → ratio)' : ''}.`,
      '# Better: an evaluate step whose evaluator lives outside the code (see environments/README.md).',
      `reward: { source: regex, pattern: ${q(m.pattern)},${m.ratio ? ' ratio: true,' : ''} goal: ${m.goal} }`,
    );
  } else {
    todos.push(
      'reward: no printed metric found; give a regex over the output whose first group is the metric, or a JSON file the run writes',
    );
    lines.push('reward: { source: regex, pattern: "TODO: a regex whose first group is the metric", goal: maximize }');
  }

  if (survey.progress) {
    const p = survey.progress;
    const rewardGoal = survey.metric?.goal ?? 'maximize';
    lines.push(
      `# The run's log prints ${p.line.includes('"') ? `'${p.line}'` : `"${p.line}"`}: its learning curve is "${p.name}" by step.`,
      p.stepsFromLog
        ? "# steps: the full run's last step, as the log printed it."
        : '# steps: a guess, the last step this run printed; set it to the step a full run reaches.',
      `progress: { pattern: ${q(p.pattern)}, steps: ${p.steps}${p.goal !== rewardGoal ? `, goal: ${p.goal}` : ''} }`,
    );
  }

  if (survey.knobs.length) {
    lines.push('# Numeric settings the offline agent may search; ranges are guesses around the current values.', 'knobs:');
    for (const knob of survey.knobs) {
      lines.push(
        `  - { name: ${knob.name}, file: ${q(knob.file)}, pattern: ${q(knob.pattern)}, type: ${knob.type}, min: ${knob.min}, max: ${knob.max}, scale: ${knob.scale} }`,
      );
    }
  } else {
    lines.push('# No numeric settings found for the offline agent; LLM agents work without knobs.', 'knobs: []');
  }
  const header = [
    `# Written by \`researcher env init\`: each guess is explained beside it; check them${todos.length ? ', fill in each TODO' : ''},`,
    `# then run \`researcher env check ${options.shownDir ?? `environments/${name}`} --seeds 3\`.`,
  ];
  return { yaml: `${[...header, ...lines].join('\n')}\n`, todos };
}

// ─── Reading the repository ────────────────────────────────────────────────────────────────

/**
 * A smoke step where the run's budget could be cut on the command line: the same command with
 * the budget at two steps, so code that crashes fails in seconds, before its full run. Without
 * such a setting, a comment says what a smoke step is for.
 */
function smokeLines(survey: RepoSurvey): string[] {
  const { command, budget } = survey;
  if (command && budget && command.includes(budget.flag) && /\d+$/.test(budget.flag)) {
    const smoke = command.replace(budget.flag, budget.flag.replace(/\d+$/, '2'));
    return [
      '# A short run before each full run (the budget at 2): code that crashes fails here in seconds and',
      '# goes back to the coder with its traceback. env check runs it on the unmodified code.',
      'smoke:',
      `  command: ${JSON.stringify(smoke)}`,
      '  timeout: 5m',
    ];
  }
  return [
    '# smoke: a short version of the run (a few steps, its own timeout) run before each full run, so',
    '# code that crashes fails in seconds and goes back to the coder; add one if the run can be cut short:',
    '# smoke: { command: "python train.py --max-steps 2", timeout: 5m }',
  ];
}

function listFiles(root: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(path.join(root, prefix), { withFileTypes: true })) {
    if (SKIP_DIRS.has(entry.name) || entry.name.startsWith('.')) continue;
    const relative = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) {
      // A virtual environment under another name (pyvenv.cfg) is not the code.
      if (existsSync(path.join(root, relative, 'pyvenv.cfg'))) continue;
      out.push(...listFiles(root, relative));
    } else if (entry.isFile()) out.push(relative);
    if (out.length > 20_000) break;
  }
  return out;
}

/** Shell lines in a README's code blocks that run something (install lines and test runners excluded). */
function runCommands(readme: string): string[] {
  const commands: string[] = [];
  for (const block of readme.matchAll(/```[a-z]*\n([\s\S]*?)```/g)) {
    for (const raw of block[1].split('\n')) {
      const line = raw.replace(/^\s*\$\s*/, '').trim();
      if (
        /^(python3?|torchrun|accelerate launch|bash|sh|\.\/|uv run|cd)\b/.test(line) &&
        !/pip install|setup\.py|unittest|pytest|\btests?\//.test(line)
      ) {
        commands.push(line.replace(/^python\b/, 'python3'));
      }
    }
  }
  return commands;
}

function mentionsScript(line: string, script: string, readme: string): boolean {
  const fromReadme = path.posix.relative(path.posix.dirname(readme), script);
  return line.includes(script) || (path.posix.dirname(readme) !== '.' && new RegExp(`\\b${escapeRegex(fromReadme)}\\b`).test(line));
}

function chooseEntryPoint(
  pyFiles: string[],
  read: (file: string) => string,
  readmeCommands: { readme: string; line: string }[],
  files: string[],
): { file: string; reason: string } | null {
  let best: { file: string; reason: string; score: number } | null = null;
  for (const file of pyFiles) {
    if (TEST_LIKE.test(file) || NOT_ENTRY.test(file) || isProtected(file)) continue;
    const source = read(file);
    const isMain = /^if __name__ == ['"]__main__['"]\s*:/m.test(source);
    const base = path.posix.basename(file);
    const reasons: string[] = [];
    let score = 0;
    if (readmeCommands.some((c) => mentionsScript(c.line, file, c.readme))) {
      score += 6;
      reasons.push('the README runs it');
    }
    if (/^train/i.test(base)) {
      score += 5;
      reasons.push(`it is named ${base}`);
    } else if (/^(main|run|experiment)\.py$/i.test(base)) score += 2;
    if (/^(projects|scripts|examples|experiments)\//.test(file)) {
      score += 3;
      reasons.push(`it is a script under ${file.split('/')[0]}/`);
    }
    const trains = /\.backward\(|optimizer|optim\.|\bTrainer\b|\.fit\(|for \w+ in range\(.*(epoch|iter|step)|\b(train|epoch)\b/i.test(
      source,
    );
    if (trains) score += 2;
    if (isMain) score += 2;
    // A module inside a package without a __main__ block is a library, not a script.
    const inPackage = file.includes('/') && files.includes(`${path.posix.dirname(file)}/__init__.py`);
    if (inPackage && !isMain) continue;
    if (!isMain && !/^(import|from|print|\w+\s*=)/m.test(source)) continue;
    if (findMetric([file], read)) {
      score += 2;
      reasons.push('it prints the metric');
    }
    if (trains && isMain) reasons.push('its __main__ trains');
    score -= file.split('/').length * 0.1;
    if (!best || score > best.score) best = { file, score, reason: reasons.length ? reasons.join(', ') : 'it has a __main__ block' };
  }
  return best ? { file: best.file, reason: `Entry point ${best.file}: ${best.reason}` } : null;
}

/** Python files of the repository that `file` imports, directly or through each other. */
function importedModules(file: string, pyFiles: string[], read: (f: string) => string): string[] {
  const seen = new Set<string>([file]);
  const queue = [file];
  while (queue.length) {
    const current = queue.shift()!;
    for (const target of localImports(current, read(current), pyFiles)) {
      if (!seen.has(target)) {
        seen.add(target);
        queue.push(target);
      }
    }
  }
  seen.delete(file);
  return [...seen].sort();
}

function localImports(file: string, source: string, pyFiles: string[]): string[] {
  const found: string[] = [];
  const resolve = (dotted: string, from: string[]) => {
    const parts = dotted.split('.');
    for (const root of from) {
      const base = path.posix.join(root, ...parts);
      for (const candidate of [`${base}.py`, `${base}/__init__.py`])
        if (pyFiles.includes(candidate.replace(/^\.\//, ''))) found.push(candidate.replace(/^\.\//, ''));
    }
  };
  const dir = path.posix.dirname(file);
  const roots = ['.', dir];
  for (const match of source.matchAll(/^[ \t]*from[ \t]+(\.*)([\w.]*)[ \t]+import[ \t]+([\w \t,*()]+)/gm)) {
    const [, dots, module, names] = match;
    let from = roots;
    if (dots) {
      let up = dir;
      for (let i = 1; i < dots.length; i++) up = path.posix.dirname(up);
      from = [up];
    }
    if (module) resolve(module, from);
    // `from pkg import model` may name a submodule.
    for (const name of names
      .replace(/[()]/g, '')
      .split(',')
      .map((n) => n.trim().split(/\s+/)[0])
      .filter(Boolean)) {
      resolve(module ? `${module}.${name}` : name, from);
    }
  }
  for (const match of source.matchAll(/^[ \t]*import[ \t]+([\w., \t]+)/gm)) {
    for (const module of match[1].split(',').map((m) => m.trim().split(/\s+/)[0])) resolve(module, roots);
  }
  // Importing pkg.module runs pkg/__init__.py first: it is part of what the script runs.
  for (const module of [...found]) {
    for (let dir = path.posix.dirname(module); dir !== '.'; dir = path.posix.dirname(dir)) {
      if (pyFiles.includes(`${dir}/__init__.py`)) found.push(`${dir}/__init__.py`);
    }
  }
  return [...new Set(found)];
}

/** Top-level packages of the repository that a script imports (`from tinygpt.model import GPT` → tinygpt). */
function rootPackagesImported(source: string, files: string[]): string[] {
  const names = new Set<string>();
  for (const match of source.matchAll(/^\s*(?:from\s+([A-Za-z_]\w*)[\w.]*\s+import|import\s+([A-Za-z_]\w*))/gm)) {
    const name = match[1] ?? match[2];
    if (files.includes(`${name}/__init__.py`) || files.includes(`${name}.py`)) names.add(name);
  }
  return [...names];
}

/** Flags that make one experiment short and give each seed its own randomness, in the script's own style. */
function commandOverrides(source: string): { flags: string[]; envPrefix: string; budget: RepoSurvey['budget'] } {
  const flags: string[] = [];
  let envPrefix = '';
  let budget: RepoSurvey['budget'] = null;
  const shorten = (flag: string, name: string, value: string, style: string) => {
    const n = Number(value);
    const short = Math.max(1, Math.round(n / 10));
    budget = {
      flag: flag.replace('{}', String(short)),
      note: `${flag.replace('{}', String(short))}: a tenth of the script's ${name} = ${value} (${style}), so one experiment is quick; raise it once env check shows the time a run takes.`,
    };
    return flag.replace('{}', String(short));
  };

  // A config object (`C.trainer.max_iters = 2000`) with `--section.key=value` overrides from sys.argv.
  const dottedOverrides = /merge_from_args|--[\w]+\.[\w.]+=|sys\.argv/.test(source);
  const configAssignments = [...source.matchAll(/^\s*([A-Za-z_]\w*)\.((?:\w+\.)*\w+)\s*=\s*([-+]?[\d][\d_.eE+-]*)\s*(#.*)?$/gm)].filter(
    (m) => m[1] !== 'self',
  );
  if (dottedOverrides && configAssignments.length) {
    const budgetAssignment = configAssignments.find((m) => BUDGET_WORD.test(m[2].split('.').pop()!) && Number(m[3]) > 1);
    if (budgetAssignment)
      flags.push(
        shorten(
          `--${budgetAssignment[2]}={}`,
          `${budgetAssignment[1]}.${budgetAssignment[2]}`,
          budgetAssignment[3],
          'a --section.key=value override',
        ),
      );
    const seed = configAssignments.find((m) => SEED_WORD.test(m[2].split('.').pop()!));
    if (seed) flags.push(`--${seed[2]}=$SEED`);
    return { flags, envPrefix, budget };
  }

  // argparse: `parser.add_argument("--max-steps", type=int, default=1000)`.
  const argparse = [...source.matchAll(/add_argument\(\s*['"](--[\w-]+)['"][^)]*?default\s*=\s*([-+]?[\d][\d_.eE+-]*)/g)];
  const argBudget = argparse.find((m) => BUDGET_WORD.test(m[1].replace(/^--/, '').replace(/-/g, '_')) && Number(m[2]) > 1);
  if (argBudget) flags.push(shorten(`${argBudget[1]} {}`, argBudget[1], argBudget[2], 'an argparse default'));
  const argSeed = [...source.matchAll(/add_argument\(\s*['"](--(?:seed|random[-_]seed))['"]/g)][0];
  if (argSeed) flags.push(`${argSeed[1]} $SEED`);

  // Environment variables: `int(os.environ.get("MAX_STEPS", 1000))`.
  const envBudget = [...source.matchAll(/os\.(?:environ\.get|getenv)\(\s*['"](\w+)['"]\s*,\s*['"]?([\d][\d_.eE+-]*)/g)].find(
    (m) => BUDGET_WORD.test(m[1].toLowerCase()) && Number(m[2]) > 1,
  );
  if (!argBudget && envBudget) envPrefix = shorten(`${envBudget[1]}={}`, envBudget[1], envBudget[2], 'an environment variable');
  return { flags, envPrefix, budget };
}

function firstParagraph(readme: string): string | null {
  const paragraph = readme
    .split(/\n\s*\n/)
    .map((p) => p.trim())
    .find((p) => p && !p.startsWith('#') && !p.startsWith('```') && !p.startsWith('![') && !p.startsWith('[![') && !p.startsWith('<'));
  if (!paragraph) return null;
  const text = paragraph
    .replace(/!\[[^\]]*\]\([^)]*\)/g, '')
    .replace(/\[([^\]]+)\]\([^)]*\)/g, '$1')
    .replace(/[*_`]/g, '')
    .replace(/\s+/g, ' ')
    .trim();
  if (text.length <= 400) return text;
  // Whole sentences that fit, else whole words: never cut mid-word.
  const sentences = text.slice(0, 400).match(/^.*[.!?](?=\s)/)?.[0];
  if (sentences && sentences.length > 80) return sentences;
  return `${text.slice(0, 400).replace(/\s+\S*$/, '')}…`;
}

function isProtected(file: string): boolean {
  return protectedGlob(file) !== null;
}

/** The glob that protects `file` when it is test, evaluation or data: its folder when the folder is the reason. */
function protectedGlob(file: string): string | null {
  const parts = file.split('/');
  for (let i = 0; i < parts.length; i++) {
    const isLast = i === parts.length - 1;
    const segment = parts[i];
    if (!isLast && (EVAL_SEGMENT.test(segment) || DATA_SEGMENT.test(segment))) return `${parts.slice(0, i + 1).join('/')}/**`;
    if (isLast && (EVAL_SEGMENT.test(segment) || DATA_FILE.test(segment))) return file;
  }
  return null;
}

/** Editable files as globs: a folder's `*.py` when every Python file there is editable, else the files themselves. */
function editableGlobs(editable: string[], files: string[]): string[] {
  const byDir = new Map<string, string[]>();
  for (const file of editable) byDir.set(path.posix.dirname(file), [...(byDir.get(path.posix.dirname(file)) ?? []), file]);
  const globs: string[] = [];
  for (const [dir, chosen] of byDir) {
    const all = files.filter((f) => f.endsWith('.py') && path.posix.dirname(f) === dir);
    if (dir !== '.' && chosen.length > 1 && chosen.length === all.length) globs.push(`${dir}/*.py`);
    else globs.push(...chosen);
  }
  return globs;
}

export function isDirectory(p: string): boolean {
  return existsSync(p) && statSync(p).isDirectory();
}
