/**
 * Agent files (agents/*.yaml), as a zod schema, and loading them: which provider and model the
 * thinker, the coder, the reflector (defaulting to the thinker's) and optionally the auditor use, how often the sweep reflects, their sampling settings, their prompt templates (readable files
 * beside the agent file), how much context goes into a prompt, retries and prices.
 *
 * Keys never appear in an agent file: it names the variable they come from.
 *
 * (Over 400 lines on purpose: one schema for the whole file, every role in it, so that an agent
 * file is checked in one pass with one error listing every mistake, and loading resolves each
 * role's defaults from the shared settings in the same place.)
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../core/errors.ts';
import { formatIssues } from '../environment/load.ts';
import { Price } from '../models/prices.ts';
import { type ModelProvider, PROVIDER_NAMES, PROVIDERS, type ResolvedModelSettings } from '../models/providers/index.ts';
import { RetryPolicy } from '../models/retry.ts';
import { PORTFOLIO_POLICIES, type PortfolioSpec } from '../search/model-portfolio.ts';

/** The repository's own folder (agents/ holds the bundled agent files). */
export const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BUNDLED_AGENTS_DIR = path.join(PACKAGE_ROOT, 'agents');

export const Provider = z.enum(PROVIDER_NAMES);
export type Provider = z.output<typeof Provider>;

/** The settings every provider takes. */
const SharedModelSettings = {
  provider: Provider,
  /** Model name. Default: the provider's model variable (OPENAI_MODEL), else (openai-compatible) the one model the server serves. */
  model: z.string().min(1),
  /** Server base URL. Default: the provider's variable (OPENAI_BASE_URL / ANTHROPIC_BASE_URL), else the provider's own. */
  baseUrl: z.string().url(),
  /** Variable holding the key. Default: the provider's (OPENAI_API_KEY, ANTHROPIC_API_KEY). */
  apiKeyEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name'),
  maxOutputTokens: z.number().int().positive(),
};

/**
 * What `model:`, `thinker:` and `coder:` may hold: the shared settings and every provider's own
 * (src/models/providers/). The role's provider is known only once the shared block is merged
 * in, so which of them the provider takes is checked then (see providerOptions).
 */
const providerSettings: Record<string, z.ZodType> = Object.assign({}, ...Object.values(PROVIDERS).map((provider) => provider.settings.shape));
const ModelSettings = z
  .object({ ...providerSettings, ...SharedModelSettings })
  .partial()
  .strict();

const Prompts = z
  .object({
    /** The stable part of the prompt (cached by the provider). Paths are relative to the agent file. */
    system: z.string().min(1),
    /** The part that changes per idea. */
    user: z.string().min(1),
  })
  .strict();

/** One model of the thinker's portfolio: its name, a weight, and any model setting that differs from the thinker's. */
const PortfolioEntry = ModelSettings.extend({
  model: z.string().min(1),
  /** Prior preference, relative to the other models' (a model of weight 2 is tried before one of weight 1). */
  weight: z.number().positive().default(1),
}).strict();

/** How the model of each proposal is chosen among `thinker.models` (src/search/model-portfolio.ts). */
const Portfolio = z
  .object({
    policy: z.enum(PORTFOLIO_POLICIES).default('ucb'),
    /** Divide each model's score by what its ideas cost (its thinker calls), relative to the cheapest model's. */
    perDollar: z.boolean().default(false),
    /** UCB's exploration constant (1: UCB1). */
    exploration: z.number().positive().default(1),
  })
  .strict();

const Thinker = ModelSettings.extend({
  prompts: Prompts.optional(),
  /** Several models: a bandit chooses which proposes each idea (settings here and under model: apply to each). */
  models: z.array(PortfolioEntry).min(1).optional(),
  portfolio: Portfolio.optional(),
}).strict();
// ─── The coder: a model (one-shot or agentic) or a command ────────────────────────────────────

const VARIABLE_NAME = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name');
export const PROMPT_PLACEHOLDER = '{{prompt}}';

/**
 * Times an idea whose committed code failed when it ran (a traceback, no metric, a failed smoke
 * step) goes back to the coder with the failure and the log's tail, to fix it. 0 turns it off.
 */
const DebugRounds = z.number().int().min(0).max(10).default(2);

