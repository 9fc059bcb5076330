/**
 * What a Slurm job is made of: the batch script (job.sh) and the step script it runs (step.sh),
 * the step's variables inside the job, and the sbatch options for its resources and placement.
 */
import { shellQuote } from '../../core/format.ts';
import { SANDBOX_PATHS, bubblewrapShellLines, type BubblewrapLayout, type Mount } from '../bubblewrap.ts';
import type { SandboxRequest } from '../../core/interfaces.ts';
import type { Resources } from '../../environment/schema.ts';
import { sandboxEnvironment } from '../environment-variables.ts';
import type { StepFiles } from './staging.ts';

/** A string as one bash word (re-exported for the Slurm tests). */
export { shellQuote };

export type ContainerRuntime = 'apptainer' | 'pyxis';

/** Apptainer for .sif files and apptainer URIs; pyxis (enroot) for .sqsh files and registry names. */
export function containerRuntime(container: string, explicit?: ContainerRuntime): ContainerRuntime {
  if (explicit) return explicit;
  if (/\.(sif|simg)$/i.test(container) || /^(docker|docker-archive|oras|library|shub|oci-archive):\/\//.test(container)) return 'apptainer';
  return 'pyxis';
}

export interface ScriptInput {
  /** What the script's comment says it is. */
  title: string;
  files: Pick<StepFiles, 'started' | 'ended' | 'exit' | 'stepScript' | 'work'>;
  /** The step's variables, from the sandbox environment builder. */
  env: Record<string, string>;
  setup: string[];
  command: string;
  container?: { image: string; runtime: ContainerRuntime; gpus: boolean; bind: string };
  /** bubblewrap around the step (no container): the layout inside, and the variables that change with it. */
  isolation?: {
    required: boolean;
    layout: Omit<BubblewrapLayout, 'readOnlyPaths'>;
    isolatedPaths: Record<string, string>;
    unisolatedPaths: Record<string, string>;
  };
}

/** Variables of the job's own environment that reach the step: Slurm's, and the GPUs it picked. */
const KEPT_FROM_JOB = 'SLURM_*=*|SLURMD_*=*|CUDA_VISIBLE_DEVICES=*|GPU_DEVICE_ORDINAL=*|ROCR_VISIBLE_DEVICES=*|TMPDIR=*';

/**
 * The batch script (job.sh) and the step script it runs (step.sh). job.sh records when the step
 * started and ended and its exit status on the shared folder, so the researcher can tell a
 * job's outcome without accounting storage, and after a restart.
 */
export function batchScripts(input: ScriptInput): { job: string; step: string } {
  const { files } = input;
  const exports = Object.entries(input.env)
    .map(([name, value]) => `  ${shellQuote(`${name}=${value}`)} \\`)
    .join('\n');
  const job = `#!/bin/bash
# ${input.title}
# Written by ai-researcher. The step runs under env -i: only the variables listed here and
# Slurm's own reach it, never the login environment the job was started in.
keep=()
while IFS= read -r -d '' entry; do
  case "$entry" in
    SLURM_EXPORT_ENV=*|SLURM_GET_USER_ENV=*) ;;
    ${KEPT_FROM_JOB}) keep+=("$entry") ;;
  esac
done < <(env -0)
date +%s%3N > ${shellQuote(files.started)}
env -i "\${keep[@]}" \\
${exports}
  /bin/bash --noprofile --norc ${shellQuote(files.stepScript)}
status=$?
date +%s%3N > ${shellQuote(files.ended)}
printf '%s\\n' "$status" > ${shellQuote(`${files.exit}.tmp`)} && mv -f ${shellQuote(`${files.exit}.tmp`)} ${shellQuote(files.exit)}
exit "$status"
`;

  const lines = ['set -e', `cd ${shellQuote(files.work)}`];
  if (input.setup.length) lines.push('# set-up lines from environment.yaml (slurm.setup)', ...input.setup);
  lines.push('set +e');
  const command = shellQuote(input.command);
  const container = input.container;
  if (!container && input.isolation) {
    const { required, layout, isolatedPaths, unisolatedPaths } = input.isolation;
    lines.push(
      ...bubblewrapShellLines(layout, input.command, { required, paths: { isolated: isolatedPaths, unisolated: unisolatedPaths } }),
    );
  } else if (!container) {
    lines.push(`exec /bin/bash -c ${command}`);
  } else if (container.runtime === 'apptainer') {
    lines.push(
      'runtime="$(command -v apptainer || command -v singularity)" || {',
      `  echo "ai-researcher: neither apptainer nor singularity is on PATH on $(hostname); add a set-up line such as 'module load apptainer'" >&2`,
      '  exit 127',
      '}',
      `exec "$runtime" exec${container.gpus ? ' --nv' : ''} --bind ${shellQuote(container.bind)} --pwd ${shellQuote(files.work)} ${shellQuote(container.image)} /bin/bash -c ${command}`,
    );
  } else {
    // pyxis lives in srun. The step gets this (clean) environment: no --export=NONE inherited.
    lines.push(
      `exec srun --ntasks=1 --export=ALL --container-image=${shellQuote(container.image)} --container-mounts=${shellQuote(`${container.bind}:${container.bind}`)} --container-workdir=${shellQuote(files.work)} --no-container-mount-home /bin/bash -c ${command}`,
    );
  }
  return { job, step: `${lines.join('\n')}\n` };
}

/** The step's variables inside the job, with paths on the shared folder. */
export function jobEnvironment(
  request: SandboxRequest,
  files: Pick<StepFiles, 'work' | 'outputs' | 'evalOut' | 'home'>,
  host: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const env = sandboxEnvironment(
    request,
    { workDir: files.work, outputDir: files.outputs, evalDir: request.kind === 'evaluate' ? files.evalOut : undefined, home: files.home },
    host,
  );
  if (request.resources.gpus > 0) {
    // Slurm chose the GPUs (--gres) and set CUDA_VISIBLE_DEVICES in the job; the loop's empty
    // list would hide them. Without GPUs, the empty list stays: it hides any the node has.
    delete env.CUDA_VISIBLE_DEVICES;
    delete env.NVIDIA_VISIBLE_DEVICES;
  }
  return env;
}

/** sbatch options the sandbox sets itself; an environment's `slurm.sbatchArgs` may not. */
export const RESERVED_OPTIONS = [
  '--export',
  '--output',
  '--error',
  '--chdir',
  '--job-name',
  '--wrap',
  '--parsable',
  '--time',
  '--requeue',
  '--no-requeue',
];

/** Where jobs go: the sbatch options that choose partition, account and QOS, plus the environment's own. */
export interface SbatchPlacement {
  partition?: string;
  account?: string;
  qos?: string;
  extra: string[];
}

/** `--time` in whole minutes: Slurm's limit is the backstop, our timer the exact one. */
export function timeLimitMinutes(timeoutMs: number): number {
  return Math.ceil(timeoutMs / 60_000) + 1;
}

/** The sbatch options for a step's resources and placement (what `--test-only` also checks). */
export function resourceOptions(resources: Resources, timeoutMs: number, placement: SbatchPlacement): string[] {
  const options = ['--nodes=1', '--ntasks=1', `--time=${timeLimitMinutes(timeoutMs)}`];
  if (resources.cpus !== undefined) options.push(`--cpus-per-task=${Math.ceil(resources.cpus)}`);
  if (resources.memory !== undefined) options.push(`--mem=${Math.ceil(resources.memory / 2 ** 20)}M`);
  if (resources.gpus > 0) options.push(`--gres=gpu:${resources.gpus}`);
  if (placement.partition) options.push(`--partition=${placement.partition}`);
  if (placement.account) options.push(`--account=${placement.account}`);
  if (placement.qos) options.push(`--qos=${placement.qos}`);
  return [...options, ...placement.extra];
}

/**
 * The bubblewrap layout of a step staged on the shared folder: its code copy, the seed's outputs
 * (read-only for the evaluator), the evaluator's own folder, and the folders `run.readOnly` names.
 * The variables that name these folders change with it.
 */
export function stepIsolation(
  request: SandboxRequest,
  files: Pick<StepFiles, 'work' | 'outputs' | 'evalOut' | 'home'>,
  env: Record<string, string>,
  required: boolean,
): NonNullable<ScriptInput['isolation']> {
  const run = request.kind === 'run';
  const mounts: Mount[] = [
    { host: files.work, inside: SANDBOX_PATHS.code, writable: run },
    { host: files.outputs, inside: SANDBOX_PATHS.outputs, writable: run },
  ];
  if (!run) mounts.push({ host: files.evalOut, inside: SANDBOX_PATHS.eval, writable: true });
  if (run) for (const folder of request.readOnly ?? []) mounts.push({ host: folder, inside: folder, writable: false });
  const isolatedPaths: Record<string, string> = { OUTPUT_DIR: SANDBOX_PATHS.outputs, HOME: SANDBOX_PATHS.home };
  if (!run) isolatedPaths.EVAL_DIR = SANDBOX_PATHS.eval;
  const unisolatedPaths = Object.fromEntries(Object.keys(isolatedPaths).map((name) => [name, env[name] ?? '']));
  return {
    required,
    layout: { mounts, chdir: SANDBOX_PATHS.code, network: request.network, gpus: request.resources.gpus > 0 },
    isolatedPaths,
    unisolatedPaths,
  };
}
