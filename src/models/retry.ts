/**
 * Retrying model calls: rate limits (429), overload (529), server errors (5xx), timeouts,
 * dropped connections and cut-off or garbled response bodies are retried with exponential
 * backoff, honouring the server's retry-after.
 *
 * The SDKs' own retries are switched off (maxRetries: 0) because they do not suffice here: they
 * obey any retry-after with no upper bound and an uncancellable sleep (a "retry-after: 3600"
 * would hang the sweep for an hour, deaf to Ctrl-C), and they do not retry a body that breaks
 * off after the headers. This loop caps the total wait, sleeps abortably and retries those too.
 */
import { z } from 'zod';
import { ModelError } from '../core/errors.ts';

export const RetryPolicy = z
  .object({
    /** Attempts per call, the first included. */
    attempts: z.number().int().min(1).default(6),
    /** First backoff delay; doubles per attempt up to maxDelaySeconds (a server's retry-after wins). */
    initialDelaySeconds: z.number().nonnegative().default(1),
    maxDelaySeconds: z.number().nonnegative().default(30),
    /** Total time one call may spend waiting between attempts before the run stops. */
    maxWaitSeconds: z.number().nonnegative().default(300),
    /** Time limit of one request. */
    timeoutSeconds: z.number().positive().default(600),
  })
  .strict();
export type RetryPolicy = z.output<typeof RetryPolicy>;

export const DEFAULT_RETRY_POLICY: RetryPolicy = RetryPolicy.parse({});

/** What to do about an error: retry it (after the server's wait, if it said), or let it through. */
export type Verdict = { retry: true; reason: string; retryAfterMs: number | null } | { retry: false; error: unknown };

/** The provider kept failing in ways retries are meant for; the run stops and can be resumed later. */
export class ModelUnavailableError extends ModelError {}

/** How a model outage message ends during a sweep; a command with no run yet says something else (see run.ts). */
export const RESUME_HINT = '; try again later (`researcher resume` continues the run)';

export interface RetryOptions {
  policy: RetryPolicy;
  /** "openai gpt-5.6-terra at https://…", for messages. */
  describe: string;
  signal?: AbortSignal;
  /** Told about each retry (one line), e.g. to show it to the user. */
  onRetry?: (line: string) => void;
}

export async function withRetries<T>(call: () => Promise<T>, judge: (error: unknown) => Verdict, options: RetryOptions): Promise<T> {
  const { policy, signal } = options;
  let waitedMs = 0;
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (signal?.aborted) throw error;
      const verdict = judge(error);
      if (!verdict.retry) throw verdict.error;
      if (attempt >= policy.attempts) {
        throw new ModelUnavailableError(`${options.describe}: gave up after ${attempt} attempts (last: ${verdict.reason})${RESUME_HINT}`, {
          cause: error,
        });
      }
      const backoffMs = Math.min(policy.initialDelaySeconds * 2 ** (attempt - 1), policy.maxDelaySeconds) * 1000;
      const delayMs = verdict.retryAfterMs ?? backoffMs * (0.75 + 0.25 * Math.random());
      if (waitedMs + delayMs > policy.maxWaitSeconds * 1000) {
        throw new ModelUnavailableError(
          `${options.describe}: ${verdict.reason}; waiting ${(delayMs / 1000).toFixed(1)} s more would pass the ${policy.maxWaitSeconds} s retry budget (retry.maxWaitSeconds in the agent file)${RESUME_HINT}`,
          { cause: error },
        );
      }
      options.onRetry?.(
        `${options.describe}: ${verdict.reason}; retrying in ${(delayMs / 1000).toFixed(1)} s (attempt ${attempt + 1} of ${policy.attempts})`,
      );
      await sleep(delayMs, signal);
      waitedMs += delayMs;
    }
  }
}

/** Milliseconds a response asks the client to wait (retry-after-ms, retry-after in seconds or as a date). */
export function retryAfterMs(headers: Headers | undefined | null): number | null {
  if (!headers) return null;
  const ms = Number.parseFloat(headers.get('retry-after-ms') ?? '');
  if (Number.isFinite(ms) && ms >= 0) return ms;
  const raw = headers.get('retry-after');
  if (!raw) return null;
  const seconds = Number.parseFloat(raw);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(raw);
  return Number.isFinite(date) ? Math.max(0, date - Date.now()) : null;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
