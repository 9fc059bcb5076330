/**
 * A loopback server that speaks the Anthropic messages protocol (POST /v1/messages, streamed as
 * server-sent events or not; GET /v1/models/{id}), with Anthropic's error bodies and usage
 * fields. Prompt caching is simulated as Anthropic bills it: the prompt up to the last
 * `cache_control` marker is written to the cache the first time (cache_creation_input_tokens)
 * and read from it afterwards (cache_read_input_tokens); input_tokens counts only the rest.
 * Tool calls are `tool_use` blocks (streamed as `input_json_delta`s), with stop_reason
 * `tool_use`; a `tool_use` the next user turn does not answer with a `tool_result`, or a result
 * for no call, is refused with a 400, as Anthropic refuses it.
 */
import type { ServerResponse } from 'node:http';
import { argumentsText, type BilledUsage, ProtocolError, type RecordedRequest, ScriptedServer, tokens } from './scripted-server.ts';

export interface FakeAnthropicOptions {
  apiKey?: string;
  models?: string[];
}

interface Block {
  type: string;
  text?: string;
  cache_control?: unknown;
  /** tool_use */
  id?: string;
  input?: unknown;
  /** tool_result */
  tool_use_id?: string;
  content?: string | Block[];
}

/** The text a block carries, for billing: a tool call's input, a tool result's content. */
function blockText(block: Block): string {
  if (block.type === 'tool_use') return JSON.stringify(block.input ?? {});
  if (block.type === 'tool_result')
    return typeof block.content === 'string' ? block.content : (block.content ?? []).map(blockText).join('');
  return block.text ?? '';
}

/** Each assistant turn's tool_use ids must be answered, all of them, by the next user turn's tool_results. */
function checkToolResults(messages: { role: string; content: string | Block[] }[]): void {
  let open: string[] = [];
  for (const message of messages) {
    const content = typeof message.content === 'string' ? [] : message.content;
    const results = content.filter((b) => b.type === 'tool_result').map((b) => b.tool_use_id ?? '');
    const unanswered = open.filter((id) => !results.includes(id));
    if (unanswered.length) {
      throw new ProtocolError(
        `messages: \`tool_use\` ids were found without \`tool_result\` blocks immediately after: ${unanswered.join(', ')}. Each \`tool_use\` block must have a corresponding \`tool_result\` block in the next message.`,
      );
    }
    const stray = results.filter((id) => !open.includes(id));
    if (stray.length)
      throw new ProtocolError(
        `messages: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${stray.join(', ')}. Each \`tool_result\` block must have a corresponding \`tool_use\` block in the previous message.`,
      );
    open = message.role === 'assistant' ? content.filter((b) => b.type === 'tool_use').map((b) => b.id ?? '') : [];
  }
}

export class FakeAnthropicServer extends ScriptedServer {
  private readonly cachedPrefixes = new Set<string>();

  constructor(private readonly options: FakeAnthropicOptions = {}) {
    super();
  }

  static start(options: FakeAnthropicOptions = {}): Promise<FakeAnthropicServer> {
    return new FakeAnthropicServer(options).start();
  }

  /** The base URL a client uses (the SDK adds /v1). */
  get url(): string {
    return this.origin;
  }

  protected refuse(res: ServerResponse, message: string): void {
    this.error(res, 400, 'invalid_request_error', message);
  }

  private error(res: ServerResponse, status: number, type: string, message: string, headers: Record<string, string> = {}): void {
    this.json(res, status, { type: 'error', error: { type, message }, request_id: `req_${this.requests.length}` }, headers);
  }

