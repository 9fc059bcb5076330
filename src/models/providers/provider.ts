/**
 * A model provider, as an agent file's `provider:` names it: where its key and server come from,
 * the settings it takes besides the shared ones, and how to build its Model. One file per
 * provider, listed in PROVIDERS (index.ts); the agent-file loader and the LLM agents know
 * providers only through this entry, so a provider cannot be half-added.
 *
 * `create` loads the provider's SDK adapter on demand: a run with another provider (or none)
 * never loads it.
 */
import type { z } from 'zod';
import type { Model } from '../model.ts';
import type { Price } from '../prices.ts';
import type { RetryPolicy } from '../retry.ts';

export interface ModelProvider {
  /** The `provider:` value in an agent file. */
  name: string;
  /** The variable the key comes from when the agent file names none (apiKeyEnv:). */
  keyVariable: string;
  /** The variable the server URL comes from when the agent file gives none (baseUrl:). */
  baseUrlVariable: string;
  /** A hosted API that always wants a key, so a set key is a reason to offer `--agent <name>` (see defaultAgentNotice). */
  hostedKey: boolean;
  /** Whether a missing key is fine (local servers need none; the clients still insist on one, so a placeholder is sent). */
  keyOptional(baseURL: string | null): boolean;
  /** The variable naming the model when the agent file names none. */
  modelVariable?: string;
  /** With no model named anywhere, ask the server which one it serves (fine when it serves exactly one). */
  asksServerForModel?: boolean;
  /** No public default server: a base URL must be given. `what` names the server in the message. */
  needsBaseUrl?: { what: string; example: string };
  /** The settings only this provider takes, every field optional; defaults are applied here. Another provider's settings are refused. */
  settings: z.ZodObject;
  /** Why a setting another provider takes is refused here, by field (otherwise: "<provider> takes no <field>"). */
  refusals?: Record<string, string>;
  create(role: ResolvedModelSettings, options: ModelOptions): Promise<Model>;
}

/** One role's model settings, resolved: what `create` builds a Model from. */
export interface ResolvedModelSettings {
  provider: string;
  /** null: ask the server (providers with asksServerForModel only). */
  model: string | null;
  baseURL: string | null;
  apiKey: string;
  keyVariable: string;
  maxOutputTokens: number;
  /** The provider's own settings: its `settings` schema's output. */
  options: Record<string, unknown>;
}

/** What every model of an agent file shares. */
export interface ModelOptions {
  retry: RetryPolicy;
  prices?: Readonly<Record<string, Price>>;
  /** Told about each retried call, one line each. */
  onRetry?: (line: string) => void;
}
