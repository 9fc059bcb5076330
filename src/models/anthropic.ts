/**
 * The Anthropic adapter: the messages API on the official `@anthropic-ai/sdk` client, for
 * api.anthropic.com and any server that speaks the protocol (ANTHROPIC_BASE_URL).
 *
 * Calls stream (the SDK refuses large max_tokens without streaming, and a stream keeps long
 * calls alive through idle-connection timeouts); the SDK's stream helper assembles the final
 * message and its usage. The stable prompt prefix carries `cache_control` markers, so prompt
 * caching works. Usage is normalised as the core expects: Anthropic's input_tokens EXCLUDE cache
 * reads and writes, so inputTokens = input + cache_read + cache_creation. Tool calls (`converse`)
 * are `tool_use` blocks in the assistant's turn, answered by `tool_result` blocks in the next
 * user turn.
 */
import Anthropic, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from '@anthropic-ai/sdk';
import type {
  ContentBlockParam,
  Message,
  MessageParam,
  MessageStreamParams,
  TextBlockParam,
} from '@anthropic-ai/sdk/resources/messages/messages';
import { judgeError, type CallContext, type SdkErrors } from './failures.ts';
import {
  type ConversationItem,
  type ConverseRequest,
  type ConverseResult,
  finishReason,
  partsOf,
  type GenerateRequest,
  type GenerateResult,
  type PromptPart,
  type ToolCall,
  type ToolModel,
} from './model.ts';
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

export class AnthropicModel implements ToolModel {
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
    const messages: MessageParam[] = request.messages.map((message) => ({ role: message.role, content: blocks(partsOf(message.content)) }));
    const turn = await this.send(request.system, messages, [], request.signal);
    return {
      text: turn.text,
      usage: turn.usage,
      latencyMs: turn.latencyMs,
      finishReason: turn.finishReason === 'tool-calls' ? 'other' : turn.finishReason,
    };
  }

  /** One turn of a conversation with tools. */
  converse(request: ConverseRequest): Promise<ConverseResult> {
    const messages = anthropicMessages(request.items);
    // The conversation so far is the next turn's prefix: marking its end lets the provider's
    // cache serve it next time (the system prompt carries its own marker).
    const last = messages[messages.length - 1];
    if (last && Array.isArray(last.content) && last.content.length) {
      const block = last.content[last.content.length - 1];
      if (block.type === 'text' || block.type === 'tool_result') block.cache_control = { type: 'ephemeral' };
    }
    const tools = request.tools.map((tool) => ({
      name: tool.name,
      description: tool.description,
      input_schema: tool.parameters as { type: 'object'; [key: string]: unknown },
    }));
    return this.send(request.system, messages, tools, request.signal);
  }

  private async send(
    system: GenerateRequest['system'],
    messages: MessageParam[],
    tools: NonNullable<MessageStreamParams['tools']>,
    signal?: AbortSignal,
  ): Promise<ConverseResult> {
    const { model, maxOutputTokens, effort } = this.options;
    const body: MessageStreamParams = {
      model,
      max_tokens: maxOutputTokens,
      system: blocks(partsOf(system)),
      messages,
      ...(tools.length ? { tools } : {}),
      ...(effort ? { output_config: { effort } } : {}),
    };
    const started = Date.now();
    const message: Message = await this.retrying(() => this.client.messages.stream(body, { signal }).finalMessage(), signal);
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
    const toolCalls: ToolCall[] = message.content.flatMap((block) =>
      block.type === 'tool_use' ? [{ id: block.id, name: block.name, arguments: JSON.stringify(block.input ?? {}) }] : [],
    );
    return {
      text,
      toolCalls,
      usage: { ...tokens, costUsd: costOf(tokens, await this.price()) },
      latencyMs: Date.now() - started,
      finishReason: message.stop_reason === 'tool_use' || toolCalls.length ? 'tool-calls' : finishReason(message.stop_reason),
    };
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

/**
 * A conversation as Anthropic messages: an assistant turn is its text and `tool_use` blocks; the
 * results of its calls (and any user text after them) make one user turn of `tool_result` blocks.
 */
function anthropicMessages(items: readonly ConversationItem[]): MessageParam[] {
  const messages: MessageParam[] = [];
  const push = (role: 'user' | 'assistant', content: ContentBlockParam[]) => {
    const last = messages[messages.length - 1];
    // The API wants user and assistant turns to alternate: consecutive entries of one role merge.
    if (last && last.role === role && Array.isArray(last.content)) last.content.push(...content);
    else messages.push({ role, content });
  };
  for (const item of items) {
    if (item.role === 'user') push('user', blocks(partsOf(item.content)));
    else if (item.role === 'tool') {
      push('user', [
        { type: 'tool_result', tool_use_id: item.callId, content: item.content || '(empty)', ...(item.isError ? { is_error: true } : {}) },
      ]);
    } else {
      push('assistant', [
        ...blocks([{ text: item.content }]),
        ...item.toolCalls.map((call) => ({ type: 'tool_use' as const, id: call.id, name: call.name, input: parseInput(call.arguments) })),
      ]);
    }
  }
  return messages;
}

/** The API takes a tool call's input as an object: what the model wrote, or nothing when it does not parse. */
function parseInput(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
