/**
 * Choosing the sandbox a run's steps execute in (`--sandbox`).
 */
import { UsageError } from '../core/errors.ts';
import type { Sandbox } from '../core/interfaces.ts';
import type { Environment } from '../environment/load.ts';

export type SandboxFactory = (options: Record<string, unknown>, environment?: Environment) => Sandbox | Promise<Sandbox>;

/**
 * Each sandbox's module is loaded only when a run uses it: a local run (or a `resume` of one)
 * does not pay for loading dockerode or the Slurm code.
 */
export const SANDBOXES: Record<string, SandboxFactory> = {
  local: async () => new (await import('./local.ts')).LocalSandbox(),
  docker: async (options) => (await import('./docker.ts')).createDockerSandbox(options),
  slurm: async (options, environment) => new (await import('./slurm.ts')).SlurmSandbox(options, environment),
};

export async function createSandbox(name: string, options: Record<string, unknown> = {}, environment?: Environment): Promise<Sandbox> {
  const factory = SANDBOXES[name];
  if (!factory) throw new UsageError(`unknown sandbox "${name}"; choose one of: ${Object.keys(SANDBOXES).join(', ')}`);
  return factory(options, environment);
}
