/**
 * Agent files (agents/*.yaml), as a zod schema, and loading them: which provider and model the
 * thinker and the coder use, their sampling settings, their prompt templates (readable files
 * beside the agent file), how much context goes into a prompt, retries and prices.
 *
 * Keys never appear in an agent file: it names the variable they come from.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../core/errors.ts';
import { formatIssues } from '../environment/load.ts';
import { Price } from '../models/prices.ts';
import { RetryPolicy } from '../models/retry.ts';

/** The repository's own folder (agents/ holds the bundled agent files). */
export const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BUNDLED_AGENTS_DIR = path.join(PACKAGE_ROOT, 'agents');

export const Provider = z.enum(['openai', 'anthropic', 'openai-compatible']);
export type Provider = z.output<typeof Provider>;

const ModelSettings = z
  .object({
    provider: Provider,
    /** Model name. openai-compatible: default OPENAI_MODEL, else the one model the server serves. */
    model: z.string().min(1),
    /** Server base URL. Default: OPENAI_BASE_URL / ANTHROPIC_BASE_URL, else the provider's own. */
    baseUrl: z.string().url(),
    /** Variable holding the key. Default: OPENAI_API_KEY or ANTHROPIC_API_KEY. */
    apiKeyEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name'),
    maxOutputTokens: z.number().int().positive(),
    /** OpenAI and compatible servers only (Anthropic's current models take no sampling settings). */
    temperature: z.number().min(0).max(2),
    topP: z.number().gt(0).max(1),
    /** OpenAI reasoning models: minimal | low | medium | high. */
    reasoningEffort: z.string().min(1),
    /** Anthropic: output_config.effort. */
    effort: z.enum(['low', 'medium', 'high', 'xhigh', 'max']),
    /** Which field carries maxOutputTokens. Default: max_completion_tokens for openai, max_tokens otherwise. */
    maxTokensField: z.enum(['max_tokens', 'max_completion_tokens']),
  })
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

const Thinker = ModelSettings.extend({ prompts: Prompts.optional() }).strict();
const Coder = ModelSettings.extend({
  prompts: Prompts.optional(),
  /** The edit form the coder is asked for; both forms are always accepted. */
  editFormat: z.enum(['search-replace', 'unified-diff']).default('search-replace'),
}).strict();

export const AgentFileSchema = z
  .object({
    name: z.string().min(1),
    description: z.string().optional(),
    /** The offline agent (knob search, no model): the rest of the file is ignored. */
    offline: z.boolean().default(false),
    /** Settings both roles share; `thinker:` and `coder:` override them. */
    model: ModelSettings.default({}),
    thinker: Thinker.default({}),
    coder: Coder.prefault({}),
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
export interface RoleSettings {
  role: 'thinker' | 'coder';
  provider: Provider;
  /** null: ask the server (openai-compatible only). */
  model: string | null;
  baseURL: string | null;
  apiKey: string;
  keyVariable: string;
  maxOutputTokens: number;
  temperature?: number;
  topP?: number;
  reasoningEffort?: string;
  effort?: 'low' | 'medium' | 'high' | 'xhigh' | 'max';
  maxTokensField: 'max_tokens' | 'max_completion_tokens';
  /** The prompt templates, read. */
  prompts: { system: string; user: string; systemFile: string; userFile: string };
}

export type LoadedAgent =
  | { file: string; config: AgentFile; offline: true }
  | { file: string; config: AgentFile; offline: false; thinker: RoleSettings; coder: CoderSettings };
export type LlmAgentFile = Extract<LoadedAgent, { offline: false }>;
export type CoderSettings = RoleSettings & { editFormat: 'search-replace' | 'unified-diff'; editFormatText: string };

const DEFAULT_MAX_OUTPUT = { thinker: 4_000, coder: 16_000 } as const;
const DEFAULT_PROMPTS = {
  thinker: { system: 'prompts/thinker-system.md', user: 'prompts/thinker-user.md' },
  coder: { system: 'prompts/coder-system.md', user: 'prompts/coder-user.md' },
} as const;
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

  const role = <R extends 'thinker' | 'coder'>(name: R): RoleSettings => {
    const settings = { ...config.model, ...stripUndefined(config[name]) };
    const { provider } = settings;
    if (!provider) throw new ConfigError(`${shown}: ${name}.provider: say which provider the ${name} uses (openai, anthropic or openai-compatible), here or under model:`);
    if (provider === 'anthropic' && (settings.temperature !== undefined || settings.topP !== undefined)) {
      throw new ConfigError(`${shown}: ${name}: Anthropic's current models take no temperature or topP (the API rejects them); remove them`);
    }
    if (provider !== 'anthropic' && settings.effort !== undefined) {
      throw new ConfigError(`${shown}: ${name}.effort is for Anthropic models; OpenAI reasoning models take reasoningEffort`);
    }
    const keyVariable = settings.apiKeyEnv ?? (provider === 'anthropic' ? 'ANTHROPIC_API_KEY' : 'OPENAI_API_KEY');
    const baseVariable = provider === 'anthropic' ? 'ANTHROPIC_BASE_URL' : 'OPENAI_BASE_URL';
    const baseURL = settings.baseUrl ?? (env[baseVariable] || null);
    let apiKey = env[keyVariable];
    if (!apiKey) {
      // Local servers (vLLM, Ollama, llama.cpp) need no key, but the clients insist on one.
      if (provider === 'openai-compatible' || (provider === 'anthropic' && baseURL)) apiKey = 'not-needed';
      else throw new ConfigError(`${shown}: the ${name} uses ${provider} and ${keyVariable} is not set; export it, or run with --agent offline`);
    }
    if (provider === 'openai-compatible' && !baseURL) {
      throw new ConfigError(`${shown}: the ${name} uses an OpenAI-compatible server but neither baseUrl: nor OPENAI_BASE_URL says where it is (e.g. http://127.0.0.1:8000/v1)`);
    }
    const model = settings.model ?? (provider === 'anthropic' ? null : env.OPENAI_MODEL || null);
    if (!model && provider !== 'openai-compatible') {
      throw new ConfigError(`${shown}: ${name}.model: say which model the ${name} uses${provider === 'openai' ? ' (or set OPENAI_MODEL)' : ''}`);
    }
    const prompts = config[name].prompts ?? DEFAULT_PROMPTS[name];
    return {
      role: name,
      provider,
      model,
      baseURL,
      apiKey,
      keyVariable,
      maxOutputTokens: settings.maxOutputTokens ?? DEFAULT_MAX_OUTPUT[name],
      temperature: settings.temperature,
      topP: settings.topP,
      reasoningEffort: settings.reasoningEffort,
      effort: settings.effort,
      maxTokensField: settings.maxTokensField ?? (provider === 'openai' ? 'max_completion_tokens' : 'max_tokens'),
      prompts: {
        system: readTemplate(prompts.system, `${name}.prompts.system`),
        user: readTemplate(prompts.user, `${name}.prompts.user`),
        systemFile: prompts.system,
        userFile: prompts.user,
      },
    };
  };

  const editFormat = config.coder.editFormat;
  return {
    file,
    config,
    offline: false,
    thinker: role('thinker'),
    coder: { ...role('coder'), editFormat, editFormatText: readTemplate(EDIT_FORMAT_FILES[editFormat], 'coder.editFormat') },
  };
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
