/** api.openai.com, on the official `openai` client (adapter: ../openai.ts). */
import { z } from 'zod';
import type { Model } from '../model.ts';
import type { ModelOptions, ModelProvider, ResolvedModelSettings } from './provider.ts';

/** What OpenAI and servers speaking its protocol take besides the shared settings. */
export const OpenAISettings = z.object({
  temperature: z.number().min(0).max(2).optional(),
  topP: z.number().gt(0).max(1).optional(),
  /** OpenAI reasoning models: minimal | low | medium | high. */
  reasoningEffort: z.string().min(1).optional(),
  /** Which field carries maxOutputTokens: newer OpenAI models take max_completion_tokens, most other servers max_tokens. */
  maxTokensField: z.enum(['max_tokens', 'max_completion_tokens']).optional(),
  /** Which API carries the calls: chat completions (the default; every compatible server) or responses. */
  api: z.enum(['chat', 'responses']).optional(),
});

export const OPENAI_REFUSALS = { effort: 'effort is for Anthropic models; OpenAI reasoning models take reasoningEffort' };

export async function createOpenAIModel(
  role: ResolvedModelSettings,
  options: ModelOptions,
  defaultTokensField: 'max_tokens' | 'max_completion_tokens',
): Promise<Model> {
  const { OpenAIModel } = await import('../openai.ts');
  const settings = OpenAISettings.parse(role.options);
  return new OpenAIModel({
    provider: role.provider === 'openai' ? 'openai' : 'openai-compatible',
    model: role.model,
    baseURL: role.baseURL,
    apiKey: role.apiKey,
    keyVariable: role.keyVariable,
    maxOutputTokens: role.maxOutputTokens,
    maxTokensField: settings.maxTokensField ?? defaultTokensField,
    temperature: settings.temperature,
    topP: settings.topP,
    reasoningEffort: settings.reasoningEffort,
    api: settings.api,
    ...options,
  });
}

export const openaiProvider: ModelProvider = {
  name: 'openai',
  keyVariable: 'OPENAI_API_KEY',
  baseUrlVariable: 'OPENAI_BASE_URL',
  hostedKey: true,
  keyOptional: () => false,
  modelVariable: 'OPENAI_MODEL',
  settings: OpenAISettings,
  refusals: OPENAI_REFUSALS,
  create: (role, options) => createOpenAIModel(role, options, 'max_completion_tokens'),
};
