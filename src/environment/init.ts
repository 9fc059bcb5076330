/**
 * `researcher env init <repo>`: inspect a codebase that was not written for ai-researcher and
 * write a commented environment.yaml with best guesses, marking what it could not decide as TODO.
 *
 * The guesses are deliberately simple and explained in the file, so a user can check each one:
 * the run command from the README or the entry point, the reward from a metric the code prints,
 * knobs from top-level numeric settings, protected paths from files that look like evaluation or
 * data.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

export interface RepoSurvey {
  languages: [string, number][];
  entryPoint: string | null;
  command: string | null;
  commandSource: string | null;
  metric: { name: string; pattern: string; goal: 'maximize' | 'minimize'; file: string } | null;
  knobs: { name: string; file: string; pattern: string; type: 'float' | 'int'; min: number; max: number; scale: 'linear' | 'log' }[];
  protectedPaths: string[];
  description: string | null;
  files: string[];
}

const SKIP_DIRS = new Set(['.git', 'node_modules', '__pycache__', '.venv', 'venv', 'env', '.mypy_cache', '.pytest_cache', 'dist', 'build', 'wandb', 'outputs', 'checkpoints']);
const LANGUAGES: Record<string, string> = { '.py': 'Python', '.ts': 'TypeScript', '.js': 'JavaScript', '.sh': 'shell', '.rs': 'Rust', '.go': 'Go', '.jl': 'Julia', '.cpp': 'C++', '.cu': 'CUDA', '.c': 'C' };
const ENTRY_NAMES = ['train.py', 'main.py', 'run.py', 'train_gpt.py', 'trainer.py', 'experiment.py'];
const EVAL_LIKE = /(^|\/)(eval|evals|evaluate|evaluation|evaluator|metrics?|score|scoring|tests?|test_[^/]*|[^/]*_test\.py|heldout|held_out|benchmark)(\.|\/|$)/i;
const DATA_LIKE = /(^|\/)(data|datasets?|answers?)(\/|$)|\.(csv|jsonl|parquet|npy|npz|pt|bin|arrow)$/i;
const METRIC_WORDS = 'accuracy|acc|val_acc|val_accuracy|test_acc|score|f1|reward|loss|val_loss|test_loss|perplexity|ppl|bpb|val_bpb|error|mse|rmse|auc';
const LOWER_IS_BETTER = /loss|perplexity|ppl|bpb|error|mse|rmse/i;
const KNOB_WORDS = /^(lr|learning_rate|batch_size|epochs|num_epochs|steps|num_steps|hidden|hidden_size|hidden_dim|dropout|weight_decay|momentum|warmup(_steps)?|n_layers?|num_layers|width|depth|temperature|beta\d?|clip|grad_clip|gamma|lambda_?|alpha)$/i;

export function surveyRepo(repoDir: string): RepoSurvey {
  const files = listFiles(repoDir);
  const counts = new Map<string, number>();
  for (const file of files) {
    const language = LANGUAGES[path.extname(file)];
    if (language) counts.set(language, (counts.get(language) ?? 0) + 1);
  }
  const languages = [...counts.entries()].sort((a, b) => b[1] - a[1]);
  const read = (file: string) => readFileSync(path.join(repoDir, file), 'utf8');

  const readme = files.find((f) => /^readme(\.md|\.txt|\.rst)?$/i.test(f));
  const readmeText = readme ? read(readme) : '';
  const readmeCommand = firstRunCommand(readmeText);

  const pyFiles = files.filter((f) => f.endsWith('.py') && !EVAL_LIKE.test(f));
  const entryPoint =
    ENTRY_NAMES.map((name) => files.find((f) => f === name || f.endsWith(`/${name}`))).find(Boolean) ??
    pyFiles.find((f) => /if __name__ == ['"]__main__['"]/.test(read(f))) ??
    null;
  const command = readmeCommand ?? (entryPoint ? `python3 ${entryPoint}` : null);

  let metric: RepoSurvey['metric'] = null;
  for (const file of [entryPoint, ...pyFiles].filter((f): f is string => !!f)) {
    metric = findPrintedMetric(read(file), file);
    if (metric) break;
  }

  const knobs: RepoSurvey['knobs'] = [];
  for (const file of [files.find((f) => /(^|\/)config\.py$/.test(f)), entryPoint].filter((f): f is string => !!f)) {
    for (const knob of findKnobs(read(file), file)) if (!knobs.some((k) => k.name === knob.name)) knobs.push(knob);
  }

  const protectedPaths = [...new Set(files.filter((f) => EVAL_LIKE.test(f) || DATA_LIKE.test(f)).map(topGlob))];
  return {
    languages,
    entryPoint,
    command,
    commandSource: readmeCommand ? readme! : entryPoint,
    metric,
    knobs,
    protectedPaths,
    description: firstParagraph(readmeText),
    files,
  };
}

/** The environment.yaml text for a surveyed repo, and the list of things left TODO. */
export function environmentYaml(name: string, codePath: string, survey: RepoSurvey): { yaml: string; todos: string[] } {
  const todos: string[] = [];
  const q = (value: string) => JSON.stringify(value);
  const lines: string[] = [
    `# Environment written by \`researcher env init\` — check every guess, fill in every TODO,`,
    `# then run \`researcher env check environments/${name} --seeds 3\`.`,
    `name: ${name}`,
  ];

  if (survey.description) {
    lines.push('# From the README; say what should improve and which changes make sense.', `description: ${q(survey.description)}`);
  } else {
    todos.push('description: what the code does and what should improve, written for the thinker');
    lines.push('description: "TODO: what the code does, what the reward measures, what kinds of changes make sense"');
  }
  lines.push('code:', `  path: ${q(codePath)}`);

  const editable = survey.files.filter((f) => f.endsWith('.py') && !EVAL_LIKE.test(f) && !DATA_LIKE.test(f));
  const editableGlobs = editable.length ? [...new Set(editable.map((f) => (f.includes('/') ? `${path.dirname(f)}/*.py` : '*.py')))] : ['*.py'];
  lines.push(
    `# Languages: ${survey.languages.map(([l, n]) => `${l} (${n})`).join(', ') || 'none recognised'}.`,
    `context: [${q(survey.entryPoint ?? editableGlobs[0])}]`,
    '# Globs a diff may change; everything else is read-only.',
    `editable: [${editableGlobs.map(q).join(', ')}]`,
    '# Files that look like evaluation code or data: never editable.',
    `protected: [${survey.protectedPaths.map(q).join(', ')}]`,
    'run:',
  );
  if (survey.command) {
    lines.push(`  # From ${survey.commandSource}.`, `  command: ${q(survey.command)}`);
  } else {
    todos.push('run.command: the command that trains and prints or writes the metric');
    lines.push('  command: "TODO: the command that runs one experiment"');
  }
  lines.push(
    '  # A guess: raise it to what one experiment needs.',
    '  timeout: 30m',
    '  resources: { gpus: 0 }',
  );

  lines.push('# How a run becomes a reward.');
  if (survey.metric) {
    lines.push(
      `# ${survey.metric.file} prints "${survey.metric.name}"; the last value printed is the reward.`,
      '# Better: an evaluate step whose evaluator lives outside the code (see environments/README.md).',
      `reward: { source: regex, pattern: ${q(survey.metric.pattern)}, goal: ${survey.metric.goal} }`,
    );
  } else {
    todos.push('reward: no printed metric found; give a regex over the output or a JSON file the run writes');
    lines.push('reward: { source: regex, pattern: "TODO: a regex whose first group is the metric", goal: maximize }');
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
  return { yaml: `${lines.join('\n')}\n`, todos };
}

function listFiles(root: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(path.join(root, prefix), { withFileTypes: true })) {
    if (SKIP_DIRS.has(entry.name) || entry.name.startsWith('.')) continue;
    const relative = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...listFiles(root, relative));
    else if (entry.isFile()) out.push(relative);
    if (out.length > 20_000) break;
  }
  return out;
}

