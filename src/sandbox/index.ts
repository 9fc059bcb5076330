/**
 * Choosing the sandbox a run's steps execute in (`--sandbox`).
 */
import { UsageError } from '../core/errors.ts';
import type { Sandbox } from '../core/interfaces.ts';
import type { Environment } from '../environment/load.ts';
import type { LocalIsolation } from './local.ts';

export type SandboxFactory = (options: Record<string, unknown>, environment?: Environment) => Sandbox | Promise<Sandbox>;

/**
 * Each sandbox's module is loaded only when a run uses it: a local run (or a `resume` of one)
 * does not pay for loading dockerode or the Slurm code.
 */
export const SANDBOXES: Record<string, SandboxFactory> = {
  local: async (options) => new (await import('./local.ts')).LocalSandbox({ isolation: localIsolation(options.isolation) }),
  docker: async (options) => (await import('./docker/sandbox.ts')).createDockerSandbox(options),
  slurm: async (options, environment) => new (await import('./slurm/sandbox.ts')).SlurmSandbox(options, environment),
};

/** A run's recorded isolation; without one (`env check`, runs made before isolation), bubblewrap where it works. */
function localIsolation(value: unknown): LocalIsolation | undefined {
  return value === 'bubblewrap' || value === 'none' ? value : undefined;
}

export async function createSandbox(name: string, options: Record<string, unknown> = {}, environment?: Environment): Promise<Sandbox> {
  const factory = SANDBOXES[name];
  if (!factory) throw new UsageError(`unknown sandbox "${name}"; choose one of: ${Object.keys(SANDBOXES).join(', ')}`);
  return withEnvironmentInterpreter(await factory(options, environment), environment);
}

/**
 * A sandbox made for an environment runs its steps with that environment's interpreter
 * (`python:` in environment.yaml, or the venv active when it was loaded): every request that does
 * not name one gets it, whoever built the request.
 */
function withEnvironmentInterpreter(sandbox: Sandbox, environment: Environment | undefined): Sandbox {
  if (!environment || environment.interpreter === undefined) return sandbox;
  const { interpreter } = environment;
  const run = sandbox.run.bind(sandbox);
  sandbox.run = (request) => run(request.interpreter === undefined ? { ...request, interpreter } : request);
  return sandbox;
}
