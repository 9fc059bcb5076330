/** Any server speaking OpenAI's chat completions protocol: vLLM, Ollama, llama.cpp's server, SGLang, a gateway. */
import type { ModelProvider } from './provider.ts';
import { createOpenAIModel, OPENAI_REFUSALS, OpenAISettings } from './openai.ts';

export const openaiCompatibleProvider: ModelProvider = {
  name: 'openai-compatible',
  keyVariable: 'OPENAI_API_KEY',
  baseUrlVariable: 'OPENAI_BASE_URL',
  hostedKey: false,
  // Local servers need no key.
  keyOptional: () => true,
  modelVariable: 'OPENAI_MODEL',
  asksServerForModel: true,
  needsBaseUrl: { what: 'an OpenAI-compatible server', example: 'http://127.0.0.1:8000/v1' },
  settings: OpenAISettings,
  refusals: OPENAI_REFUSALS,
  create: (role, options) => createOpenAIModel(role, options, 'max_tokens'),
};
