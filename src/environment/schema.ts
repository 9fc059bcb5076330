/**
 * environment.yaml, as a zod schema. The types the rest of the code uses are inferred from it,
 * so the file format and the code cannot drift apart.
 */
import { z } from 'zod';

const DURATION = /^(\d+(?:\.\d+)?(?:e[+-]?\d+)?)\s*(ms|s|m|h|d)?$/i;
const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
/**
 * The longest time limit a step may have. Trainings of days are real; a limit past a month is a
 * typo (or a unit mix-up), and far past it no timer of the sandboxes could honour it.
 */
export const MAX_DURATION_MS = 30 * UNIT_MS.d;

/** "90s", "5m", "1h", "2d", "1500ms" or a number of seconds → milliseconds, from 1 ms to 30 days. */
export const Duration = z.union([z.number(), z.string()]).transform((value, ctx) => {
  let ms: number;
  if (typeof value === 'number') {
    ms = Math.round(value * 1000);
  } else {
    const match = DURATION.exec(value.trim());
    if (!match) {
      ctx.addIssue({ code: 'custom', message: `expected a duration like "90s", "5m", "1h" or "2d", got "${value}"` });
      return z.NEVER;
    }
    ms = Math.round(Number(match[1]) * UNIT_MS[(match[2] ?? 's').toLowerCase() as keyof typeof UNIT_MS]);
  }
  if (!(ms >= 1 && ms <= MAX_DURATION_MS)) {
    const shown = typeof value === 'number' ? `${value} (seconds)` : `"${value}"`;
    ctx.addIssue({ code: 'custom', message: `a time limit must be more than 0 and at most 30 days ("30d"), got ${shown}` });
    return z.NEVER;
  }
  return ms;
});

const SIZE = /^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$/i;
const UNIT_BYTES = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 } as const;

/** "512m", "2g", "1GiB" or a number of bytes → bytes. */
export const ByteSize = z.union([z.number().positive(), z.string()]).transform((value, ctx) => {
  if (typeof value === 'number') return Math.round(value);
  const match = SIZE.exec(value.trim());
  if (!match) {
    ctx.addIssue({ code: 'custom', message: `expected a size like "512m" or "2g", got "${value}"` });
    return z.NEVER;
  }
  return Math.round(Number(match[1]) * UNIT_BYTES[match[2].toLowerCase() as keyof typeof UNIT_BYTES]);
});

const Glob = z.string().min(1);

export const Resources = z
  .object({
    gpus: z.number().int().min(0).default(0),
    cpus: z.number().positive().optional(),
    memory: ByteSize.optional(),
    shm: ByteSize.optional(),
    pids: z.number().int().positive().optional(),
    /** Runs may share a GPU (small models); by default each run gets its GPUs to itself. */
    shareGpus: z.boolean().default(false),
  })
  .strict();

export const Step = z
  .object({
    command: z.string().min(1),
    timeout: Duration,
    /** Extra variables set for the step (never secrets: they are recorded in the run). */
    env: z.record(z.string(), z.string()).default({}),
    /** Host variables the step may see. Nothing else from the host environment reaches it. */
    passEnv: z.array(z.string()).default([]),
  })
  .strict();

export const RunStep = Step.extend({
  resources: Resources.prefault({}),
  /** Network access from the run (Docker and the isolated local sandbox); off by default. */
  network: z.boolean().default(false),
  /**
   * Absolute host folders the run may read — data sets, model weights — shown read-only at the
   * same path by the isolated local sandbox (which otherwise shows nothing of the host but the
   * system folders). Never the evaluator or its answers.
   */
  readOnly: z.array(z.string().startsWith('/', 'must be an absolute path')).default([]),
}).strict();

export const EvaluateStep = Step.extend({
  /**
   * The evaluator's folder, relative to the environment. It is never part of the code a diff
   * may change: the run freezes a copy of it when it starts and scores every idea with that copy.
   */
  dir: z.string().min(1),
  /**
   * How many of the run's GPUs the evaluator may use, for an evaluator that answers held-out
   * questions with the run's checkpoint itself (0: none). The idea holds them until it is scored;
   * at most run.resources.gpus.
   */
  gpus: z.number().int().min(0).default(0),
}).strict();

