/**
 * A loopback server that speaks the OpenAI chat completions protocol (POST /v1/chat/completions,
 * GET /v1/models, GET /v1/models/{id}) and the responses API (POST /v1/responses), tool calls
 * included (chat `tools` / `tool_calls` / `role: tool`; responses `function_call` /
 * `function_call_output`), with OpenAI's error bodies and usage fields — including the cached
 * tokens, which it reports the way OpenAI does: a system prompt (instructions) it has seen
 * before counts as cached, and prompt_tokens still includes it. A tool result that answers no
 * call the conversation made is refused with a 400, as OpenAI refuses it.
 */
import type { ServerResponse } from 'node:http';
import {
  argumentsText,
  type BilledUsage,
  ProtocolError,
  type RecordedRequest,
  type Reply,
  ScriptedServer,
  tokens,
} from './scripted-server.ts';

interface ChatMessage {
  role: string;
  content: string | null | { type: string; text?: string }[];
  tool_calls?: { id: string; type: string; function: { name: string; arguments: string } }[];
  tool_call_id?: string;
}

type ResponsesItem =
  | { type?: 'message'; role: string; content: string | { type: string; text?: string }[] }
  | { type: 'function_call'; call_id: string; name: string; arguments: string }
  | { type: 'function_call_output'; call_id: string; output: string };

function plain(content: ChatMessage['content']): string {
  if (content === null) return '';
  return typeof content === 'string' ? content : content.map((part) => part.text ?? '').join('');
}

export interface FakeOpenAIOptions {
  /** The only key accepted (any key when unset). */
  apiKey?: string;
  /** Models served; calls for others get OpenAI's 404 model_not_found. */
  models?: string[];
}

export class FakeOpenAIServer extends ScriptedServer {
  private readonly seenPrefixes = new Set<string>();

  constructor(private readonly options: FakeOpenAIOptions = {}) {
    super();
  }

  static start(options: FakeOpenAIOptions = {}): Promise<FakeOpenAIServer> {
    return new FakeOpenAIServer(options).start();
  }

  /** The base URL a client uses: http://127.0.0.1:PORT/v1 */
  get url(): string {
    return `${this.origin}/v1`;
  }

  protected refuse(res: ServerResponse, message: string): void {
    this.error(res, 400, message, 'invalid_request_error', null);
  }

  private error(
    res: ServerResponse,
    status: number,
    message: string,
    type: string,
    code: string | null,
    headers: Record<string, string> = {},
  ): void {
    this.json(res, status, { error: { message, type, param: null, code } }, headers);
  }

