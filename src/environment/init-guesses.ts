/**
 * What `env init` guesses from the code itself: the reward from what a script prints ("test
 * score: 472/500" becomes a ratio, `val_loss` means minimise) and the knobs from the forms real
 * code sets them in (module constants, argparse defaults, config-object assignments such as
 * `C.trainer.learning_rate = 5e-4`, dataclass fields, YAML/JSON config files).
 */
import type { Goal } from '../core/ideas.ts';
import { printable } from '../reward/log-cause.ts';

export interface KnobGuess {
  name: string;
  file: string;
  pattern: string;
  type: 'float' | 'int';
  min: number;
  max: number;
  scale: 'linear' | 'log';
  /** The value in the file, for the summary. */
  value: string;
}

export interface MetricGuess {
  /** What the code prints, for messages: "test score". */
  name: string;
  pattern: string;
  /** The pattern captures a count and a total: the reward is their ratio. */
  ratio: boolean;
  goal: Goal;
  file: string;
  /** The printing line, as written. */
  line: string;
}

export const METRIC_WORDS =
  'accuracy|acc|val_acc|val_accuracy|test_acc|test_accuracy|score|f1|reward|loss|val_loss|test_loss|eval_loss|perplexity|ppl|bpb|val_bpb|error|mse|rmse|auc|correct';

export const LOWER_IS_BETTER = /loss|perplexity|ppl|bpb|error|mse|rmse/i;

/** Settings worth searching, matched against the last part of a name (`trainer.learning_rate` → learning_rate). */
export const KNOB_WORD =
  /^(lr|learning_rate|base_lr|min_lr|max_lr|batch_size|epochs|num_epochs|hidden|hidden_size|hidden_dim|d_model|n_embd|embed_dim|n_head|n_heads|num_heads|n_layers?|num_layers|width|depth|temperature|beta\d?|momentum|gamma|alpha|lambda_?|weight_decay|wd|[a-z_]*dropout|[a-z_]*pdrop|warmup(_steps|_iters)?|[a-z_]*clip|grad_norm_clip|label_smoothing|eps|block_size)$/i;

/** The training budget: a short value of one of these makes one experiment quick. */
export const BUDGET_WORD =
  /^(max_iters|max_steps|num_steps|steps|train_steps|iters|iterations|num_iters|max_epochs|epochs|num_epochs|n_epochs|total_steps)$/i;

export const SEED_WORD = /^(seed|random_seed)$/i;

