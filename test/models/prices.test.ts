import { describe, expect, it } from 'vitest';
import { costOf, priceFor } from '../../src/models/prices.ts';

describe('prices', () => {
  it('finds a model, a dated name by its family, and lets an agent file override or add one', () => {
    expect(priceFor('claude-sonnet-5-5')).toEqual({ input: 2, cachedInput: 0.1, cacheWrite: 2.5, output: 10 });
    expect(priceFor('gpt-4.1-2025-04-14')).toEqual(priceFor('gpt-4.1'));
    expect(priceFor('my-gateway-model')).toBeNull();
    expect(priceFor('my-gateway-model', { 'my-gateway-model': { input: 1, output: 2 } })).toEqual({ input: 1, output: 2 });
    expect(priceFor('gpt-5.6-terra', { 'gpt-5.6-terra': { input: 0, output: 0 } })).toEqual({ input: 0, output: 0 });
  });

  it('prices cached and cache-written prompt tokens at their own rates (input tokens include them)', () => {
    const usage = { inputTokens: 1_000_000, cachedTokens: 600_000, cacheWriteTokens: 100_000, outputTokens: 10_000 };
    // 300k fresh × $2 + 600k cached × $0.10 + 100k written × $2.50 + 10k out × $10, per million
    expect(costOf(usage, priceFor('claude-sonnet-5-5'))).toBeCloseTo(0.6 + 0.06 + 0.25 + 0.1, 12);
    // no cache prices: everything at the input price
    expect(costOf(usage, { input: 1, output: 1 })).toBeCloseTo(1.01, 12);
    expect(costOf(usage, null)).toBe(0);
  });
});
