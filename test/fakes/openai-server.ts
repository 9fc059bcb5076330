/**
 * A loopback server that speaks the OpenAI chat completions protocol (POST /v1/chat/completions,
 * GET /v1/models, GET /v1/models/{id}), with OpenAI's error bodies and usage fields — including
 * prompt_tokens_details.cached_tokens, which it reports the way OpenAI does: a system prompt it
 * has seen before counts as cached, and prompt_tokens still includes it.
 */
import type { ServerResponse } from 'node:http';
import { type BilledUsage, type RecordedRequest, ScriptedServer, tokens } from './scripted-server.ts';

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
    if (request.method !== 'POST' || request.path !== '/v1/chat/completions')
      return this.error(res, 404, `Invalid URL (${request.method} ${request.path})`, 'invalid_request_error', null);
    const body = request.body as { model: string; messages: { role: string; content: string }[] };
    if (!models.includes(body.model)) {
      return this.error(
        res,
        404,
        `The model \`${body.model}\` does not exist or you do not have access to it.`,
        'invalid_request_error',
        'model_not_found',
      );
    }

    const reply = this.next(request);
    if ('status' in reply) {
      const type = reply.status === 429 ? 'rate_limit_exceeded' : reply.status >= 500 ? 'server_error' : 'invalid_request_error';
      return this.error(res, reply.status, reply.message ?? `fake ${reply.status}`, type, null, reply.headers);
    }
    const usage = this.bill(body.messages, 'text' in reply ? (reply.text ?? '') : '', 'usage' in reply ? reply.usage : undefined);
    const completion = {
      id: `chatcmpl-${this.requests.length}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: body.model,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: reply.text ?? '', refusal: null },
          logprobs: null,
          finish_reason: 'finish' in reply && reply.finish ? reply.finish : 'stop',
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

  private bill(messages: { role: string; content: string }[], text: string, scripted?: Partial<BilledUsage>): BilledUsage {
    const system = messages
      .filter((m) => m.role === 'system')
      .map((m) => m.content)
      .join('');
    const prompt = messages.map((m) => m.content).join('');
    const cached = this.seenPrefixes.has(system) ? tokens(system) : 0;
    this.seenPrefixes.add(system);
    return { input: tokens(prompt), cached, cacheWrite: 0, output: tokens(text), ...scripted };
  }
}
