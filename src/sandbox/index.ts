/**
 * Choosing the sandbox a run's steps execute in (`--sandbox`).
 */
import { UsageError } from '../core/errors.ts';
import type { Sandbox } from '../core/interfaces.ts';
import { LocalSandbox } from './local.ts';

export type SandboxFactory = (options: Record<string, unknown>) => Sandbox | Promise<Sandbox>;

export const SANDBOXES: Record<string, SandboxFactory> = {
  local: () => new LocalSandbox(),
};

export async function createSandbox(name: string, options: Record<string, unknown> = {}): Promise<Sandbox> {
  const factory = SANDBOXES[name];
  if (!factory) throw new UsageError(`unknown sandbox "${name}"; choose one of: ${Object.keys(SANDBOXES).join(', ')}`);
  return factory(options);
}
