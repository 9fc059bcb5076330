/**
 * The OpenAI adapter: chat completions (or, with `api: responses`, the responses API) on the
 * official `openai` client, for api.openai.com and for any server that speaks the same protocol
 * (vLLM, Ollama, llama.cpp server, a gateway) through a base URL. Both APIs carry tool calls
 * (`converse`): chat as `tools` / `tool_calls` / `role: tool` messages, responses as
 * `function_call` / `function_call_output` items.
 *
 * Usage is normalised as the core expects: OpenAI's prompt_tokens (input_tokens) already include
 * cached tokens, so inputTokens = prompt_tokens, cachedTokens = prompt_tokens_details.cached_tokens.
 */
import { createHash } from 'node:crypto';
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import type { ChatCompletion, ChatCompletionCreateParamsNonStreaming, ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import type { Response, ResponseCreateParamsNonStreaming, ResponseInputItem } from 'openai/resources/responses/responses';
import { ModelError } from '../core/errors.ts';
import type { Usage } from '../core/types.ts';
import { judgeError, type CallContext, type SdkErrors } from './failures.ts';
import {
  type ConversationItem,
  type ConverseRequest,
  type ConverseResult,
  finishReason,
  type GenerateRequest,
  type GenerateResult,
  joinParts,
  type ToolCall,
  type ToolModel,
} from './model.ts';
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
  /** Which OpenAI API carries the calls: chat completions (every compatible server) or responses. */
  api?: 'chat' | 'responses';
  retry: RetryPolicy;
  prices?: Readonly<Record<string, Price>>;
  onRetry?: (line: string) => void;
}

