/**
 * The part the fake provider servers share: a loopback HTTP server that records each request
 * and answers from a script of replies (or a function of the request), in order.
 *
 * These fakes stand in for the paid model APIs only: the real `openai` / `@anthropic-ai/sdk`
 * clients talk to them over HTTP through their base-URL options, so the code under test is the
 * code a user runs against the real APIs.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- parsed JSON as the client sent it
}

/** One scripted answer. */
export type Reply =
  /**
   * A successful completion with this text (and, for a conversation with tools, these tool
   * calls); usage is computed like a server would unless given.
   */
  | { text: string; toolCalls?: ScriptedToolCall[]; usage?: Partial<BilledUsage>; finish?: 'stop' | 'length' }
  /** An error status with the provider's error body; e.g. 429 with { 'retry-after': '0.05' }. */
  | { status: number; message?: string; headers?: Record<string, string> }
  /** The response starts, then the connection drops mid-body (or mid-stream). */
  | { truncate: true; text?: string };

export type Responder = (request: RecordedRequest) => Reply;

/** A tool call the fake model makes: `arguments` as an object (sent as JSON) or as raw text (which may not parse). */
export interface ScriptedToolCall {
  name: string;
  arguments: Record<string, unknown> | string;
}

/** A tool call's arguments as the wire carries them (JSON text). */
export function argumentsText(call: ScriptedToolCall): string {
  return typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments);
}

/** A 400 from the fake: the request broke the protocol (the real servers refuse the same). */
export class ProtocolError extends Error {}

/** What the server billed for one call, in the provider-neutral shape the tests compare with. */
export interface BilledUsage {
  /** All prompt tokens, cached included. */
  input: number;
  cached: number;
  cacheWrite: number;
  output: number;
}

export abstract class ScriptedServer {
  readonly requests: RecordedRequest[] = [];
  /** Usage of every successful model call, as the server reported it to the client. */
  readonly billed: BilledUsage[] = [];
  protected readonly script: (Reply | Responder)[] = [];
  protected fallback: Responder | null = null;
  private server: Server | null = null;
  private port = 0;

  /** Queue replies; each call takes the next one. When the queue is empty, `respond` answers. */
  reply(...replies: (Reply | Responder)[]): this {
    this.script.push(...replies);
    return this;
  }

  respond(responder: Responder): this {
    this.fallback = responder;
    return this;
  }

  /** Model calls received (not counting model-listing requests). */
  get calls(): RecordedRequest[] {
    return this.requests.filter((r) => r.method === 'POST');
  }

  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        let body: unknown = null;
        try {
          body = raw ? JSON.parse(raw) : null;
        } catch {
          body = raw;
        }
        const request: RecordedRequest = { method: req.method ?? 'GET', path: (req.url ?? '/').split('?')[0], headers: req.headers, body };
        this.requests.push(request);
        try {
          this.handle(request, res);
        } catch (error) {
          if (error instanceof ProtocolError) return this.refuse(res, error.message);
          res.writeHead(500, { 'content-type': 'text/plain' }).end(`fake server bug: ${(error as Error).message}`);
        }
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server!.address() as AddressInfo).port;
    return this;
  }

  async close(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    this.server = null;
  }

  protected abstract handle(request: RecordedRequest, res: ServerResponse): void;

  /** Answers a request that broke the protocol with the provider's 400 body. */
  protected abstract refuse(res: ServerResponse, message: string): void;

  /** Numbers tool calls across the server's life, so ids never repeat within a conversation. */
  private toolCallCount = 0;

  protected nextToolCallId(prefix: string): string {
    this.toolCallCount += 1;
    return `${prefix}${String(this.toolCallCount).padStart(4, '0')}`;
  }

  /** The next scripted reply for a model call. */
  protected next(request: RecordedRequest): Reply {
    const entry = this.script.shift();
    if (entry) return typeof entry === 'function' ? entry(request) : entry;
    if (this.fallback) return this.fallback(request);
    return { status: 500, message: 'the fake server has no scripted reply left' };
  }

  protected json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers }).end(text);
  }

  /** Sends headers promising the whole body, then half of it, then drops the connection. */
  protected truncated(res: ServerResponse, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.write(text.slice(0, Math.floor(text.length / 2)));
    setTimeout(() => res.destroy(), 10);
  }
}

/** Tokens the way the fakes count them: one per four characters, at least one. */
export function tokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}
