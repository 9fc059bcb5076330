/**
 * Choosing the sandbox a run's steps execute in (`--sandbox`).
 */
import { UsageError } from '../core/errors.ts';
import type { Sandbox } from '../core/interfaces.ts';
import type { Environment } from '../environment/load.ts';
import { createDockerSandbox } from './docker/sandbox.ts';
import { LocalSandbox } from './local.ts';
import { SlurmSandbox } from './slurm/sandbox.ts';

export type SandboxFactory = (options: Record<string, unknown>, environment?: Environment) => Sandbox | Promise<Sandbox>;

export const SANDBOXES: Record<string, SandboxFactory> = {
  local: () => new LocalSandbox(),
  docker: (options) => createDockerSandbox(options),
  slurm: (options, environment) => new SlurmSandbox(options, environment),
};

export async function createSandbox(name: string, options: Record<string, unknown> = {}, environment?: Environment): Promise<Sandbox> {
  const factory = SANDBOXES[name];
  if (!factory) throw new UsageError(`unknown sandbox "${name}"; choose one of: ${Object.keys(SANDBOXES).join(', ')}`);
  return factory(options, environment);
}