/** What the code prints that looks like the metric, preferring test/validation over training lines. */
export function findMetric(files: string[], read: (file: string) => string): MetricGuess | null {
  const PLACEHOLDER = '(\\{[^}]*\\}|%[-+ 0-9.]*[dfgeis]|\\{\\})';
  const candidates: MetricCandidate[] = [];
  for (const file of files) {
    for (const call of read(file).matchAll(/\b(?:print|log|info|write|logger\.\w+|logging\.\w+)\(\s*(f?)(['"])((?:\\.|(?!\2).)*)\2/g)) {
      const literal = call[3];
      for (const m of literal.matchAll(
        new RegExp(`(^|[^A-Za-z_])((?:[A-Za-z_]+[ _])?(?:${METRIC_WORDS}))\\s*([:=])\\s*${PLACEHOLDER}(\\s*/\\s*${PLACEHOLDER})?`, 'gi'),
      )) {
        // "{split} score" or "%s final score": the word before is a placeholder; keep the literal words only.
        const name = /^[{%]/.test(m[2]) ? m[2].replace(/^\S+\s+/, '') : m[2];
        candidates.push({ name, separator: m[3], ratio: Boolean(m[5]), file, line: literal });
      }
    }
  }
  return bestMetric(candidates);
}

/**
 * The metric read from a real log (`env init --run`): the lines the code actually printed, so a
 * metric printed through a helper or a logging library the code survey missed is still found.
 */
export function metricFromLog(logText: string): MetricGuess | null {
  const candidates: MetricCandidate[] = [];
  for (const line of logText
    .split('\n')
    .map((l) => printable(l))
    .filter((l) => l.trim() !== '')) {
    for (const m of line.matchAll(
      new RegExp(
        `(^|[^A-Za-z_])((?:[A-Za-z_]+[ _])?(?:${METRIC_WORDS}))\\s*([:=])\\s*[-+]?[0-9]*\\.?[0-9]+(?:[eE][-+]?[0-9]+)?(\\s*/\\s*\\d+)?`,
        'gi',
      ),
    )) {
      candidates.push({ name: m[2], separator: m[3], ratio: Boolean(m[4]), file: 'the real log', line: line.trim() });
    }
  }
  return bestMetric(candidates);
}

export interface MetricCandidate {
  name: string;
  separator: string;
  ratio: boolean;
  file: string;
  line: string;
}

/** Test/validation over training, accuracy-like and fractions over losses; later lines over earlier ones. */
export function bestMetric(candidates: MetricCandidate[]): MetricGuess | null {
  let best: { candidate: MetricCandidate; score: number } | null = null;
  candidates.forEach((candidate, order) => {
    const { name, ratio } = candidate;
    let score = order * 0.001;
    if (/\b(test|val|valid|validation|eval|final|heldout)\b|^(val|test|eval)_/i.test(name)) score += 10;
    if (/^(train|training)\b|^train_/i.test(name)) score -= 5;
    if (ratio || /acc|score|correct/i.test(name)) score += 2;
    if (/\bloss\b/i.test(name) && !/val|test|eval/i.test(name)) score -= 1;
    if (!best || score > best.score) best = { candidate, score };
  });
  if (!best) return null;
  const { name, separator, ratio, file, line } = (best as { candidate: MetricCandidate }).candidate;
  const head = `${escapeRegex(name).replace(/ /g, '\\s+')}\\s*${separator === '=' ? '=' : ':'}\\s*`;
  const pattern = ratio ? `${head}(\\d+)\\s*/\\s*(\\d+)` : `${head}([-+]?[0-9]*\\.?[0-9]+(?:[eE][-+]?[0-9]+)?)`;
  return { name, pattern, ratio, goal: LOWER_IS_BETTER.test(name) && !ratio ? 'minimize' : 'maximize', file, line };
}

export function findKnobs(source: string, file: string): KnobGuess[] {
  const knobs: KnobGuess[] = [];
  const add = (name: string, literal: string, pattern: string) => {
    const value = Number(literal.replace(/_/g, ''));
    if (!Number.isFinite(value) || value <= 0) return;
    const isInt = /^[-+]?\d[\d_]*$/.test(literal);
    const knobName = name.toLowerCase().replace(/[^a-z0-9_-]/g, '_');
    if (knobs.some((k) => k.name === knobName)) return;
    knobs.push(
      isInt
        ? {
            name: knobName,
            file,
            pattern,
            type: 'int',
            min: Math.max(1, Math.floor(value / 4)),
            max: Math.max(2, value * 4),
            scale: value >= 8 ? 'log' : 'linear',
            value: literal,
          }
        : {
            name: knobName,
            file,
            pattern,
            type: 'float',
            min: Number((value / 10).toPrecision(3)),
            max: Number((value * 10).toPrecision(3)),
            scale: 'log',
            value: literal,
          },
    );
  };
  const NUMBER = '([-+]?[0-9][0-9_.]*(?:[eE][-+]?[0-9]+)?)';
  if (/\.ya?ml$/i.test(file)) {
    for (const m of source.matchAll(new RegExp(`^(\\s*)([A-Za-z_]\\w*):\\s*${NUMBER}\\s*(#.*)?$`, 'gm'))) {
      if (KNOB_WORD.test(m[2])) add(m[2], m[3], `^${m[1]}${escapeRegex(m[2])}:\\s*([^\\s#]+)`);
    }
    return knobs;
  }
  if (/\.json$/i.test(file)) {
    for (const m of source.matchAll(new RegExp(`"([A-Za-z_]\\w*)"\\s*:\\s*${NUMBER}`, 'g'))) {
      if (KNOB_WORD.test(m[1])) add(m[1], m[2], `"${escapeRegex(m[1])}"\\s*:\\s*([-+0-9.eE]+)`);
    }
    return knobs;
  }
  // Config-object attributes: `C.trainer.learning_rate = 5e-4` (the name is its last part).
  for (const m of source.matchAll(new RegExp(`^(\\s*)([A-Za-z_]\\w*(?:\\.\\w+)+)\\s*=\\s*${NUMBER}\\s*(#.*)?$`, 'gm'))) {
    const last = m[2].split('.').pop()!;
    if (KNOB_WORD.test(last) && !SEED_WORD.test(last)) add(last, m[3], `^\\s*${escapeRegex(m[2])}\\s*=\\s*([^\\s#]+)`);
  }
  // Module constants and dataclass fields: `LEARNING_RATE = 0.05`, `    lr: float = 3e-4`.
  for (const m of source.matchAll(new RegExp(`^(\\s*)([A-Za-z_]\\w*)\\s*(?::\\s*\\w+\\s*)?=\\s*${NUMBER}\\s*(#.*)?$`, 'gm'))) {
    if (KNOB_WORD.test(m[2])) add(m[2], m[3], `^\\s*${escapeRegex(m[2])}\\s*(?::\\s*\\w+\\s*)?=\\s*([^\\s#]+)`);
  }
  // argparse defaults: `parser.add_argument("--lr", type=float, default=3e-4)`.
  for (const m of source.matchAll(new RegExp(`add_argument\\(\\s*['"]--([\\w-]+)['"]([^)\\n]*?)default\\s*=\\s*${NUMBER}`, 'g'))) {
    const name = m[1].replace(/-/g, '_');
    if (KNOB_WORD.test(name)) add(name, m[3], `add_argument\\(\\s*['"]--${escapeRegex(m[1])}['"][^)\\n]*?default\\s*=\\s*([-+0-9._eE]+)`);
  }
  return knobs;
}

export function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