/** A coder that is a model: one edit per idea (`one-shot`), or turns with tools until it submits (`agent`). */
const ModelCoder = ModelSettings.extend({
  prompts: Prompts.optional(),
  models: z.never({ error: 'a model portfolio is for the thinker only: give the coder one model' }).optional(),
  /** The edit form the coder is asked for; both forms are always accepted. */
  editFormat: z.enum(['search-replace', 'unified-diff']).default('search-replace'),
  debugRounds: DebugRounds,
  /** one-shot: one edit, rewritten when it does not apply (repair rounds); agent: reads, edits and runs the smoke step in turns. */
  mode: z.enum(['one-shot', 'agent']).default('one-shot'),
  /** mode: agent — the most turns (model calls) per idea. */
  maxTurns: z.number().int().positive().max(1_000).optional(),
  /** mode: agent — the most input plus output tokens of all its turns per idea. */
  maxTokens: z.number().int().positive().optional(),
})
  .strict()
  .superRefine((coder, context) => {
    for (const field of ['maxTurns', 'maxTokens'] as const) {
      if (coder.mode !== 'agent' && coder[field] !== undefined) {
        context.addIssue({ code: 'custom', path: [field], message: `${field} limits the agentic coder: add mode: agent, or remove it` });
      }
    }
  });

/**
 * A coder that is a command: a coding-agent CLI (claude -p, codex exec, aider --message, …) run
 * in a scratch copy of the idea's tree with the idea as its prompt (src/agents/command-coder.ts).
 */
const CommandCoder = z
  .object({
    provider: z.literal('command'),
    /** The program and its arguments (no shell); `{{prompt}}` in an argument is replaced by the prompt. */
    command: z.array(z.string().min(1)).min(1),
    /** Seconds the command may run; then its whole process group is killed. */
    timeout: z.number().positive().default(1_800),
    /** Variables set for the command. */
    env: z.record(VARIABLE_NAME, z.string()).default({}),
    /** Variables passed through from the researcher's environment (the agent's own key); nothing else is. */
    passEnv: z.array(VARIABLE_NAME).default([]),
    /** How the prompt reaches the command: on its standard input, or as the `{{prompt}}` argument. Default: argument when the command has one. */
    prompt: z.enum(['stdin', 'argument']).optional(),
    debugRounds: DebugRounds,
  })
  .strict()
  .superRefine((coder, context) => {
    const placed = coder.command.some((part) => part.includes(PROMPT_PLACEHOLDER));
    if (coder.prompt === 'argument' && !placed) {
      context.addIssue({ code: 'custom', path: ['command'], message: `prompt: argument needs ${PROMPT_PLACEHOLDER} in one of the command's arguments` });
    }
    if (coder.prompt === 'stdin' && placed) {
      context.addIssue({ code: 'custom', path: ['command'], message: `the command has ${PROMPT_PLACEHOLDER} but prompt: stdin sends the prompt on standard input; use one` });
    }
  });
export type CommandCoderConfig = z.output<typeof CommandCoder>;

/** `coder:` holds a command coder when its provider is `command`, else a model coder. */
const Coder = z.unknown().transform((value, context) => {
  const schema = value && typeof value === 'object' && (value as { provider?: unknown }).provider === 'command' ? CommandCoder : ModelCoder;
  const parsed = schema.safeParse(value ?? {});
  if (parsed.success) return parsed.data as z.output<typeof ModelCoder> | CommandCoderConfig;
  for (const issue of parsed.error.issues) context.addIssue({ ...issue, code: 'custom', message: issue.message });
  return z.NEVER;
});

/** The optional reviewer of would-be best ideas (src/agents/llm/auditor.ts). */
const Auditor = ModelSettings.extend({ prompts: Prompts.optional() }).strict();
/** The reflector (src/core/reflection.ts): its model settings default to the thinker's. */
const ReflectorRole = ModelSettings.extend({ prompts: Prompts.optional() }).strict();