  protected handle(request: RecordedRequest, res: ServerResponse): void {
    const { apiKey, models = ['claude-fake'] } = this.options;
    // The API takes the key as x-api-key or as a bearer token (SDK 1.10 sends the latter).
    const key = request.headers['x-api-key'] ?? String(request.headers.authorization ?? '').replace(/^Bearer /, '');
    if (apiKey !== undefined && key !== apiKey) return this.error(res, 401, 'authentication_error', 'invalid x-api-key');
    if (!request.headers['anthropic-version'])
      return this.error(res, 400, 'invalid_request_error', 'anthropic-version: header is required');
    if (request.method === 'GET' && request.path.startsWith('/v1/models/')) {
      const id = decodeURIComponent(request.path.slice('/v1/models/'.length));
      if (!models.includes(id)) return this.error(res, 404, 'not_found_error', `model: ${id}`);
      return this.json(res, 200, { type: 'model', id, display_name: id, created_at: '2026-01-01T00:00:00Z' });
    }
    if (request.method !== 'POST' || request.path !== '/v1/messages') return this.error(res, 404, 'not_found_error', 'Not found');
    const body = request.body as {
      model: string;
      stream?: boolean;
      system?: string | Block[];
      messages: { role: string; content: string | Block[] }[];
      tools?: unknown[];
    };
    if (!models.includes(body.model)) return this.error(res, 404, 'not_found_error', `model: ${body.model}`);
    checkToolResults(body.messages);

    const reply = this.next(request);
    if ('status' in reply) {
      const type =
        reply.status === 429
          ? 'rate_limit_error'
          : reply.status === 529
            ? 'overloaded_error'
            : reply.status >= 500
              ? 'api_error'
              : 'invalid_request_error';
      return this.error(res, reply.status, type, reply.message ?? `fake ${reply.status}`, reply.headers);
    }
    const text = reply.text ?? '';
    const toolUses = ('toolCalls' in reply ? (reply.toolCalls ?? []) : []).map((call) => ({
      type: 'tool_use' as const,
      id: this.nextToolCallId('toolu_'),
      name: call.name,
      json: argumentsText(call),
    }));
    if (toolUses.length && !body.tools?.length) throw new ProtocolError('the script calls a tool but the request offers none');
    const content = [
      ...(text || toolUses.length === 0 ? [{ type: 'text', text }] : []),
      ...toolUses.map((use) => ({ type: use.type, id: use.id, name: use.name, input: JSON.parse(use.json) as unknown })),
    ];
    const usage = this.bill(body, text + toolUses.map((use) => use.json).join(''), 'usage' in reply ? reply.usage : undefined);
    const wire = {
      input_tokens: usage.input - usage.cached - usage.cacheWrite,
      cache_creation_input_tokens: usage.cacheWrite,
      cache_read_input_tokens: usage.cached,
      output_tokens: usage.output,
    };
    const stopReason = 'finish' in reply && reply.finish === 'length' ? 'max_tokens' : toolUses.length ? 'tool_use' : 'end_turn';
    const message = {
      id: `msg_${this.requests.length}`,
      type: 'message',
      role: 'assistant',
      model: body.model,
      content,
      stop_reason: stopReason,
      stop_sequence: null,
      usage: wire,
    };
    if (!body.stream) {
      if ('truncate' in reply) return this.truncated(res, message);
      this.billed.push(usage);
      return this.json(res, 200, message);
    }

    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const send = (type: string, data: object) => res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
    send('message_start', { message: { ...message, content: [], stop_reason: null, usage: { ...wire, output_tokens: 1 } } });
    let index = 0;
    if (text || toolUses.length === 0) {
      send('content_block_start', { index, content_block: { type: 'text', text: '' } });
      const half = Math.ceil(text.length / 2);
      send('content_block_delta', { index, delta: { type: 'text_delta', text: text.slice(0, half) } });
      if ('truncate' in reply) {
        setTimeout(() => res.destroy(), 10); // the stream breaks off mid-message
        return;
      }
      send('content_block_delta', { index, delta: { type: 'text_delta', text: text.slice(half) } });
      send('content_block_stop', { index });
      index += 1;
    }
    for (const use of toolUses) {
      // The input arrives as pieces of JSON text, as Anthropic streams it.
      send('content_block_start', { index, content_block: { type: 'tool_use', id: use.id, name: use.name, input: {} } });
      const half = Math.ceil(use.json.length / 2);
      send('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: use.json.slice(0, half) } });
      send('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: use.json.slice(half) } });
      send('content_block_stop', { index });
      index += 1;
    }
    send('message_delta', { delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: wire.output_tokens } });
    send('message_stop', {});
    this.billed.push(usage);
    res.end();
  }

  private bill(
    body: { system?: string | Block[]; messages: { content: string | Block[] }[] },
    text: string,
    scripted?: Partial<BilledUsage>,
  ): BilledUsage {
    const blocks: Block[] = [
      ...(typeof body.system === 'string' ? [{ type: 'text', text: body.system }] : (body.system ?? [])),
      ...body.messages.flatMap((m) => (typeof m.content === 'string' ? [{ type: 'text', text: m.content }] : m.content)),
    ];
    const all = blocks.map(blockText).join('');
    const lastMarker = blocks.map((b) => Boolean(b.cache_control)).lastIndexOf(true);
    let cached = 0;
    let cacheWrite = 0;
    if (lastMarker >= 0) {
      const prefix = blocks
        .slice(0, lastMarker + 1)
        .map(blockText)
        .join('');
      if (this.cachedPrefixes.has(prefix)) cached = tokens(prefix);
      else cacheWrite = tokens(prefix);
      this.cachedPrefixes.add(prefix);
    }
    return { input: tokens(all), cached, cacheWrite, output: tokens(text), ...scripted };
  }
}
