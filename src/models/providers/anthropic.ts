/** api.anthropic.com (or ANTHROPIC_BASE_URL), on the official `@anthropic-ai/sdk` client (adapter: ../anthropic.ts). */
import { z } from 'zod';
import type { ModelProvider } from './provider.ts';

const AnthropicSettings = z.object({
  /** output_config.effort: how hard the model thinks. */
  effort: z.enum(['low', 'medium', 'high', 'xhigh', 'max']).optional(),
});

const NO_SAMPLING = "Anthropic's current models take no temperature or topP (the API rejects them); remove them";

export const anthropicProvider: ModelProvider = {
  name: 'anthropic',
  keyVariable: 'ANTHROPIC_API_KEY',
  baseUrlVariable: 'ANTHROPIC_BASE_URL',
  hostedKey: true,
  // A server of one's own at ANTHROPIC_BASE_URL may want no key.
  keyOptional: (baseURL) => baseURL !== null,
  settings: AnthropicSettings,
  refusals: { temperature: NO_SAMPLING, topP: NO_SAMPLING },
  async create(role, options) {
    const { AnthropicModel } = await import('../anthropic.ts');
    const { effort } = AnthropicSettings.parse(role.options);
    if (role.model === null) throw new Error('anthropic: no model (the agent-file loader requires one)');
    return new AnthropicModel({
      model: role.model,
      baseURL: role.baseURL,
      apiKey: role.apiKey,
      keyVariable: role.keyVariable,
      maxOutputTokens: role.maxOutputTokens,
      effort,
      ...options,
    });
  },
};
