/**
 * The OpenAI adapter: chat completions on the official `openai` client, for api.openai.com and
 * for any server that speaks the same protocol (vLLM, Ollama, llama.cpp server, a gateway)
 * through a base URL.
 *
 * Usage is normalised as the core expects: OpenAI's prompt_tokens already include cached
 * tokens, so inputTokens = prompt_tokens, cachedTokens = prompt_tokens_details.cached_tokens.
 */
import { createHash } from 'node:crypto';
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import type { ChatCompletion, ChatCompletionCreateParamsNonStreaming } from 'openai/resources/chat/completions';
import { ModelError } from '../core/errors.ts';
import { judgeError, type CallContext, type SdkErrors } from './failures.ts';
import { finishReason, joinParts, type GenerateRequest, type GenerateResult, type Model } from './model.ts';
import { costOf, type Price, priceFor } from './prices.ts';
import { type RetryPolicy, type Verdict, withRetries } from './retry.ts';

const SDK_ERRORS: SdkErrors = { APIError, APIConnectionError, APIConnectionTimeoutError, APIUserAbortError };
export const OPENAI_URL = 'https://api.openai.com/v1';

export interface OpenAIModelOptions {
  /** "openai" for api.openai.com; "openai-compatible" for any other server speaking the protocol. */
  provider: 'openai' | 'openai-compatible';
  /** null: ask the server which model it serves (fine when it serves exactly one). */
  model: string | null;
  /** null: the SDK's default (OPENAI_BASE_URL, else api.openai.com). */
  baseURL: string | null;
  apiKey: string;
  /** Where the key came from, for messages. */
  keyVariable: string;
  maxOutputTokens: number;
  /** Newer OpenAI models take max_completion_tokens; most other servers take max_tokens. */
  maxTokensField: 'max_tokens' | 'max_completion_tokens';
  temperature?: number;
  topP?: number;
  reasoningEffort?: string;
  retry: RetryPolicy;
  prices?: Readonly<Record<string, Price>>;
  onRetry?: (line: string) => void;
}

export class OpenAIModel implements Model {
  readonly provider: string;
  readonly maxOutputTokens: number;
  private readonly client: OpenAI;
  private resolved: Promise<string> | null = null;

  constructor(private readonly options: OpenAIModelOptions) {
    this.provider = options.provider;
    this.maxOutputTokens = options.maxOutputTokens;
    this.client = new OpenAI({
      apiKey: options.apiKey,
      ...(options.baseURL ? { baseURL: options.baseURL } : {}),
      maxRetries: 0, // retries are ours: see retry.ts
      timeout: options.retry.timeoutSeconds * 1000,
    });
  }

  get baseURL(): string {
    return this.client.baseURL.replace(/\/+$/, '');
  }

  modelName(): Promise<string> {
    if (this.options.model) return Promise.resolve(this.options.model);
    this.resolved ??= this.discoverModel();
    return this.resolved;
  }

  async price(): Promise<Price | null> {
    return priceFor(await this.modelName(), this.options.prices);
  }

  async settings(): Promise<Record<string, unknown>> {
    const { maxOutputTokens, temperature, topP, reasoningEffort } = this.options;
    return { provider: this.provider, model: await this.modelName(), maxOutputTokens, temperature, topP, reasoningEffort };
  }

  async check(): Promise<void> {
    const model = await this.modelName();
    const official = this.baseURL === OPENAI_URL;
    // Servers other than api.openai.com may not serve the models route: a 404 that does not name the model says nothing.
    const lenient = (verdict: Verdict, error: unknown): Verdict =>
      !official && error instanceof APIError && error.status === 404 && !error.message.includes(model)
        ? { retry: false, error: null }
        : verdict;
    try {
      await this.retrying(() => this.client.models.retrieve(model), model, undefined, lenient);
    } catch (error) {
      if (error !== null) throw error;
    }
  }

  async generate(request: GenerateRequest): Promise<GenerateResult> {
    const model = await this.modelName();
    const { maxOutputTokens, maxTokensField, temperature, topP, reasoningEffort } = this.options;
    const system = joinParts(request.system);
    const body: ChatCompletionCreateParamsNonStreaming = {
      model,
      messages: [
        { role: 'system', content: system },
        ...request.messages.map((message) => ({ role: message.role, content: joinParts(message.content) })),
      ],
      [maxTokensField]: maxOutputTokens,
      ...(temperature !== undefined ? { temperature } : {}),
      ...(topP !== undefined ? { top_p: topP } : {}),
      ...(reasoningEffort !== undefined
        ? { reasoning_effort: reasoningEffort as ChatCompletionCreateParamsNonStreaming['reasoning_effort'] }
        : {}),
    };
    // api.openai.com caches prompt prefixes on its own; a key naming the stable prefix helps it
    // route calls that share one to the same cache. Other servers may reject unknown fields.
    if (this.provider === 'openai') body.prompt_cache_key = createHash('sha256').update(system).digest('hex').slice(0, 32);

    const started = Date.now();
    const completion = await this.retrying(
      async () => {
        const reply: ChatCompletion = await this.client.chat.completions.create(body, { signal: request.signal });
        if (!Array.isArray(reply.choices) || reply.choices.length === 0) throw new Error('the response has no choices');
        return reply;
      },
      model,
      request.signal,
    );
    const choice = completion.choices[0];
    const usage = completion.usage;
    const tokens = {
      inputTokens: usage?.prompt_tokens ?? 0,
      cachedTokens: usage?.prompt_tokens_details?.cached_tokens ?? 0,
      cacheWriteTokens: usage?.prompt_tokens_details?.cache_write_tokens ?? 0,
      outputTokens: usage?.completion_tokens ?? 0,
    };
    const result: GenerateResult = {
      text: choice.message?.content ?? '',
      usage: { ...tokens, costUsd: costOf(tokens, await this.price()) },
      latencyMs: Date.now() - started,
      finishReason: finishReason(choice.finish_reason),
    };
    return result;
  }

  private retrying<R>(
    call: () => Promise<R>,
    model: string,
    signal?: AbortSignal,
    adjust?: (verdict: Verdict, error: unknown) => Verdict,
  ): Promise<R> {
    const context: CallContext = { provider: this.provider, model, baseURL: this.baseURL, keyVariable: this.options.keyVariable };
    return withRetries(
      call,
      (error) => {
        const verdict = judgeError(error, SDK_ERRORS, context);
        return adjust ? adjust(verdict, error) : verdict;
      },
      { policy: this.options.retry, describe: `${this.provider} ${model} at ${this.baseURL}`, signal, onRetry: this.options.onRetry },
    );
  }

  private async discoverModel(): Promise<string> {
    const unlisted = (verdict: Verdict, error: unknown): Verdict =>
      error instanceof APIError && error.status === 404
        ? {
            retry: false,
            error: new ModelError(`${this.baseURL} does not list its models (404); set OPENAI_MODEL or model: in the agent file`),
          }
        : verdict;
    const page = await this.retrying(() => this.client.models.list(), '(not set)', undefined, unlisted);
    const ids = page.data.map((m) => m.id);
    if (ids.length === 1) return ids[0];
    if (ids.length === 0) throw new ModelError(`${this.baseURL} serves no models; set OPENAI_MODEL or model: in the agent file`);
    throw new ModelError(
      `${this.baseURL} serves ${ids.length} models (${ids.slice(0, 8).join(', ')}${ids.length > 8 ? ', …' : ''}); choose one with OPENAI_MODEL or model: in the agent file`,
    );
  }
}
