/**
 * A run's configuration, as stored in the run and restored by `resume`.
 */
import { z } from 'zod';

export const RunConfig = z.object({
  runId: z.string(),
  createdAt: z.string(),
  /** Absolute path of the environment folder. */
  environmentDir: z.string(),
  environmentName: z.string(),
  /** Copied from the environment's reward, so a run can be read without its environment. */
  goal: z.enum(['maximize', 'minimize']).default('maximize'),
  /** The environment's declared reward.range, copied likewise (the plausibility flag reads it); null: none declared. */
  rewardRange: z.tuple([z.number(), z.number()]).nullable().default(null),
  /** Agent file path, or "offline". */
  agent: z.string(),
  sandbox: z.string().default('local'),
  search: z.string().default('serial'),
  buildOn: z.enum(['base', 'best']).default('base'),
  /** Number of ideas to evaluate (the baseline not counted). */
  ideas: z.number().int().positive(),
  seeds: z.number().int().positive().default(1),
  /** Extra seeds a candidate best is re-evaluated with before it is declared best (null: --seeds when above 1, else 0). */
  confirmSeeds: z.number().int().min(0).nullable().default(null),
  baselineSeeds: z.number().int().positive().default(1),
  parallel: z.number().int().positive().default(1),
  gpus: z.array(z.string()).default([]),
  maxHours: z.number().positive().nullable().default(null),
  maxCostUsd: z.number().nonnegative().nullable().default(null),
  /** On reaching --max-hours or --max-cost, stop running evaluations too (they are kept for resume). */
  hardStop: z.boolean().default(false),
  /** Seed of the researcher's own randomness (offline agent, search). */
  randomSeed: z.number().int().default(0),
  /**
   * `--early-stop`: the rule that stops runs whose learning curve cannot win (src/core/early-stopping.ts),
   * or "off"; it acts only when the environment declares `progress:`.
   */
  earlyStop: z.string().default('on'),
  /** Repair rounds the coder gets when an edit does not apply. */
  repairRounds: z.number().int().min(0).default(2),
  /**
   * Content hash of the frozen evaluator, recorded when the run was created and checked before
   * every evaluation (null: the environment has no evaluate step).
   */
  evaluatorHash: z.string().nullable().default(null),
  /** The same for the test evaluator (null: none declared, or not frozen yet: `confirm` freezes it on first use). */
  testEvaluatorHash: z.string().nullable().default(null),
  /** Top ideas (by validation reward) re-run on fresh seeds and scored on the test split when the sweep ends (0: none). */
  testTop: z.number().int().min(0).default(3),
  /** Fresh seeds each of them (and the baseline) runs under for the test split. */
  testSeeds: z.number().int().positive().default(1),
  /**
   * Steps run without isolation (local sandbox without bubblewrap): `--unisolated`, or the
   * offline agent on a machine without bubblewrap. Shown by `show` and the report.
   */
  unisolated: z.boolean().default(false),
  /** `--fresh`: the sweep starts without the environment's lab notebook (it still writes its findings there). */
  fresh: z.boolean().default(false),
  /** Extra engine-specific options (docker hosts, slurm partition, …). */
  sandboxOptions: z.record(z.string(), z.unknown()).default({}),
  searchOptions: z.record(z.string(), z.unknown()).default({}),
});
export type RunConfig = z.output<typeof RunConfig>;
export type RunConfigInput = z.input<typeof RunConfig>;
