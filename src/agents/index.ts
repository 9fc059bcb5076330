/**
 * Choosing the thinker and coder for a run: "offline" (no API key needed) or an agent file
 * (agents/*.yaml, or the name of a bundled one: anthropic, openai, openai-compatible).
 */
import type { Coder, Thinker } from '../core/interfaces.ts';
import { loadAgentFile, resolveAgentFile } from './agent-file.ts';
import { createLlmAgents, type LlmAgentOptions } from './llm/index.ts';
import { OfflineCoder, OfflineThinker } from './offline.ts';

export interface Agents {
  name: string;
  thinker: Thinker;
  coder: Coder;
  /** Checks keys and model names with the provider before a sweep starts (LLM agents), and that a spending cap can be enforced. */
  check?(options?: { maxCostUsd: number | null }): Promise<void>;
}

export const OFFLINE_AGENT = 'offline';

export function createAgents(spec: string, options: LlmAgentOptions = { onRetry: (line) => console.error(line) }): Agents {
  if (spec === OFFLINE_AGENT) return offlineAgents();
  const agent = loadAgentFile(resolveAgentFile(spec));
  return agent.offline ? offlineAgents() : createLlmAgents(agent, options);
}

function offlineAgents(): Agents {
  return { name: OFFLINE_AGENT, thinker: new OfflineThinker(), coder: new OfflineCoder() };
}

/** The one line `run` prints when no --agent is given. */
export function defaultAgentNotice(env: NodeJS.ProcessEnv = process.env): string {
  const keys = ['ANTHROPIC_API_KEY', 'OPENAI_API_KEY'].filter((name) => env[name]);
  if (keys.length === 0) return 'agent: offline (knob search, no model calls): neither OPENAI_API_KEY nor ANTHROPIC_API_KEY is set';
  // A key in the shell is not consent to spend it: model calls happen only when asked for.
  const hint = keys.map((name) => `--agent ${name.startsWith('ANTHROPIC') ? 'anthropic' : 'openai'} uses ${name}`).join(', ');
  return `agent: offline (knob search, no model calls); ${hint}`;
}

/**
 * The agent a new run records: `offline` when no --agent is given (saying so), else the agent
 * file's absolute path — loaded, and its keys and models checked with the provider, before the
 * run is created, so a bad key or model name costs nothing.
 */
export async function prepareAgent(flag: string | undefined, maxCostUsd: number | null = null, log: (line: string) => void = console.log): Promise<string> {
  if (flag === undefined) {
    log(defaultAgentNotice());
    return OFFLINE_AGENT;
  }
  const spec = flag === OFFLINE_AGENT ? OFFLINE_AGENT : resolveAgentFile(flag);
  await createAgents(spec).check?.({ maxCostUsd });
  return spec;
}