/**
 * A short version of the run (a few training steps) run before the full run, in the same sandbox
 * with the run's resources: code that crashes fails here, in seconds, and goes back to the coder.
 */
export const SmokeStep = Step;

/**
 * How a run reports its learning curve while it runs: a regular expression over its output with
 * named groups `step` and `value`, or a JSON-lines file in $OUTPUT_DIR ({"step": …, "value": …}
 * per line), and the step a full run reaches. The direction is reward.goal's unless given.
 */
export const Progress = z
  .object({
    pattern: z
      .string()
      .min(1)
      .refine((source) => {
        try {
          const groups = namedGroups(source);
          return groups.has('step') && groups.has('value');
        } catch {
          return false;
        }
      }, 'must be a valid regular expression with named groups (?<step>…) and (?<value>…)')
      .optional(),
    file: z.string().min(1).optional(),
    steps: z.number().positive(),
    goal: z.enum(['maximize', 'minimize']).optional(),
  })
  .strict()
  .refine((progress) => (progress.pattern === undefined) !== (progress.file === undefined), 'give exactly one of pattern or file');

/** The named groups of a regular expression's source (throws when it does not compile). */
function namedGroups(source: string): Set<string> {
  new RegExp(source);
  return new Set([...source.matchAll(/\(\?<([A-Za-z_$][\w$]*)>/g)].map((match) => match[1]));
}

/**
 * Where a believable reward lies, e.g. [0, 1] for an accuracy. A value outside is a broken or
 * gamed metric (`bad-metric`), never a record.
 */
const RewardRange = z
  .tuple([z.number(), z.number()])
  .refine(([lo, hi]) => Number.isFinite(lo) && Number.isFinite(hi), 'both ends must be finite numbers')
  .refine(([lo, hi]) => lo < hi, 'expected [lo, hi] with lo < hi');

export const Reward = z.discriminatedUnion('source', [
  z
    .object({
      source: z.literal('json'),
      /** JSON file written by the evaluate step (in $EVAL_DIR), or by the run (in $OUTPUT_DIR). */
      file: z.string().min(1),
      /** Dotted path to the number inside the file, e.g. "eval.accuracy". */
      key: z.string().min(1),
      goal: z.enum(['maximize', 'minimize']),
      range: RewardRange.optional(),
    })
    .strict(),
  z
    .object({
      source: z.literal('regex'),
      /** Regular expression over the step's output; the first capture group is the metric. */
      pattern: z.string().min(1),
      /**
       * The pattern captures a count and a total ("test score: 472/500"): the reward is the first
       * group divided by the second (0.944), so scores stay comparable when the total changes.
       */
      ratio: z.boolean().optional(),
      goal: z.enum(['maximize', 'minimize']),
      range: RewardRange.optional(),
    })
    .strict(),
]);

const KnobBase = z.object({
  name: z.string().regex(/^[A-Za-z_][\w-]*$/, 'a knob name is a word: letters, digits, _ and -'),
  /** File (relative to the code) that holds the value. */
  file: z.string().min(1),
  /** Regular expression whose first capture group is the value. Multiline: ^ and $ match lines. */
  pattern: z.string().min(1),
});

export const Knob = z.discriminatedUnion('type', [
  KnobBase.extend({
    type: z.literal('float'),
    min: z.number(),
    max: z.number(),
    scale: z.enum(['linear', 'log']).default('linear'),
  }).strict(),
  KnobBase.extend({
    type: z.literal('int'),
    min: z.number().int(),
    max: z.number().int(),
    scale: z.enum(['linear', 'log']).default('linear'),
  }).strict(),
  KnobBase.extend({
    type: z.literal('choice'),
    choices: z.array(z.string()).min(2),
  }).strict(),
]);

export const CodeSource = z.union([
  z.object({ path: z.string().min(1), ref: z.string().optional() }).strict(),
  z.object({ git: z.string().min(1), ref: z.string().default('HEAD') }).strict(),
]);

/** How the environment runs under `--sandbox slurm` (the command line overrides partition, account, QOS). */
export const SlurmSettings = z
  .object({
    /**
     * Container image for every step: an Apptainer/Singularity image (a .sif file, or a docker://
     * or oras:// URI) or an enroot/pyxis image (a .sqsh file, or a registry name). A relative file
     * is relative to the environment folder and must be on storage the cluster's nodes share.
     */
    container: z.string().min(1).optional(),
    /** Which runtime runs `container`; by default apptainer for .sif files and URIs, pyxis otherwise. */
    containerRuntime: z.enum(['apptainer', 'pyxis']).optional(),
    /** Shell lines run on the node before each step (outside any container): `module load …`, `source venv/bin/activate`. */
    setup: z.array(z.string()).default([]),
    partition: z.string().min(1).optional(),
    account: z.string().min(1).optional(),
    qos: z.string().min(1).optional(),
    /**
     * bubblewrap around each step on the node (no container): `auto` (default) where the node has
     * bwrap, `required` (a node without it fails the step, saying so), `off`.
     */
    isolation: z.enum(['auto', 'required', 'off']).default('auto'),
    /** Further sbatch options, e.g. ["--constraint=a100"]. */
    sbatchArgs: z.array(z.string().regex(/^--[A-Za-z]/, 'expected an sbatch option such as --constraint=a100')).default([]),
  })
  .strict();

export const EnvironmentConfig = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'lower-case letters, digits, ".", "_" and "-"'),
    description: z.string().min(1),
    code: CodeSource,
    /** Files the thinker and coder read (globs, relative to the code). */
    context: z.array(Glob).default([]),
    /** Globs a diff may change. Everything else is read-only. */
    editable: z.array(Glob).min(1),
    /** Globs no diff may touch even when they match `editable`: evaluators, data, answers. */
    protected: z.array(Glob).default([]),
    run: RunStep,
    evaluate: EvaluateStep.optional(),
    /**
     * The test evaluator: the same contract as `evaluate`, on its own hidden data. The search
     * never sees its rewards; it scores the final top ideas (and `researcher confirm`).
     */
    test: EvaluateStep.optional(),
    /** A short run before the full run (see SmokeStep). */
    smoke: SmokeStep.optional(),
    /** The run's learning curve (see Progress): enables early stopping and curves in reports. */
    progress: Progress.optional(),
    /**
     * Plain sentences for the reviewer (the auditor role): what is a legitimate way to win this
     * task and what is not, e.g. "answers must come from the policy's own sampling".
     */
    rules: z.array(z.string().min(1)).default([]),
    reward: Reward,
    /** Numeric settings the offline agent searches over. */
    knobs: z.array(Knob).default([]),
    /**
     * The interpreter local and Slurm runs use (its folder goes first on the run's PATH): a path
     * relative to the code (".venv/bin/python"), an absolute path, or a name on PATH. Default: the
     * venv or conda environment active when the researcher started, else python3 on PATH.
     * Docker runs use the image's.
     */
    python: z.string().min(1).optional(),
    /** Docker image: a tag, or the name of a build context under sandboxes/. */
    image: z.string().optional(),
    /** Container, set-up lines and scheduler defaults for `--sandbox slurm`. */
    slurm: SlurmSettings.optional(),
  })
  .strict()
  .superRefine((env, ctx) => {
    for (const step of ['evaluate', 'test'] as const) {
      const gpus = env[step]?.gpus ?? 0;
      if (gpus > env.run.resources.gpus) {
        ctx.addIssue({
          code: 'custom',
          path: [step, 'gpus'],
          message: `the ${step} step may use at most the run's GPUs (run.resources.gpus is ${env.run.resources.gpus})`,
        });
      }
    }
    env.knobs.forEach((knob, i) => {
      if (knob.type !== 'choice' && knob.min >= knob.max) {
        ctx.addIssue({ code: 'custom', path: ['knobs', i, 'max'], message: 'max must be greater than min' });
      }
      if (knob.type !== 'choice' && knob.scale === 'log' && knob.min <= 0) {
        ctx.addIssue({ code: 'custom', path: ['knobs', i, 'min'], message: 'a log-scale knob needs min > 0' });
      }
    });
  });

export type EnvironmentConfig = z.output<typeof EnvironmentConfig>;
export type RunStep = z.output<typeof RunStep>;
export type EvaluateStep = z.output<typeof EvaluateStep>;
export type Resources = z.output<typeof Resources>;
export type SlurmSettings = z.output<typeof SlurmSettings>;
export type Reward = z.output<typeof Reward>;
export type Knob = z.output<typeof Knob>;
export type Progress = z.output<typeof Progress>;
export type StepConfig = z.output<typeof Step>;
