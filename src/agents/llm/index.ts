/**
 * Building the LLM thinker and coder from a loaded agent file: one Model per role (from the
 * provider registry, src/models/providers/), prompt templates checked up front.
 */
import path from 'node:path';
import { ConfigError } from '../../core/errors.ts';
import type { LlmAgentFile, RoleSettings } from '../agent-file.ts';
import type { Model } from '../../models/model.ts';
import { PROVIDERS } from '../../models/providers/index.ts';
import { OneShotCoder } from '../one-shot.ts';
import { CODER_PLACEHOLDERS, LlmCoder } from './coder.ts';
import { checkTemplate } from './template.ts';
import { LlmThinker, THINKER_PLACEHOLDERS } from './thinker.ts';

export interface LlmAgents {
  name: string;
  thinker: LlmThinker;
  coder: OneShotCoder;
  debugRounds: number;
  /**
   * Checks each distinct model's key and name with its provider (no tokens spent), and, under a
   * spending cap, that every model has a price.
   */
  check(options?: { maxCostUsd: number | null }): Promise<void>;
}

export interface LlmAgentOptions {
  /** Told about each retried call (rate limits, 5xx, dropped connections), one line each. */
  onRetry?: (line: string) => void;
}

/** The role's model, from the provider its settings name (its SDK adapter is loaded here, not before). */
export async function createModel(settings: RoleSettings, agent: LlmAgentFile, options: LlmAgentOptions = {}): Promise<Model> {
  const { retry, prices } = agent.config;
  return PROVIDERS[settings.provider].create(settings, { retry, prices, onRetry: options.onRetry });
}

export async function createLlmAgents(agent: LlmAgentFile, options: LlmAgentOptions = {}): Promise<LlmAgents> {
  const shown = path.relative(process.cwd(), agent.file) || agent.file;
  const { thinker, coder, config } = agent;
  checkTemplate(thinker.prompts.system, THINKER_PLACEHOLDERS, `${shown}: thinker prompt ${thinker.prompts.systemFile}`);
  checkTemplate(thinker.prompts.user, THINKER_PLACEHOLDERS, `${shown}: thinker prompt ${thinker.prompts.userFile}`);
  checkTemplate(coder.prompts.system, CODER_PLACEHOLDERS, `${shown}: coder prompt ${coder.prompts.systemFile}`);
  checkTemplate(coder.prompts.user, CODER_PLACEHOLDERS, `${shown}: coder prompt ${coder.prompts.userFile}`);

  const thinkerModel = await createModel(thinker, agent, options);
  const coderModel = await createModel(coder, agent, options);
  const endpoint = (s: RoleSettings) => JSON.stringify([s.provider, s.model, s.baseURL, s.keyVariable]);
  const shared = { contextTokens: config.context.maxTokens, diffLines: config.context.diffLines, parseRetries: config.parseRetries };
  return {
    name: config.name,
    thinker: new LlmThinker(thinkerModel, { ...shared, prompts: thinker.prompts, historyTokens: config.context.historyTokens }, config.name),
    coder: new OneShotCoder(new LlmCoder(coderModel, { ...shared, prompts: coder.prompts, editFormat: coder.editFormatText }, config.name)),
    debugRounds: config.coder.debugRounds,
    async check(options = { maxCostUsd: null }) {
      await thinkerModel.check();
      if (endpoint(coder) !== endpoint(thinker)) await coderModel.check();
      if (options.maxCostUsd === null) return;
      for (const model of [thinkerModel, coderModel]) {
        if (!(await model.price())) {
          throw new ConfigError(
            `--max-cost needs the price of model "${await model.modelName()}": add it under prices: in ${shown} (0 for a free local server)`,
          );
        }
      }
    },
  };
}