/** The first shell line in a README code block that runs something. */
function firstRunCommand(readme: string): string | null {
  for (const block of readme.matchAll(/```[a-z]*\n([\s\S]*?)```/g)) {
    for (const raw of block[1].split('\n')) {
      const line = raw.replace(/^\s*\$\s*/, '').trim();
      if (/^(python3?|torchrun|accelerate launch|bash|sh|\.\/|uv run)\b/.test(line) && !/pip install|setup\.py/.test(line)) {
        return line.replace(/^python\b/, 'python3');
      }
    }
  }
  return null;
}

function firstParagraph(readme: string): string | null {
  const paragraph = readme
    .split(/\n\s*\n/)
    .map((p) => p.trim())
    .find((p) => p && !p.startsWith('#') && !p.startsWith('```') && !p.startsWith('!['));
  return paragraph ? paragraph.replace(/\s+/g, ' ').slice(0, 600) : null;
}

function findPrintedMetric(source: string, file: string): RepoSurvey['metric'] {
  const printed = new RegExp(`print\\(\\s*f?["'][^"']*?\\b(${METRIC_WORDS})\\b\\s*([=:])`, 'gi');
  const matches = [...source.matchAll(printed)];
  if (matches.length === 0) return null;
  const last = matches[matches.length - 1];
  const [, name, separator] = last;
  const pattern = `${escapeRegex(name)}${separator === '=' ? '=' : ':'}\\s*([-+0-9.eE]+)`;
  return { name, pattern, goal: LOWER_IS_BETTER.test(name) ? 'minimize' : 'maximize', file };
}

function findKnobs(source: string, file: string): RepoSurvey['knobs'] {
  const knobs: RepoSurvey['knobs'] = [];
  for (const match of source.matchAll(/^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*([-+]?[0-9][0-9_.eE+-]*)\s*(#.*)?$/gm)) {
    const [, name, literal] = match;
    if (!KNOB_WORDS.test(name)) continue;
    const value = Number(literal.replace(/_/g, ''));
    if (!Number.isFinite(value) || value <= 0) continue;
    const isInt = /^[-+]?\d+$/.test(literal.replace(/_/g, ''));
    const pattern = `^${escapeRegex(name)}\\s*=\\s*(\\S+)`;
    knobs.push(
      isInt
        ? { name: name.toLowerCase(), file, pattern, type: 'int', min: Math.max(1, Math.floor(value / 4)), max: Math.max(2, value * 4), scale: value >= 8 ? 'log' : 'linear' }
        : { name: name.toLowerCase(), file, pattern, type: 'float', min: Number((value / 10).toPrecision(3)), max: Number((value * 10).toPrecision(3)), scale: 'log' },
    );
  }
  return knobs;
}

function topGlob(file: string): string {
  const first = file.split('/')[0];
  return file.includes('/') ? `${first}/**` : file;
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function isDirectory(p: string): boolean {
  return existsSync(p) && statSync(p).isDirectory();
}