export const AgentFileSchema = z
  .object({
    name: z.string().min(1),
    description: z.string().optional(),
    /** The offline agent (knob search, no model): the rest of the file is ignored, but for `reflection:`. */
    offline: z.boolean().default(false),
    /** Settings both roles share; `thinker:` and `coder:` override them. */
    model: ModelSettings.default({}),
    thinker: Thinker.default({}),
    coder: Coder.prefault({}),
    /** Reviews each idea that would become the best against the environment's rules; absent: no review. */
    auditor: Auditor.optional(),
    reflector: ReflectorRole.default({}),
    /** When the sweep reflects (always when it ends), and how much of the lab notebook the thinker sees. */
    reflection: z
      .object({
        /** Reflect every N finished ideas, and show the thinker what was learned; 0 (the default): only when the sweep ends. */
        every: z.number().int().min(0).default(0),
        /** Tokens of the environment's lab notebook in the thinker's prompt; what does not fit is cut at the end, saying so. */
        notebookTokens: z.number().int().min(0).default(2_000),
      })
      .strict()
      .prefault({}),
    context: z
      .object({
        /** Tokens of code files in a prompt; what does not fit is left out, least relevant and largest first. */
        maxTokens: z.number().int().positive().default(24_000),
        /** Tokens of run history (past ideas, rewards, diffs, failures) in the thinker's prompt. */
        historyTokens: z.number().int().positive().default(6_000),
        /** Lines of each past idea's diff shown to the thinker. */
        diffLines: z.number().int().min(0).default(60),
      })
      .strict()
      .prefault({}),
    /** Times a reply that cannot be read (bad JSON, no edit) is retried with the reason. */
    parseRetries: z.number().int().min(0).max(5).default(1),
    retry: RetryPolicy.prefault({}),
    /** USD per million tokens, by model name; overrides the built-in table. */
    prices: z.record(z.string(), Price).default({}),
  })
  .strict();
export type AgentFile = z.output<typeof AgentFileSchema>;

/** One role's settings, with the shared ones merged in and the environment's defaults applied. */
export interface RoleSettings extends ResolvedModelSettings {
  role: 'thinker' | 'coder' | 'auditor' | 'reflector';
  /** The prompt templates, read. */
  prompts: { system: string; user: string; systemFile: string; userFile: string };
}

/** The thinker's models when the agent file lists several (`thinker.models`), with how one is chosen. */
export interface ThinkerPortfolio extends Omit<PortfolioSpec, 'models'> {
  models: { settings: RoleSettings; weight: number }[];
}

export type LoadedAgent =
  | { file: string; config: AgentFile; offline: true }
  | {
      file: string;
      config: AgentFile;
      offline: false;
      /** With a portfolio: its first model (the one `check` and the single-model code paths see first). */
      thinker: RoleSettings;
      /** Null unless `thinker.models` lists two or more models. */
      thinkerPortfolio: ThinkerPortfolio | null;
      coder: CoderSettings | CommandCoderSettings;
      auditor: RoleSettings | null;
      reflector: RoleSettings;
    };
export type LlmAgentFile = Extract<LoadedAgent, { offline: false }>;
export type CoderSettings = RoleSettings & {
  editFormat: 'search-replace' | 'unified-diff';
  editFormatText: string;
  mode: 'one-shot' | 'agent';
  /** The agentic coder's budgets (mode: agent). */
  maxTurns: number;
  maxTokens: number;
};
/** A coding-agent CLI as the coder (provider: command). */
export interface CommandCoderSettings {
  provider: 'command';
  command: string[];
  timeoutMs: number;
  env: Record<string, string>;
  passEnv: string[];
  prompt: 'stdin' | 'argument';
}

export function isCommandCoder(coder: CoderSettings | CommandCoderSettings): coder is CommandCoderSettings {
  return coder.provider === 'command';
}

function isCommandConfig(coder: AgentFile['coder']): coder is CommandCoderConfig {
  return coder.provider === 'command';
}

const DEFAULT_MAX_OUTPUT = { thinker: 4_000, coder: 16_000, auditor: 2_000, reflector: 3_000 } as const;
const DEFAULT_PROMPTS = {
  thinker: { system: 'prompts/thinker-system.md', user: 'prompts/thinker-user.md' },
  coder: { system: 'prompts/coder-system.md', user: 'prompts/coder-user.md' },
  auditor: { system: 'prompts/auditor-system.md', user: 'prompts/auditor-user.md' },
  reflector: { system: 'prompts/reflector-system.md', user: 'prompts/reflector-user.md' },
  agentCoder: { system: 'prompts/agent-coder-system.md', user: 'prompts/agent-coder-user.md' },
} as const;
/** The agentic coder's budgets when the agent file gives none. */
export const AGENT_CODER_DEFAULTS = { maxTurns: 40, maxTokens: 600_000 } as const;
const EDIT_FORMAT_FILES = { 'search-replace': 'prompts/edit-search-replace.md', 'unified-diff': 'prompts/edit-unified-diff.md' } as const;

/** "offline", an agent file path, or the name of a bundled agent ("anthropic" → agents/anthropic.yaml). */
export function resolveAgentFile(spec: string): string {
  const candidates = [spec, `${spec}.yaml`, path.join(BUNDLED_AGENTS_DIR, spec), path.join(BUNDLED_AGENTS_DIR, `${spec}.yaml`)];
  for (const candidate of candidates) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return path.resolve(candidate);
  }
  throw new ConfigError(`agent "${spec}" not found: give an agent file (e.g. agents/openai.yaml) or a bundled agent: offline, anthropic, openai, openai-compatible`);
}

