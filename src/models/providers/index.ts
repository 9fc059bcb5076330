/**
 * The model providers an agent file can name (`provider:`). Adding one: a file beside this one
 * exporting its ModelProvider entry (and, for a new SDK, its adapter in src/models/), plus one
 * line here. The order is the order providers are listed in messages.
 */
import { anthropicProvider } from './anthropic.ts';
import { openaiCompatibleProvider } from './openai-compatible.ts';
import { openaiProvider } from './openai.ts';
import type { ModelProvider } from './provider.ts';

export type { ModelOptions, ModelProvider, ResolvedModelSettings } from './provider.ts';

export const PROVIDERS: Readonly<Record<string, ModelProvider>> = Object.fromEntries(
  [openaiProvider, anthropicProvider, openaiCompatibleProvider].map((provider) => [provider.name, provider]),
);

export const PROVIDER_NAMES = Object.keys(PROVIDERS) as [string, ...string[]];
