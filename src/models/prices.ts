/**
 * What model calls cost: USD per million tokens, per model. The built-in table covers current
 * OpenAI and Anthropic models (as their pricing pages listed them in late 2026); an agent file's
 * `prices:` overrides or extends it (a lab gateway, a newer model, 0 for a local server).
 */
import { z } from 'zod';
import type { Usage } from '../core/types.ts';

export const Price = z
  .object({
    /** Prompt tokens not read from or written to the cache. */
    input: z.number().nonnegative(),
    output: z.number().nonnegative(),
    /** Prompt tokens read from the cache (default: the input price). */
    cachedInput: z.number().nonnegative().optional(),
    /** Prompt tokens written to the cache (default: the input price). */
    cacheWrite: z.number().nonnegative().optional(),
  })
  .strict();
export type Price = z.output<typeof Price>;

const p = (input: number, cachedInput: number, output: number, cacheWrite?: number): Price => ({ input, cachedInput, output, cacheWrite });

/** USD per million tokens. Anthropic cache writes are the 5-minute rate (1.25× input). */
export const BUILTIN_PRICES: Readonly<Record<string, Price>> = {
  // Anthropic
  'claude-fable-5-2': p(10, 0.25, 50, 12.5),
  'claude-fable-5-1': p(10, 0.25, 50, 12.5),
  'claude-fable-5': p(10, 1, 50, 12.5),
  'claude-mythos-5-2': p(10, 0.25, 50, 12.5),
  'claude-mythos-5-1': p(10, 0.25, 50, 12.5),
  'claude-mythos-5': p(10, 1, 50, 12.5),
  'claude-opus-5-5': p(4, 0.4, 20, 5),
  'claude-opus-5': p(5, 0.5, 25, 6.25),
  'claude-opus-4-8': p(5, 0.5, 25, 6.25),
  'claude-opus-4-7': p(5, 0.5, 25, 6.25),
  'claude-opus-4-6': p(5, 0.5, 25, 6.25),
  'claude-opus-4-5': p(5, 0.5, 25, 6.25),
  'claude-sonnet-5-5': p(2, 0.1, 10, 2.5),
  'claude-sonnet-5': p(2, 0.2, 10, 2.5),
  'claude-sonnet-4-6': p(3, 0.3, 15, 3.75),
  'claude-sonnet-4-5': p(3, 0.3, 15, 3.75),
  'claude-haiku-5-5': p(0.1, 0.01, 0.5, 0.125),
  'claude-haiku-4-5': p(1, 0.1, 5, 1.25),
  // OpenAI
  'gpt-5.6': p(5, 0.5, 30),
  'gpt-5.6-sol': p(5, 0.5, 30),
  'gpt-5.6-terra': p(2, 0.2, 12),
  'gpt-5.6-luna': p(0.2, 0.02, 1.2),
  'gpt-5': p(1.25, 0.125, 10),
  'gpt-5-mini': p(0.25, 0.025, 2),
  'gpt-5-nano': p(0.05, 0.005, 0.4),
  'gpt-4.1': p(2, 0.5, 8),
  'gpt-4.1-mini': p(0.4, 0.1, 1.6),
  'gpt-4.1-nano': p(0.1, 0.025, 0.4),
  'gpt-4o': p(2.5, 1.25, 10),
  'gpt-4o-mini': p(0.15, 0.075, 0.6),
  o3: p(2, 0.5, 8),
  'o4-mini': p(1.1, 0.275, 4.4),
};

/** The price of `model`: the overrides first, then the built-in table; dated names fall back to their family. */
export function priceFor(model: string, overrides: Readonly<Record<string, Price>> = {}): Price | null {
  const undated = model.replace(/-(\d{4}-\d{2}-\d{2}|\d{8})$/, '');
  for (const name of [model, undated]) {
    if (overrides[name]) return overrides[name];
    if (BUILTIN_PRICES[name]) return BUILTIN_PRICES[name];
  }
  return null;
}

/** Dollars for the tokens of one call. `usage.inputTokens` includes cached and cache-written tokens. */
export function costOf(usage: Omit<Usage, 'costUsd'>, price: Price | null): number {
  if (!price) return 0;
  const fresh = Math.max(0, usage.inputTokens - usage.cachedTokens - usage.cacheWriteTokens);
  const dollars =
    fresh * price.input +
    usage.cachedTokens * (price.cachedInput ?? price.input) +
    usage.cacheWriteTokens * (price.cacheWrite ?? price.input) +
    usage.outputTokens * price.output;
  return dollars / 1_000_000;
}
