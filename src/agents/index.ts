/**
 * Choosing the thinker and coder for a run: "offline" (no API key needed) or an agent file
 * (agents/*.yaml, or the name of a bundled one: anthropic, openai, openai-compatible).
 */
import type { Auditor, Coder, Thinker } from '../core/interfaces.ts';
import { DEFAULT_REFLECTION, type ReflectionSettings, type Reflector } from '../core/reflection.ts';
import type { PortfolioSpec } from '../search/model-portfolio.ts';
import { loadAgentFile, resolveAgentFile } from './agent-file.ts';
import { PROVIDERS } from '../models/providers/index.ts';
import type { LlmAgentOptions } from './llm/index.ts';
import { OfflineCoder, OfflineThinker } from './offline.ts';
import { OfflineReflector } from './offline-reflector.ts';
import { OneShotCoder } from './one-shot.ts';

export interface Agents {
  name: string;
  thinker: Thinker;
  coder: Coder;
  /** Several thinker models and how the sweep chooses among them (`thinker.models` in the agent file); absent with one. */
  portfolio?: PortfolioSpec;
  /** Reviews ideas that would become the best (the agent file's `auditor:`); absent: no review. */
  auditor?: Auditor;
  /** Reflects when a sweep ends (and every `reflection.every` ideas), writing the lab notebook. */
  reflector: Reflector;
  reflection: ReflectionSettings;
  /**
   * Debug rounds per idea (the agent file's coder.debugRounds): times code that failed when it
   * ran goes back to the coder with the failure. 0 for the offline agent, which cannot read a traceback.
   */
  debugRounds: number;
  /** Checks keys and model names with the provider before a sweep starts (LLM agents), and that a spending cap can be enforced. */
  check?(options?: { maxCostUsd: number | null }): Promise<void>;
}

export const OFFLINE_AGENT = 'offline';

/** Async because an LLM agent loads its providers' SDKs: an offline run never loads them. */
export async function createAgents(spec: string, options: LlmAgentOptions = { onRetry: (line) => console.error(line) }): Promise<Agents> {
  if (spec === OFFLINE_AGENT) return offlineAgents(DEFAULT_REFLECTION);
  const agent = loadAgentFile(resolveAgentFile(spec));
  if (agent.offline) return offlineAgents(agent.config.reflection);
  const { createLlmAgents } = await import('./llm/index.ts');
  return createLlmAgents(agent, options);
}

function offlineAgents(reflection: ReflectionSettings): Agents {
  // The knob coder writes the same knob edit whatever the traceback says: a debug round would only re-run it.
  return { name: OFFLINE_AGENT, thinker: new OfflineThinker(), coder: new OneShotCoder(new OfflineCoder()), reflector: new OfflineReflector(), reflection, debugRounds: 0 };
}

/** The one line `run` prints when no --agent is given. */
export function defaultAgentNotice(env: NodeJS.ProcessEnv = process.env): string {
  // Each hosted provider has a bundled agent file of the same name (agents/<provider>.yaml).
  const hosted = Object.values(PROVIDERS).filter((provider) => provider.hostedKey);
  const set = hosted.filter((provider) => env[provider.keyVariable]);
  if (set.length === 0) {
    const variables = hosted.map((provider) => provider.keyVariable);
    return `agent: offline (knob search, no model calls): ${variables.length === 1 ? `${variables[0]} is not set` : `neither ${variables.join(' nor ')} is set`}`;
  }
  // A key in the shell is not consent to spend it: model calls happen only when asked for.
  const hint = set.map((provider) => `--agent ${provider.name} uses ${provider.keyVariable}`).join(', ');
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
  await (await createAgents(spec)).check?.({ maxCostUsd });
  return spec;
}