export class OpenAIModel implements ToolModel {
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
    const { maxOutputTokens, temperature, topP, reasoningEffort, api } = this.options;
    return { provider: this.provider, model: await this.modelName(), maxOutputTokens, temperature, topP, reasoningEffort, api };
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
    if (this.options.api === 'responses') {
      const turn = await this.converse({ system: request.system, items: request.messages.map(asItem), tools: [], signal: request.signal });
      return {
        text: turn.text,
        usage: turn.usage,
        latencyMs: turn.latencyMs,
        finishReason: turn.finishReason === 'tool-calls' ? 'other' : turn.finishReason,
      };
    }
    const model = await this.modelName();
    const system = joinParts(request.system);
    const body = this.chatBody(
      model,
      system,
      request.messages.map((message) => ({ role: message.role, content: joinParts(message.content) })),
    );
    const started = Date.now();
    const completion = await this.chatCompletion(body, model, request.signal);
    const choice = completion.choices[0];
    return {
      text: choice.message?.content ?? '',
      usage: await this.chatUsage(completion),
      latencyMs: Date.now() - started,
      finishReason: finishReason(choice.finish_reason),
    };
  }

  /** One turn of a conversation with tools, on whichever API the model is set to. */
  async converse(request: ConverseRequest): Promise<ConverseResult> {
    return this.options.api === 'responses' ? this.converseResponses(request) : this.converseChat(request);
  }

  private async converseChat(request: ConverseRequest): Promise<ConverseResult> {
    const model = await this.modelName();
    const body = this.chatBody(model, joinParts(request.system), request.items.map(chatMessage));
    if (request.tools.length) {
      body.tools = request.tools.map((tool) => ({
        type: 'function',
        function: { name: tool.name, description: tool.description, parameters: tool.parameters },
      }));
    }
    const started = Date.now();
    const completion = await this.chatCompletion(body, model, request.signal);
    const choice = completion.choices[0];
    const toolCalls: ToolCall[] = (choice.message?.tool_calls ?? []).flatMap((call) =>
      call.type === 'function' ? [{ id: call.id, name: call.function.name, arguments: call.function.arguments }] : [],
    );
    return {
      text: choice.message?.content ?? '',
      toolCalls,
      usage: await this.chatUsage(completion),
      latencyMs: Date.now() - started,
      finishReason: toolCalls.length ? 'tool-calls' : finishReason(choice.finish_reason),
    };
  }

  private async converseResponses(request: ConverseRequest): Promise<ConverseResult> {
    const model = await this.modelName();
    const { maxOutputTokens, temperature, topP, reasoningEffort } = this.options;
    const instructions = joinParts(request.system);
    const body: ResponseCreateParamsNonStreaming = {
      model,
      instructions,
      input: request.items.flatMap(responsesInput),
      max_output_tokens: maxOutputTokens,
      // The conversation is sent whole each turn: nothing needs to stay on the provider's side.
      store: false,
      ...(temperature !== undefined ? { temperature } : {}),
      ...(topP !== undefined ? { top_p: topP } : {}),
      ...(reasoningEffort !== undefined ? { reasoning: { effort: reasoningEffort as 'low' } } : {}),
      ...(request.tools.length
        ? {
            tools: request.tools.map((tool) => ({
              type: 'function' as const,
              name: tool.name,
              description: tool.description,
              parameters: tool.parameters,
              strict: false,
            })),
          }
        : {}),
    };
    if (this.provider === 'openai') body.prompt_cache_key = createHash('sha256').update(instructions).digest('hex').slice(0, 32);
    const started = Date.now();
    const response: Response = await this.retrying(
      async () => {
        const reply = await this.client.responses.create(body, { signal: request.signal });
        if (!Array.isArray(reply.output)) throw new Error('the response has no output');
        return reply;
      },
      model,
      request.signal,
    );
    const text = response.output
      .flatMap((item) => (item.type === 'message' ? item.content : []))
      .map((part) => (part.type === 'output_text' ? part.text : ''))
      .join('');
    const toolCalls: ToolCall[] = response.output.flatMap((item) =>
      item.type === 'function_call' ? [{ id: item.call_id, name: item.name, arguments: item.arguments }] : [],
    );
    const usage = response.usage;
    const tokens = {
      inputTokens: usage?.input_tokens ?? 0,
      cachedTokens: usage?.input_tokens_details?.cached_tokens ?? 0,
      cacheWriteTokens: usage?.input_tokens_details?.cache_write_tokens ?? 0,
      outputTokens: usage?.output_tokens ?? 0,
    };
    const cutOff = response.status === 'incomplete' && response.incomplete_details?.reason === 'max_output_tokens';
    return {
      text,
      toolCalls,
      usage: { ...tokens, costUsd: costOf(tokens, await this.price()) },
      latencyMs: Date.now() - started,
      finishReason: cutOff ? 'length' : toolCalls.length ? 'tool-calls' : response.status === 'completed' ? 'stop' : 'other',
    };
  }

  private chatBody(model: string, system: string, messages: ChatCompletionMessageParam[]): ChatCompletionCreateParamsNonStreaming {
    const { maxOutputTokens, maxTokensField, temperature, topP, reasoningEffort } = this.options;
    const body: ChatCompletionCreateParamsNonStreaming = {
      model,
      messages: [{ role: 'system', content: system }, ...messages],
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
    return body;
  }

  private chatCompletion(body: ChatCompletionCreateParamsNonStreaming, model: string, signal?: AbortSignal): Promise<ChatCompletion> {
    return this.retrying(
      async () => {
        const reply: ChatCompletion = await this.client.chat.completions.create(body, { signal });
        if (!Array.isArray(reply.choices) || reply.choices.length === 0) throw new Error('the response has no choices');
        return reply;
      },
      model,
      signal,
    );
  }

  private async chatUsage(completion: ChatCompletion): Promise<Usage> {
    const usage = completion.usage;
    const tokens = {
      inputTokens: usage?.prompt_tokens ?? 0,
      cachedTokens: usage?.prompt_tokens_details?.cached_tokens ?? 0,
      cacheWriteTokens: usage?.prompt_tokens_details?.cache_write_tokens ?? 0,
      outputTokens: usage?.completion_tokens ?? 0,
    };
    return { ...tokens, costUsd: costOf(tokens, await this.price()) };
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

function asItem(message: GenerateRequest['messages'][number]): ConversationItem {
  return message.role === 'user'
    ? { role: 'user', content: message.content }
    : { role: 'assistant', content: joinParts(message.content), toolCalls: [] };
}

/** A conversation entry as a chat completions message. */
function chatMessage(item: ConversationItem): ChatCompletionMessageParam {
  if (item.role === 'user') return { role: 'user', content: joinParts(item.content) };
  if (item.role === 'tool') return { role: 'tool', tool_call_id: item.callId, content: item.content };
  if (item.toolCalls.length === 0) return { role: 'assistant', content: item.content };
  return {
    role: 'assistant',
    content: item.content || null,
    tool_calls: item.toolCalls.map((call) => ({ id: call.id, type: 'function', function: { name: call.name, arguments: call.arguments } })),
  };
}

/** A conversation entry as responses API input items (an assistant turn is its text and its calls). */
function responsesInput(item: ConversationItem): ResponseInputItem[] {
  if (item.role === 'user') return [{ role: 'user', content: joinParts(item.content) }];
  if (item.role === 'tool') return [{ type: 'function_call_output', call_id: item.callId, output: item.content }];
  return [
    ...(item.content ? [{ role: 'assistant' as const, content: item.content }] : []),
    ...item.toolCalls.map((call) => ({ type: 'function_call' as const, call_id: call.id, name: call.name, arguments: call.arguments })),
  ];
}