export function loadAgentFile(file: string, env: NodeJS.ProcessEnv = process.env): LoadedAgent {
  const shown = path.relative(process.cwd(), file) || file;
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(file, 'utf8'));
  } catch (error) {
    if (error instanceof YAMLParseError) throw new ConfigError(`${shown}: ${error.message.split('\n')[0]}`);
    throw new ConfigError(`${shown}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  const parsed = AgentFileSchema.safeParse(raw ?? {});
  if (!parsed.success) throw new ConfigError(formatIssues(shown, parsed.error));
  const config = parsed.data;
  if (config.offline) return { file, config, offline: true };
  const dir = path.dirname(file);

  const readTemplate = (relative: string, field: string): string => {
    const target = path.resolve(dir, relative);
    const fallback = path.join(BUNDLED_AGENTS_DIR, relative);
    const chosen = existsSync(target) ? target : existsSync(fallback) ? fallback : null;
    if (!chosen) throw new ConfigError(`${shown}: ${field}: ${relative} not found (paths are relative to the agent file)`);
    return readFileSync(chosen, 'utf8');
  };

  // `entry`: one model of the thinker's portfolio, whose settings go over the thinker's.
  const role = <R extends 'thinker' | 'coder' | 'auditor' | 'reflector'>(name: R, entry: Record<string, unknown> = {}): RoleSettings => {
    // The reflector uses the thinker's model unless its own block says otherwise (not its prompts
    // or output cap; nothing of it when the reflector names another provider).
    // With a thinker portfolio the reflector takes its first model.
    const { prompts: _prompts, maxOutputTokens: _cap, models, portfolio: _portfolio, ...thinkerModel } = config.thinker;
    const { weight: _weight, ...firstModel } = models?.[0] ?? { weight: 1 };
    const otherProvider = config.reflector.provider !== undefined && config.reflector.provider !== (config.thinker.provider ?? config.model.provider);
    const inherited = name === 'reflector' && !otherProvider ? { ...stripUndefined(thinkerModel), ...stripUndefined(firstModel) } : {};
    const own = (config[name] ?? {}) as z.output<typeof ModelSettings> & { prompts?: { system: string; user: string } };
    const settings = { ...config.model, ...inherited, ...stripUndefined(own), ...stripUndefined(entry) };
    if (!settings.provider) {
      throw new ConfigError(`${shown}: ${name}.provider: say which provider the ${name} uses (${listed(PROVIDER_NAMES)}), here or under model:`);
    }
    const provider = PROVIDERS[settings.provider];
    const options = providerOptions(provider, settings, `${shown}: ${name}`);
    const keyVariable = settings.apiKeyEnv ?? provider.keyVariable;
    const baseURL = settings.baseUrl ?? (env[provider.baseUrlVariable] || null);
    let apiKey = env[keyVariable];
    if (!apiKey) {
      // Local servers (vLLM, Ollama, llama.cpp) need no key, but the clients insist on one.
      if (provider.keyOptional(baseURL)) apiKey = 'not-needed';
      else throw new ConfigError(`${shown}: the ${name} uses ${provider.name} and ${keyVariable} is not set; export it, or run with --agent offline`);
    }
    if (provider.needsBaseUrl && !baseURL) {
      const { what, example } = provider.needsBaseUrl;
      throw new ConfigError(`${shown}: the ${name} uses ${what} but neither baseUrl: nor ${provider.baseUrlVariable} says where it is (e.g. ${example})`);
    }
    const model = settings.model ?? ((provider.modelVariable && env[provider.modelVariable]) || null);
    if (!model && !provider.asksServerForModel) {
      throw new ConfigError(`${shown}: ${name}.model: say which model the ${name} uses${provider.modelVariable ? ` (or set ${provider.modelVariable})` : ''}`);
    }
    const agentCoder = name === 'coder' && !isCommandConfig(config.coder) && config.coder.mode === 'agent';
    const prompts = own.prompts ?? (agentCoder ? DEFAULT_PROMPTS.agentCoder : DEFAULT_PROMPTS[name]);
    return {
      role: name,
      provider: provider.name,
      model,
      baseURL,
      apiKey,
      keyVariable,
      maxOutputTokens: settings.maxOutputTokens ?? DEFAULT_MAX_OUTPUT[name],
      options,
      prompts: {
        system: readTemplate(prompts.system, `${name}.prompts.system`),
        user: readTemplate(prompts.user, `${name}.prompts.user`),
        systemFile: prompts.system,
        userFile: prompts.user,
      },
    };
  };

  const portfolio = thinkerPortfolio(config, shown, (entry) => role('thinker', entry));
  return {
    file,
    config,
    offline: false,
    thinker: portfolio?.models[0].settings ?? role('thinker', config.thinker.models?.[0] ?? {}),
    thinkerPortfolio: portfolio,
    coder: coderSettings(config.coder, () => role('coder'), readTemplate),
    auditor: config.auditor ? role('auditor') : null,
    reflector: role('reflector'),
  };
}

/** The coder the agent file asks for: a command, or a model (one-shot or agentic) with its edit format and budgets. */
function coderSettings(
  coder: AgentFile['coder'],
  modelRole: () => RoleSettings,
  readTemplate: (file: string, field: string) => string,
): CoderSettings | CommandCoderSettings {
  if (isCommandConfig(coder)) {
    const { command, timeout, env: variables, passEnv } = coder;
    const prompt = coder.prompt ?? (command.some((part) => part.includes(PROMPT_PLACEHOLDER)) ? 'argument' : 'stdin');
    return { provider: 'command', command, timeoutMs: timeout * 1000, env: variables, passEnv, prompt };
  }
  const { editFormat, mode, maxTurns, maxTokens } = coder;
  return {
    ...modelRole(),
    editFormat,
    editFormatText: readTemplate(EDIT_FORMAT_FILES[editFormat], 'coder.editFormat'),
    mode,
    maxTurns: maxTurns ?? AGENT_CODER_DEFAULTS.maxTurns,
    maxTokens: maxTokens ?? AGENT_CODER_DEFAULTS.maxTokens,
  };
}

/** The thinker's portfolio, checked: each model once, `portfolio:` only with `models:`, not with `model:`. */
function thinkerPortfolio(config: AgentFile, shown: string, resolve: (entry: Record<string, unknown>) => RoleSettings): ThinkerPortfolio | null {
  const { models, portfolio, model } = config.thinker;
  if (!models) {
    if (portfolio) throw new ConfigError(`${shown}: thinker.portfolio: list the models to choose among under thinker.models`);
    return null;
  }
  if (model !== undefined) throw new ConfigError(`${shown}: thinker: give either model: or models:, not both`);
  const seen = new Set<string>();
  for (const entry of models) {
    if (seen.has(entry.model)) throw new ConfigError(`${shown}: thinker.models: "${entry.model}" is listed twice; list each model once`);
    seen.add(entry.model);
  }
  if (models.length < 2) {
    if (portfolio) throw new ConfigError(`${shown}: thinker.portfolio: there is only one model to choose from; list two or more under thinker.models`);
    return null;
  }
  const { policy, perDollar, exploration } = Portfolio.parse(portfolio ?? {});
  return {
    role: 'thinker',
    policy,
    perDollar,
    exploration,
    models: models.map(({ weight, ...entry }) => ({ settings: resolve(entry), weight })),
  };
}

/** What the sweep's bandit needs of a portfolio (model names and weights). */
export function portfolioSpec(portfolio: ThinkerPortfolio): PortfolioSpec {
  return { ...portfolio, models: portfolio.models.map(({ settings, weight }) => ({ model: settings.model!, weight })) };
}

/**
 * The settings besides the shared ones, checked against what the role's provider takes: another
 * provider's setting is refused, with the provider's reason where it gives one.
 */
function providerOptions(provider: ModelProvider, settings: Record<string, unknown>, where: string): Record<string, unknown> {
  // Only providers' settings: the shared ones and the role's own (prompts, editFormat) are not the provider's business.
  const own = Object.fromEntries(Object.entries(settings).filter(([key, value]) => key in providerSettings && !(key in SharedModelSettings) && value !== undefined));
  const refused = Object.keys(own).filter((key) => !(key in provider.settings.shape));
  if (refused.length) {
    const reasons = [...new Set(refused.map((key) => provider.refusals?.[key] ?? `${provider.name} takes no ${key}; remove it`))];
    throw new ConfigError(`${where}: ${reasons.join('; ')}`);
  }
  const parsed = provider.settings.safeParse(own);
  if (!parsed.success) throw new ConfigError(formatIssues(where, parsed.error));
  return parsed.data;
}

/** "a, b or c". */
function listed(names: readonly string[]): string {
  return names.length < 2 ? names.join('') : `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}`;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
