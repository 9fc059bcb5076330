/**
 * The strategies `--search` can name. Adding one: a new file implementing SearchStrategy, and a
 * line here.
 */
import { UsageError } from '../core/errors.ts';
import type { RunConfig } from '../core/run-config.ts';
import { SerialSearch } from './serial.ts';
import type { SearchStrategy } from './strategy.ts';

type Factory = (config: RunConfig) => SearchStrategy;

export const STRATEGIES: Record<string, Factory> = {
  serial: (config) => new SerialSearch(config.buildOn),
};

export function createStrategy(config: RunConfig): SearchStrategy {
  const factory = STRATEGIES[config.search];
  if (!factory) {
    throw new UsageError(`unknown search strategy "${config.search}"; choose one of: ${Object.keys(STRATEGIES).join(', ')}`);
  }
  return factory(config);
}
