/**
 * Building the LLM thinker and coder from a loaded agent file: one Model per role (from the
 * provider registry, src/models/providers/), prompt templates checked up front. The coder is the
 * one the agent file asks for: one-shot (an edit writer wrapped in OneShotCoder), agentic
 * (`mode: agent`, tools over the provider's tool calling) or a command (`provider: command`).
 */
import path from 'node:path';
import { ConfigError } from '../../core/errors.ts';
import type { Coder } from '../../core/interfaces.ts';
import { type CoderSettings, type CommandCoderSettings, isCommandCoder, type LlmAgentFile, type RoleSettings } from '../agent-file.ts';
import { canUseTools, type Model } from '../../models/model.ts';
import { PROVIDERS } from '../../models/providers/index.ts';
import { OneShotCoder } from '../one-shot.ts';
import { CODER_PLACEHOLDERS, LlmCoder } from './coder.ts';
import { checkTemplate } from './template.ts';
import { LlmThinker, THINKER_PLACEHOLDERS } from './thinker.ts';

export interface LlmAgents {
  name: string;
  thinker: LlmThinker;
  coder: Coder;
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
  const { thinker, config } = agent;
  checkTemplate(thinker.prompts.system, THINKER_PLACEHOLDERS, `${shown}: thinker prompt ${thinker.prompts.systemFile}`);
  checkTemplate(thinker.prompts.user, THINKER_PLACEHOLDERS, `${shown}: thinker prompt ${thinker.prompts.userFile}`);
  const thinkerModel = await createModel(thinker, agent, options);
  const shared = { contextTokens: config.context.maxTokens, diffLines: config.context.diffLines, parseRetries: config.parseRetries };
  const built = await createCoder(agent.coder, agent, shown, options);
  const models = built.model ? [thinkerModel, built.model] : [thinkerModel];
  const endpoint = (s: RoleSettings) => JSON.stringify([s.provider, s.model, s.baseURL, s.keyVariable]);
  return {
    name: config.name,
    thinker: new LlmThinker(thinkerModel, { ...shared, prompts: thinker.prompts, historyTokens: config.context.historyTokens }, config.name),
    coder: built.coder,
    async check(options = { maxCostUsd: null }) {
      await thinkerModel.check();
      if (built.model && !isCommandCoder(agent.coder) && endpoint(agent.coder) !== endpoint(thinker)) await built.model.check();
      built.check?.();
      if (options.maxCostUsd === null) return;
      for (const model of models) {
        if (!(await model.price())) {
          throw new ConfigError(
            `--max-cost needs the price of model "${await model.modelName()}": add it under prices: in ${shown} (0 for a free local server)`,
          );
        }
      }
    },
  };
}

/** The coder the agent file asks for, with its model (none for a command) and its own pre-flight check. */
async function createCoder(
  coder: CoderSettings | CommandCoderSettings,
  agent: LlmAgentFile,
  shown: string,
  options: LlmAgentOptions,
): Promise<{ coder: Coder; model: Model | null; check?: () => void }> {
  const { config } = agent;
  if (isCommandCoder(coder)) {
    const { CommandCoder } = await import('../command-coder.ts');
    const command = new CommandCoder(coder, config.name);
    return { coder: command, model: null, check: () => command.check() };
  }
  const model = await createModel(coder, agent, options);
  if (coder.mode === 'agent') {
    const { AGENT_CODER_PLACEHOLDERS, AgenticCoder } = await import('../agentic-coder.ts');
    checkTemplate(coder.prompts.system, AGENT_CODER_PLACEHOLDERS, `${shown}: coder prompt ${coder.prompts.systemFile}`);
    checkTemplate(coder.prompts.user, AGENT_CODER_PLACEHOLDERS, `${shown}: coder prompt ${coder.prompts.userFile}`);
    if (!canUseTools(model)) throw new ConfigError(`${shown}: coder: mode: agent needs tool calling, which provider ${coder.provider} does not offer`);
    const limits = { maxTurns: coder.maxTurns, maxTokens: coder.maxTokens };
    const settings = { prompts: coder.prompts, editFormat: coder.editFormatText, contextTokens: config.context.maxTokens, diffLines: config.context.diffLines };
    return { coder: new AgenticCoder(model, { ...settings, ...limits }, config.name), model };
  }
  checkTemplate(coder.prompts.system, CODER_PLACEHOLDERS, `${shown}: coder prompt ${coder.prompts.systemFile}`);
  checkTemplate(coder.prompts.user, CODER_PLACEHOLDERS, `${shown}: coder prompt ${coder.prompts.userFile}`);
  const shared = { contextTokens: config.context.maxTokens, diffLines: config.context.diffLines, parseRetries: config.parseRetries };
  return { coder: new OneShotCoder(new LlmCoder(model, { ...shared, prompts: coder.prompts, editFormat: coder.editFormatText }, config.name)), model };
}
