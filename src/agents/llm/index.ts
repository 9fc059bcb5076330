/**
 * Building the LLM thinker, coder, reflector and (when the agent file has one) auditor from a loaded agent file: one Model per role (from the
 * provider registry, src/models/providers/), prompt templates checked up front.
 */
import path from 'node:path';
import { ConfigError } from '../../core/errors.ts';
import { type CoderSettings, type CommandCoderSettings, isCommandCoder, type LlmAgentFile, portfolioSpec, type RoleSettings } from '../agent-file.ts';
import type { Coder } from '../../core/interfaces.ts';
import type { PortfolioSpec } from '../../search/model-portfolio.ts';
import type { ReflectionSettings } from '../../core/reflection.ts';
import { canUseTools, type Model } from '../../models/model.ts';
import { PROVIDERS } from '../../models/providers/index.ts';
import { OneShotCoder } from '../one-shot.ts';
import { AUDITOR_PLACEHOLDERS, LlmAuditor } from './auditor.ts';
import { CODER_PLACEHOLDERS, LlmCoder } from './coder.ts';
import { LlmReflector, REFLECTOR_PLACEHOLDERS } from './reflector.ts';
import { checkTemplate } from './template.ts';
import { LlmThinker, THINKER_PLACEHOLDERS } from './thinker.ts';

export interface LlmAgents {
  name: string;
  thinker: LlmThinker;
  coder: Coder;
  /** The thinker's models and how the sweep chooses among them; absent with one model. */
  portfolio?: PortfolioSpec;
  /** The reviewer of would-be best ideas, when the agent file has an `auditor:`. */
  auditor?: LlmAuditor;
  reflector: LlmReflector;
  reflection: ReflectionSettings;
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
  const { thinker, coder, auditor, reflector, config } = agent;
  checkTemplate(thinker.prompts.system, THINKER_PLACEHOLDERS, `${shown}: thinker prompt ${thinker.prompts.systemFile}`);
  checkTemplate(thinker.prompts.user, THINKER_PLACEHOLDERS, `${shown}: thinker prompt ${thinker.prompts.userFile}`);
  checkTemplate(reflector.prompts.system, REFLECTOR_PLACEHOLDERS, `${shown}: reflector prompt ${reflector.prompts.systemFile}`);
  checkTemplate(reflector.prompts.user, REFLECTOR_PLACEHOLDERS, `${shown}: reflector prompt ${reflector.prompts.userFile}`);

  if (auditor) {
    checkTemplate(auditor.prompts.system, AUDITOR_PLACEHOLDERS, `${shown}: auditor prompt ${auditor.prompts.systemFile}`);
    checkTemplate(auditor.prompts.user, AUDITOR_PLACEHOLDERS, `${shown}: auditor prompt ${auditor.prompts.userFile}`);
  }

  const thinkerModel = await createModel(thinker, agent, options);
  const built = await createCoder(coder, agent, shown, options);
  // A portfolio's models by name; its first is the thinker's (the same settings, so one Model serves both).
  const portfolio = new Map<string, Model>();
  for (const { settings } of agent.thinkerPortfolio?.models ?? []) {
    portfolio.set(settings.model!, portfolio.size === 0 ? thinkerModel : await createModel(settings, agent, options));
  }
  const auditorModel = auditor ? await createModel(auditor, agent, options) : null;
  const reflectorModel = await createModel(reflector, agent, options);
  const endpoint = (s: RoleSettings) => JSON.stringify([s.provider, s.model, s.baseURL, s.keyVariable]);
  const checked: [RoleSettings, Model][] = [[thinker, thinkerModel], ...(built.model && !isCommandCoder(coder) ? [[coder, built.model] as [RoleSettings, Model]] : []), ...(auditor && auditorModel ? [[auditor, auditorModel] as [RoleSettings, Model]] : []),
    [reflector, reflectorModel], ...(agent.thinkerPortfolio?.models ?? []).map(({ settings }): [RoleSettings, Model] => [settings, portfolio.get(settings.model!)!])];
  const shared = { contextTokens: config.context.maxTokens, diffLines: config.context.diffLines, parseRetries: config.parseRetries };
  const thinkerOptions = { ...shared, prompts: thinker.prompts, historyTokens: config.context.historyTokens, notebookTokens: config.reflection.notebookTokens };
  return {
    name: config.name,
    thinker: new LlmThinker(thinkerModel, thinkerOptions, config.name, portfolio),
    coder: built.coder,
    ...(auditor && auditorModel
      ? {
          auditor: new LlmAuditor(
            auditorModel,
            { prompts: auditor.prompts, parseRetries: config.parseRetries },
            config.name,
          ),
        }
      : {}),
    reflector: new LlmReflector(
      reflectorModel,
      {
        prompts: reflector.prompts,
        historyTokens: config.context.historyTokens,
        diffLines: config.context.diffLines,
        notebookTokens: config.reflection.notebookTokens,
        parseRetries: config.parseRetries,
      },
      config.name,
    ),
    reflection: config.reflection,
    ...(agent.thinkerPortfolio ? { portfolio: portfolioSpec(agent.thinkerPortfolio) } : {}),
    debugRounds: config.coder.debugRounds,
    async check(options = { maxCostUsd: null }) {
      // Each distinct endpoint once (the coder often shares the thinker's).
      const seen = new Set<string>();
      for (const [settings, model] of checked) {
        if (seen.has(endpoint(settings))) continue;
        seen.add(endpoint(settings));
        await model.check();
      }
      built.check?.();
      if (options.maxCostUsd === null) return;
      for (const [, model] of checked) {
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
