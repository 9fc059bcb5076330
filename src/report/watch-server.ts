/**
 * The live view: a small HTTP server (node:http, loopback by default) that serves the run report
 * and tells open pages when the run has changed, so an overnight sweep can be followed from a
 * browser. It only reads the run store (SQLite in WAL mode lets it read while the sweep writes),
 * so it can watch a run that another process is driving.
 *
 * The page is the same report.html with a few lines of script: the server sends the run's
 * version over Server-Sent Events when the page connects and whenever it changes; a page whose
 * version is stale reloads itself.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { UsageError } from '../core/errors.ts';
import { RunStore } from '../store/run-store.ts';
import { runOwnerAlive } from '../store/run-owner.ts';
import { renderReportHtml } from './report-html.ts';
import { buildReportModel } from './report-model.ts';
import { summarizeRun } from './run-summary.ts';
import { renderSummaryMarkdown } from './summary-markdown.ts';

export interface WatchOptions {
  runDir: string;
  /** Interface to listen on; loopback unless the user asks otherwise. */
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** How often the store is checked for changes. */
  pollMs?: number;
}

export interface WatchServer {
  url: string;
  /** Current version of the run (changes when an idea or evaluation starts or finishes). */
  version(): string;
  close(): Promise<void>;
}

const EVENTS_PATH = '/events';
const HEARTBEAT_MS = 15_000;

export async function startWatchServer(options: WatchOptions): Promise<WatchServer> {
  const store = RunStore.open(options.runDir);
  const pollMs = options.pollMs ?? 1000;
  const clients = new Set<ServerResponse>();
  let current = runVersion(store);

  const server = createServer((request, response) => {
    try {
      route(request, response);
    } catch (error) {
      response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      response.end(`could not read the run: ${(error as Error).message}\n`);
    }
  });

  function route(request: IncomingMessage, response: ServerResponse): void {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    switch (url.pathname) {
      case '/':
      case '/report.html': {
        current = runVersion(store);
        const html = renderReportHtml(buildReportModel(summarizeRun(store), { curves: store.curves() }), {
          live: { eventsPath: EVENTS_PATH, version: current },
        });
        send(response, 'text/html; charset=utf-8', html);
        return;
      }
      case '/summary.json':
        send(response, 'application/json; charset=utf-8', JSON.stringify(summarizeRun(store), null, 2));
        return;
      case '/summary.md':
        send(response, 'text/markdown; charset=utf-8', renderSummaryMarkdown(buildReportModel(summarizeRun(store))));
        return;
      case EVENTS_PATH:
        response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
        response.write(`retry: 2000\nevent: version\ndata: ${current}\n\n`);
        clients.add(response);
        request.on('close', () => clients.delete(response));
        return;
      default:
        response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
    }
  }

  const poll = setInterval(() => {
    let next: string;
    try {
      next = runVersion(store);
    } catch {
      return; // the database is busy or being checkpointed: try again on the next tick
    }
    if (next === current) return;
    current = next;
    for (const client of clients) client.write(`event: version\ndata: ${current}\n\n`);
  }, pollMs);
  const heartbeat = setInterval(() => {
    for (const client of clients) client.write(': still here\n\n');
  }, HEARTBEAT_MS);

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    clearInterval(poll);
    clearInterval(heartbeat);
    store.close();
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE')
      throw new UsageError(`port ${options.port} is already in use; pick another with --port (0 picks a free one)`);
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND')
      throw new UsageError(`cannot listen on ${options.host}: no such address on this machine`);
    throw error;
  }

  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}/`,
    version: () => current,
    close: async () => {
      clearInterval(poll);
      clearInterval(heartbeat);
      for (const client of clients) client.end();
      clients.clear();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections(); // pages keep idle connections open; do not wait for them
      await closed;
      store.close();
    },
  };
}

function send(response: ServerResponse, type: string, body: string): void {
  response.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' });
  response.end(body);
}

/**
 * A fingerprint of everything the report shows that can change: the ideas (status, title,
 * reward), the evaluations started and finished, model calls, and whether the sweep is alive.
 */
export function runVersion(store: RunStore): string {
  const alive = runOwnerAlive(store) !== null;
  return createHash('sha1')
    .update(JSON.stringify([...store.changeFingerprint(), alive]))
    .digest('hex')
    .slice(0, 16);
}