  protected handle(request: RecordedRequest, res: ServerResponse): void {
    const { apiKey, models = ['fake-model'] } = this.options;
    if (apiKey !== undefined && request.headers.authorization !== `Bearer ${apiKey}`) {
      const shown = String(request.headers.authorization ?? '').replace(/^Bearer /, '');
      return this.error(
        res,
        401,
        `Incorrect API key provided: ${shown.slice(0, 3)}***. You can find your API key at https://platform.openai.com/account/api-keys.`,
        'invalid_request_error',
        'invalid_api_key',
      );
    }
    const model = (id: string) => ({ id, object: 'model', created: 1_700_000_000, owned_by: 'fake' });
    if (request.method === 'GET' && request.path === '/v1/models') return this.json(res, 200, { object: 'list', data: models.map(model) });
    if (request.method === 'GET' && request.path.startsWith('/v1/models/')) {
      const id = decodeURIComponent(request.path.slice('/v1/models/'.length));
      if (models.includes(id)) return this.json(res, 200, model(id));
      return this.error(
        res,
        404,
        `The model \`${id}\` does not exist or you do not have access to it.`,
        'invalid_request_error',
        'model_not_found',
      );
    }
    const responses = request.method === 'POST' && request.path === '/v1/responses';
    if (!responses && (request.method !== 'POST' || request.path !== '/v1/chat/completions'))
      return this.error(res, 404, `Invalid URL (${request.method} ${request.path})`, 'invalid_request_error', null);
    if (responses) return this.handleResponses(request, res);
    const body = request.body as { model: string; messages: ChatMessage[]; tools?: unknown[] };
    if (!models.includes(body.model)) {
      return this.error(
        res,
        404,
        `The model \`${body.model}\` does not exist or you do not have access to it.`,
        'invalid_request_error',
        'model_not_found',
      );
    }

    checkChatToolResults(body.messages);

    const reply = this.next(request);
    if ('status' in reply) return this.scriptedError(res, reply);
    const toolCalls = ('toolCalls' in reply ? (reply.toolCalls ?? []) : []).map((call) => ({
      id: this.nextToolCallId('call_'),
      type: 'function',
      function: { name: call.name, arguments: argumentsText(call) },
    }));
    if (toolCalls.length && !body.tools?.length) throw new ProtocolError('the script calls a tool but the request offers none');
    const prompt = body.messages.map((m) => plain(m.content) + (m.tool_calls ?? []).map((c) => c.function.arguments).join('')).join('');
    const system = body.messages
      .filter((m) => m.role === 'system')
      .map((m) => plain(m.content))
      .join('');
    const output = ('text' in reply ? (reply.text ?? '') : '') + toolCalls.map((c) => c.function.arguments).join('');
    const usage = this.bill(system, prompt, output, 'usage' in reply ? reply.usage : undefined);
    const completion = {
      id: `chatcmpl-${this.requests.length}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: body.model,
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: toolCalls.length && !reply.text ? null : (reply.text ?? ''),
            refusal: null,
            ...(toolCalls.length ? { tool_calls: toolCalls } : {}),
          },
          logprobs: null,
          finish_reason: 'finish' in reply && reply.finish ? reply.finish : toolCalls.length ? 'tool_calls' : 'stop',
        },
      ],
      usage: {
        prompt_tokens: usage.input,
        completion_tokens: usage.output,
        total_tokens: usage.input + usage.output,
        prompt_tokens_details: { cached_tokens: usage.cached, audio_tokens: 0 },
        completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
      },
    };
    if ('truncate' in reply) return this.truncated(res, completion);
    this.billed.push(usage);
    this.json(res, 200, completion);
  }

  private scriptedError(res: ServerResponse, reply: Extract<Reply, { status: number }>): void {
    const type = reply.status === 429 ? 'rate_limit_exceeded' : reply.status >= 500 ? 'server_error' : 'invalid_request_error';
    this.error(res, reply.status, reply.message ?? `fake ${reply.status}`, type, null, reply.headers);
  }

  /** POST /v1/responses: `instructions` and `input` items in, `output` items out. */
  private handleResponses(request: RecordedRequest, res: ServerResponse): void {
    const body = request.body as { model: string; instructions?: string; input: string | ResponsesItem[]; tools?: unknown[] };
    if (!(this.options.models ?? ['fake-model']).includes(body.model)) {
      return this.error(
        res,
        404,
        `The model \`${body.model}\` does not exist or you do not have access to it.`,
        'invalid_request_error',
        'model_not_found',
      );
    }
    const input: ResponsesItem[] = typeof body.input === 'string' ? [{ role: 'user', content: body.input }] : body.input;
    const called = new Set<string>();
    for (const item of input) {
      if (item.type === 'function_call') called.add(item.call_id);
      if (item.type === 'function_call_output' && !called.has(item.call_id)) {
        throw new ProtocolError(`No tool call found for function call output with call_id ${item.call_id}.`);
      }
    }
    const reply = this.next(request);
    if ('status' in reply) return this.scriptedError(res, reply);
    const text = 'text' in reply ? (reply.text ?? '') : '';
    const calls = ('toolCalls' in reply ? (reply.toolCalls ?? []) : []).map((call) => ({
      type: 'function_call',
      id: this.nextToolCallId('fc_'),
      call_id: this.nextToolCallId('call_'),
      name: call.name,
      arguments: argumentsText(call),
      status: 'completed',
    }));
    if (calls.length && !body.tools?.length) throw new ProtocolError('the script calls a tool but the request offers none');
    const prompt = input
      .map((item) =>
        item.type === 'function_call' ? item.arguments : item.type === 'function_call_output' ? item.output : plain(item.content),
      )
      .join('');
    const system = body.instructions ?? '';
    const usage = this.bill(
      system,
      system + prompt,
      text + calls.map((c) => c.arguments).join(''),
      'usage' in reply ? reply.usage : undefined,
    );
    const cutOff = 'finish' in reply && reply.finish === 'length';
    const response = {
      id: `resp_${this.requests.length}`,
      object: 'response',
      created_at: Math.floor(Date.now() / 1000),
      model: body.model,
      status: cutOff ? 'incomplete' : 'completed',
      incomplete_details: cutOff ? { reason: 'max_output_tokens' } : null,
      error: null,
      output: [
        ...(text || calls.length === 0
          ? [
              {
                type: 'message',
                id: `msg_${this.requests.length}`,
                status: 'completed',
                role: 'assistant',
                content: [{ type: 'output_text', text, annotations: [] }],
              },
            ]
          : []),
        ...calls,
      ],
      usage: {
        input_tokens: usage.input,
        input_tokens_details: { cached_tokens: usage.cached },
        output_tokens: usage.output,
        output_tokens_details: { reasoning_tokens: 0 },
        total_tokens: usage.input + usage.output,
      },
    };
    if ('truncate' in reply) return this.truncated(res, response);
    this.billed.push(usage);
    this.json(res, 200, response);
  }

  private bill(system: string, prompt: string, output: string, scripted?: Partial<BilledUsage>): BilledUsage {
    const cached = this.seenPrefixes.has(system) ? tokens(system) : 0;
    this.seenPrefixes.add(system);
    return { input: tokens(prompt), cached, cacheWrite: 0, output: tokens(output), ...scripted };
  }
}

/** OpenAI refuses a `role: tool` message that answers no call of the assistant message before it. */
function checkChatToolResults(messages: ChatMessage[]): void {
  let open = new Set<string>();
  for (const message of messages) {
    if (message.role === 'tool') {
      if (!message.tool_call_id || !open.has(message.tool_call_id)) {
        throw new ProtocolError(
          "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.",
        );
      }
      open.delete(message.tool_call_id);
      continue;
    }
    if (open.size) {
      throw new ProtocolError(
        `An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: ${[...open].join(', ')}`,
      );
    }
    open = new Set((message.tool_calls ?? []).map((call) => call.id));
  }
}
