/**
 * `researcher watch <run-dir>`: serves the run's report on localhost and keeps open pages up to
 * date as ideas finish. Read-only: it can watch a sweep another process (or machine, over a
 * shared disk) is running. Stops on Ctrl-C.
 */
import path from 'node:path';
import { UsageError } from '../core/errors.ts';
import { startWatchServer } from '../report/watch-server.ts';
import { parseCommand, requirePositional } from './args.ts';

const DEFAULT_PORT = 8750;

const HELP = `usage: researcher watch <run-dir> [--port N] [--host ADDRESS]

  Serves the run report at http://127.0.0.1:${DEFAULT_PORT}/ and refreshes open pages when an
  idea or evaluation starts or finishes. Also serves /summary.md and /summary.json.

  --port N         port to listen on (default ${DEFAULT_PORT}; 0 picks a free one)
  --host ADDRESS   interface to listen on (default 127.0.0.1, this machine only; the report
                   shows your code and logs, so think before using 0.0.0.0)
  --interval S     seconds between checks of the run for changes (default 1)`;

export async function watchCommand(args: string[]): Promise<number> {
  const parsed = parseCommand(args, { port: { type: 'string' }, host: { type: 'string' }, interval: { type: 'string' } }, HELP);
  if (!parsed) return 0;
  const runDir = path.resolve(requirePositional(parsed.positionals, 'run folder', HELP));
  const port = parsed.values.port === undefined ? DEFAULT_PORT : Number(parsed.values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`--port expects a port number (0-65535), got "${parsed.values.port}"`);
  const interval = parsed.values.interval === undefined ? 1 : Number(parsed.values.interval);
  if (!Number.isFinite(interval) || interval <= 0)
    throw new UsageError(`--interval expects a positive number of seconds, got "${parsed.values.interval}"`);

  const server = await startWatchServer({ runDir, port, host: parsed.values.host ?? '127.0.0.1', pollMs: interval * 1000 });
  console.log(`watching ${path.relative(process.cwd(), runDir) || runDir} at ${server.url} (refreshes as ideas finish; Ctrl-C to stop)`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await server.close();
  console.log('stopped watching');
  return 0;
}
