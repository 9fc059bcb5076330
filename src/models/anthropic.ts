/**
 * The Anthropic adapter: the messages API on the official `@anthropic-ai/sdk` client, for
 * api.anthropic.com and any server that speaks the protocol (ANTHROPIC_BASE_URL).
 *
 * Calls stream (the SDK refuses large max_tokens without streaming, and a stream keeps long
 * calls alive through idle-connection timeouts); the SDK's stream helper assembles the final
 * message and its usage. The stable prompt prefix carries `cache_control` markers, so prompt
 * caching works. Usage is normalised as the core expects: Anthropic's input_tokens EXCLUDE cache
 * reads and writes, so inputTokens = input + cache_read + cache_creation.
 */
import Anthropic, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from '@anthropic-ai/sdk';
import type { Message, MessageStreamParams, TextBlockParam } from '@anthropic-ai/sdk/resources/messages/messages';
import { judgeError, type CallContext, type SdkErrors } from './failures.ts';
import { finishReason, partsOf, type GenerateRequest, type GenerateResult, type Model, type PromptPart } from './model.ts';
import { costOf, type Price, priceFor } from './prices.ts';
import { type RetryPolicy, type Verdict, withRetries } from './retry.ts';

const SDK_ERRORS: SdkErrors = { APIError, APIConnectionError, APIConnectionTimeoutError, APIUserAbortError };
export const ANTHROPIC_URL = 'https://api.anthropic.com';

export interface AnthropicModelOptions {
  model: string;
  /** null: the SDK's default (ANTHROPIC_BASE_URL, else api.anthropic.com). */
  baseURL: string | null;
  apiKey: string;
  keyVariable: string;
  maxOutputTokens: number;
  /** output_config.effort: how hard the model thinks (low … max). */
  effort?: 'low' | 'medium' | 'high' | 'xhigh' | 'max';
  retry: RetryPolicy;
  prices?: Readonly<Record<string, Price>>;
  onRetry?: (line: string) => void;
}

function blocks(parts: PromptPart[]): TextBlockParam[] {
  return parts
    .filter((part) => part.text !== '') // the API refuses empty text blocks
    .map((part) => ({ type: 'text', text: part.text, ...(part.cache ? { cache_control: { type: 'ephemeral' as const } } : {}) }));
}

export class AnthropicModel implements Model {
  readonly provider = 'anthropic';
  readonly maxOutputTokens: number;
  private readonly client: Anthropic;

  constructor(private readonly options: AnthropicModelOptions) {
    this.maxOutputTokens = options.maxOutputTokens;
    this.client = new Anthropic({
      apiKey: options.apiKey,
      ...(options.baseURL ? { baseURL: options.baseURL } : {}),
      maxRetries: 0, // retries are ours: see retry.ts
      timeout: options.retry.timeoutSeconds * 1000,
    });
  }

  get baseURL(): string {
    return this.client.baseURL.replace(/\/+$/, '');
  }

  async modelName(): Promise<string> {
    return this.options.model;
  }

  async price(): Promise<Price | null> {
    return priceFor(this.options.model, this.options.prices);
  }

  async settings(): Promise<Record<string, unknown>> {
    const { model, maxOutputTokens, effort } = this.options;
    return { provider: this.provider, model, maxOutputTokens, effort };
  }

  async check(): Promise<void> {
    const official = this.baseURL === ANTHROPIC_URL;
    // Other servers may not serve the models route: a 404 that does not name the model says nothing.
    const lenient = (verdict: Verdict, error: unknown): Verdict =>
      !official && error instanceof APIError && error.status === 404 && !error.message.includes(this.options.model)
        ? { retry: false, error: null }
        : verdict;
    try {
      await this.retrying(() => this.client.models.retrieve(this.options.model), undefined, lenient);
    } catch (error) {
      if (error !== null) throw error;
    }
  }

  async generate(request: GenerateRequest): Promise<GenerateResult> {
    const { model, maxOutputTokens, effort } = this.options;
    const body: MessageStreamParams = {
      model,
      max_tokens: maxOutputTokens,
      system: blocks(partsOf(request.system)),
      messages: request.messages.map((message) => ({ role: message.role, content: blocks(partsOf(message.content)) })),
      ...(effort ? { output_config: { effort } } : {}),
    };
    const started = Date.now();
    const message: Message = await this.retrying(
      () => this.client.messages.stream(body, { signal: request.signal }).finalMessage(),
      request.signal,
    );
    const usage = message.usage;
    const cacheRead = usage.cache_read_input_tokens ?? 0;
    const cacheWrite = usage.cache_creation_input_tokens ?? 0;
    const tokens = {
      inputTokens: usage.input_tokens + cacheRead + cacheWrite,
      cachedTokens: cacheRead,
      cacheWriteTokens: cacheWrite,
      outputTokens: usage.output_tokens,
    };
    const text = message.content
      .filter((block) => block.type === 'text')
      .map((block) => (block as { text: string }).text)
      .join('');
    const result: GenerateResult = {
      text,
      usage: { ...tokens, costUsd: costOf(tokens, await this.price()) },
      latencyMs: Date.now() - started,
      finishReason: finishReason(message.stop_reason),
    };
    return result;
  }

  private retrying<R>(call: () => Promise<R>, signal?: AbortSignal, adjust?: (verdict: Verdict, error: unknown) => Verdict): Promise<R> {
    const context: CallContext = {
      provider: this.provider,
      model: this.options.model,
      baseURL: this.baseURL,
      keyVariable: this.options.keyVariable,
    };
    return withRetries(
      call,
      (error) => {
        const verdict = judgeError(error, SDK_ERRORS, context);
        return adjust ? adjust(verdict, error) : verdict;
      },
      { policy: this.options.retry, describe: `anthropic ${this.options.model} at ${this.baseURL}`, signal, onRetry: this.options.onRetry },
    );
  }
}
