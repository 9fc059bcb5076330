/**
 * The one seam between agents and model providers: `Model.generate({ system, messages })
 * → { text, usage }`. Adapters (openai.ts, anthropic.ts) turn it into their provider's
 * wire protocol and normalise usage; nothing outside src/models knows which SDK answered.
 */
import { z } from 'zod';
import type { Usage } from '../core/types.ts';
import type { Price } from './prices.ts';

/** A piece of prompt text. `cache: true` marks the end of a prefix that stays the same across calls. */
export interface PromptPart {
  text: string;
  cache?: boolean;
}

export interface ModelMessage {
  role: 'user' | 'assistant';
  content: string | PromptPart[];
}

export interface GenerateRequest {
  system: string | PromptPart[];
  messages: ModelMessage[];
  signal?: AbortSignal;
}

export interface GenerateResult {
  text: string;
  /** Tokens as the provider billed them, and their cost from the price table. */
  usage: Usage;
  latencyMs: number;
  /** `length`: the reply was cut off at the output token limit. */
  finishReason: 'stop' | 'length' | 'other';
}

export interface Model {
  /** "openai", "openai-compatible" or "anthropic". */
  readonly provider: string;
  /** The model name (resolved: for a local server it may be discovered on first use). */
  modelName(): Promise<string>;
  /** USD per million tokens, or null when unknown. */
  price(): Promise<Price | null>;
  /** Upper bound on the output tokens of one call (for budget checks). */
  readonly maxOutputTokens: number;
  /** Settings that change the output, for content addressing (never secrets). */
  settings(): Promise<Record<string, unknown>>;
  generate(request: GenerateRequest): Promise<GenerateResult>;
  /** Cheap check, before a sweep, that the key works and the model exists (no tokens spent). */
  check(): Promise<void>;
}

/** The reply is not the structured answer asked for; the message says why, for a retry prompt. */
export class ReplyParseError extends Error {
  constructor(
    message: string,
    readonly text: string,
  ) {
    super(message);
  }
}

export function partsOf(content: string | PromptPart[]): PromptPart[] {
  return typeof content === 'string' ? [{ text: content }] : content;
}

export function joinParts(content: string | PromptPart[]): string {
  return partsOf(content)
    .map((part) => part.text)
    .join('\n\n');
}

/** Finds the JSON object in a reply (bare, in a ```json fence, or amid prose) and validates it. */
export function parseStructured<T>(text: string, schema: z.ZodType<T>): T {
  const candidates: string[] = [];
  for (const match of text.matchAll(/```(?:json|JSON)?\s*\n([\s\S]*?)```/g)) candidates.push(match[1]);
  const first = text.indexOf('{');
  const last = text.lastIndexOf('}');
  if (first >= 0 && last > first) candidates.push(text.slice(first, last + 1));
  if (candidates.length === 0) throw new ReplyParseError('the reply holds no JSON object', text);
  let problem = '';
  for (const candidate of candidates) {
    let value: unknown;
    try {
      value = JSON.parse(candidate);
    } catch (error) {
      problem ||= `the JSON does not parse: ${(error as Error).message}`;
      continue;
    }
    const result = schema.safeParse(value);
    if (result.success) return result.data;
    problem = `the JSON does not fit the schema:\n${z.prettifyError(result.error)}`;
  }
  throw new ReplyParseError(problem, text);
}

export function finishReason(raw: string | null | undefined): GenerateResult['finishReason'] {
  if (raw === 'length' || raw === 'max_tokens') return 'length';
  if (raw === 'stop' || raw === 'end_turn' || raw === 'stop_sequence') return 'stop';
  return 'other';
}

// ─── Tool calling (the agentic coder's turns) ────────────────────────────────────────────────

/** A tool the model may call: its name, what it does, and its arguments as a JSON schema object. */
export interface ToolSpec {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

/** One call the model asked for. `arguments` is the JSON text as the model wrote it (it may not parse). */
export interface ToolCall {
  id: string;
  name: string;
  arguments: string;
}

/**
 * One entry of a conversation with tools, provider-neutral: each adapter turns it into its
 * protocol (chat `tool_calls`/`role: tool`, responses `function_call`/`function_call_output`,
 * Anthropic `tool_use`/`tool_result`). Every `tool` result answers a call of the assistant
 * entry before it.
 */
export type ConversationItem =
  | { role: 'user'; content: string | PromptPart[] }
  | { role: 'assistant'; content: string; toolCalls: ToolCall[] }
  | { role: 'tool'; callId: string; name: string; content: string; isError?: boolean };

export interface ConverseRequest {
  system: string | PromptPart[];
  items: ConversationItem[];
  tools: ToolSpec[];
  signal?: AbortSignal;
}

export interface ConverseResult {
  /** The text the model wrote besides its tool calls (may be empty). */
  text: string;
  toolCalls: ToolCall[];
  usage: Usage;
  latencyMs: number;
  /** `tool-calls`: the model stopped to have its calls run; `length`: cut off at the output limit. */
  finishReason: 'stop' | 'length' | 'tool-calls' | 'other';
}

/** A model that can work in turns with tools (every bundled adapter can). */
export interface ToolModel extends Model {
  converse(request: ConverseRequest): Promise<ConverseResult>;
}

export function canUseTools(model: Model): model is ToolModel {
  return typeof (model as Partial<ToolModel>).converse === 'function';
}

/** A conversation as plain text, for the run's record of what was sent (`researcher export`). */
export function conversationText(items: readonly ConversationItem[]): { role: 'user' | 'assistant'; content: string }[] {
  return items.map((item) => {
    if (item.role === 'user') return { role: 'user', content: joinParts(item.content) };
    if (item.role === 'assistant')
      return { role: 'assistant', content: [item.content, ...item.toolCalls.map(toolCallText)].filter(Boolean).join('\n') };
    return { role: 'user', content: `[${item.isError ? 'error from' : 'result of'} ${item.name} ${item.callId}]\n${item.content}` };
  });
}

export function toolCallText(call: ToolCall): string {
  return `[call ${call.name} ${call.id}] ${call.arguments}`;
}
