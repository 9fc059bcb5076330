/**
 * The Slurm sandbox's checks before a sweep: the shared folder, the client commands, the
 * controller, the partition and its GPUs, the container image, and `sbatch --test-only` on the
 * step's settings, so that a sweep that cannot run fails in one line before any idea is coded.
 */
import { existsSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { SandboxError, describeError } from '../../core/errors.ts';
import type { Resources } from '../../environment/schema.ts';
import { resourceOptions, type ContainerRuntime, type SbatchPlacement } from './batch-script.ts';
import { firstLine } from '../../core/format.ts';
import { onPath, slurm } from './commands.ts';

export interface ClusterRequest {
  sharedDir: string | undefined;
  placement: SbatchPlacement;
  container: { image: string; runtime: ContainerRuntime } | undefined;
  resources: Resources;
}

export async function checkCluster({ sharedDir, placement, container, resources }: ClusterRequest): Promise<void> {
  if (!sharedDir) {
    throw new SandboxError(
      "--sandbox slurm needs --shared-dir DIR: a folder every node of the cluster sees at the same path (ideas' code, outputs and logs are staged there)",
    );
  }
  if (!existsSync(sharedDir) || !statSync(sharedDir).isDirectory()) {
    throw new SandboxError(`--shared-dir ${sharedDir} is not a folder; create it on storage the cluster's nodes share`);
  }
  const probe = path.join(sharedDir, `.researcher-probe-${process.pid}`);
  try {
    writeFileSync(probe, 'probe');
    rmSync(probe, { force: true });
  } catch (error) {
    throw new SandboxError(`--shared-dir ${sharedDir} is not writable (${describeError(error)}); pick a folder you can write to`);
  }

  for (const command of ['sbatch', 'squeue', 'scancel']) {
    if (!onPath(command)) {
      throw new SandboxError(
        `Slurm's ${command} is not on PATH: run the researcher on a login node of the cluster (or install slurm-client)`,
      );
    }
  }
  const ping = await slurm('squeue', ['--me', '--noheader', '--format=%i'], 20_000);
  if (!ping.ok)
    throw new SandboxError(`the Slurm controller does not answer (squeue: ${firstLine(ping.stderr)}); check the cluster, or SLURM_CONF`);

  if (placement.partition) {
    const partitions = await slurm('sinfo', ['--noheader', '--format=%R']);
    const known = partitions.stdout
      .split('\n')
      .map((line) => line.trim())
      .filter(Boolean);
    if (partitions.ok && !known.includes(placement.partition)) {
      throw new SandboxError(`Slurm has no partition "${placement.partition}"; partitions: ${known.join(', ') || '(none)'}`);
    }
  }
  if (resources.gpus > 0) {
    const args = ['--noheader', '--format=%G', ...(placement.partition ? [`--partition=${placement.partition}`] : [])];
    const gres = await slurm('sinfo', args);
    if (gres.ok && !/gpu/i.test(gres.stdout)) {
      throw new SandboxError(
        `the environment needs ${resources.gpus} GPU(s) per run but no node${placement.partition ? ` of partition ${placement.partition}` : ''} offers a "gpu" gres; pick a GPU partition with --slurm-partition`,
      );
    }
  }
  if (container && (container.image.startsWith('/') || /\.(sif|simg|sqsh)$/i.test(container.image)) && !existsSync(container.image)) {
    throw new SandboxError(`slurm.container: ${container.image} does not exist; it must be on storage the cluster's nodes share`);
  }
  // Lets the controller judge the whole request (account, QOS, partition, limits) without queueing anything.
  const test = await slurm('sbatch', [
    '--test-only',
    '--export=NONE',
    `--chdir=${sharedDir}`,
    ...resourceOptions(resources, 60_000, placement),
    '--wrap=true',
  ]);
  if (!test.ok) {
    const message = test.stderr
      .split('\n')
      .map((line) => line.replace(/^sbatch: error: /, '').trim())
      .filter(Boolean)
      .join('; ');
    throw new SandboxError(
      `Slurm refuses the job settings (${message}); check --slurm-partition, --slurm-account, --slurm-qos and run.resources`,
    );
  }
}
