/**
 * The strategies `--search` can name. Adding one: a new file implementing SearchStrategy, and a
 * line here.
 */
import { UsageError } from '../core/errors.ts';
import type { RunConfig } from '../core/run-config.ts';
import { EVOLVE_DEFAULTS, EvolveSearch, type EvolveOptions } from './evolve.ts';
import { ParallelSearch } from './parallel.ts';
import { SerialSearch } from './serial.ts';
import type { SearchStrategy } from './strategy.ts';

type Factory = (config: RunConfig) => SearchStrategy;

export const STRATEGIES: Record<string, Factory> = {
  serial: (config) => new SerialSearch(config.buildOn),
  parallel: (config) => new ParallelSearch(intOption(config, 'roundSize') ?? config.parallel),
  evolve: (config) => {
    const options: Partial<EvolveOptions> = {};
    for (const key of Object.keys(EVOLVE_DEFAULTS) as (keyof EvolveOptions)[]) {
      const value = config.searchOptions[key];
      if (value !== undefined) options[key] = Number(value);
    }
    return new EvolveSearch(options);
  },
};

export function createStrategy(config: RunConfig): SearchStrategy {
  const factory = STRATEGIES[config.search];
  if (!factory) {
    throw new UsageError(`unknown search strategy "${config.search}"; choose one of: ${Object.keys(STRATEGIES).join(', ')}`);
  }
  try {
    return factory(config);
  } catch (error) {
    throw new UsageError(`--search ${config.search}: ${(error as Error).message}`);
  }
}

function intOption(config: RunConfig, key: string): number | undefined {
  const value = config.searchOptions[key];
  return value === undefined ? undefined : Number(value);
}
