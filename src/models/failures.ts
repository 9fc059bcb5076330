/**
 * Sorting a provider's errors, the same way for every SDK: what retries can fix (rate limits,
 * overload, 5xx, timeouts, dropped or garbled responses), what stops the run at once with one
 * line naming the variable or model to fix (a rejected key, an unknown model), and what fails
 * only this call (any other refusal).
 */
import { ModelError } from '../core/errors.ts';
import { retryAfterMs, type Verdict } from './retry.ts';

export interface CallContext {
  provider: string;
  model: string;
  baseURL: string;
  /** The variable the key came from, for messages (never the key itself). */
  keyVariable: string;
}

/** The error classes an SDK throws (both official SDKs share this shape). */
export interface SdkErrors {
  APIError: abstract new (...args: never[]) => Error & { status?: number; headers?: Headers; error?: unknown };
  APIConnectionError: abstract new (...args: never[]) => Error;
  APIConnectionTimeoutError: abstract new (...args: never[]) => Error;
  APIUserAbortError: abstract new (...args: never[]) => Error;
}

const RETRYABLE = new Set([408, 409, 425, 429, 500, 502, 503, 504, 520, 522, 524, 529]);
const UNKNOWN_MODEL = /model|deployment/i;
const NOT_FOUND = /not[ _]found|does not exist|do not have access|unknown|invalid|no such|not available|not supported/i;

function serverMessage(error: { message: string; error?: unknown }): string {
  const body = error.error as { message?: unknown; error?: { message?: unknown } } | undefined;
  const text =
    typeof body?.message === 'string' ? body.message : typeof body?.error?.message === 'string' ? body.error.message : error.message;
  return text
    .replace(/^\d{3}\s+/, '')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 300);
}

export function judgeError(error: unknown, sdk: SdkErrors, context: CallContext): Verdict {
  const { provider, model, baseURL, keyVariable } = context;
  if (error instanceof sdk.APIUserAbortError) return { retry: false, error };
  if (error instanceof sdk.APIConnectionTimeoutError)
    return { retry: true, reason: `no answer from ${baseURL} in time`, retryAfterMs: null };
  if (error instanceof sdk.APIConnectionError) {
    const cause = (error as Error & { cause?: { code?: string; message?: string } }).cause;
    return { retry: true, reason: `cannot reach ${baseURL} (${cause?.code ?? cause?.message ?? error.message})`, retryAfterMs: null };
  }
  if (error instanceof sdk.APIError && typeof error.status === 'number') {
    const status = error.status;
    const message = serverMessage(error);
    if (status === 401) {
      return {
        retry: false,
        error: new ModelError(`${keyVariable} was rejected by ${baseURL} (401: ${message}); set a valid key in ${keyVariable}`),
      };
    }
    if (status === 403) {
      return {
        retry: false,
        error: new ModelError(
          `${provider} refused access to model "${model}" (403: ${message}); check that the key in ${keyVariable} may use it`,
        ),
      };
    }
    if (status === 404 || ((status === 400 || status === 422) && UNKNOWN_MODEL.test(message) && NOT_FOUND.test(message))) {
      return {
        retry: false,
        error: new ModelError(
          `model "${model}" is unknown to ${baseURL} (${status}: ${message}); check the model name (model: in the agent file, or OPENAI_MODEL) and the base URL`,
        ),
      };
    }
    if (RETRYABLE.has(status) || status >= 500) {
      return { retry: true, reason: `${status} from ${provider} (${message})`, retryAfterMs: retryAfterMs(error.headers) };
    }
    return { retry: false, error: new Error(`${provider} refused the call (${status}: ${message})`) };
  }
  // Anything else came from reading the response: a body cut off mid-way, a broken event
  // stream, JSON that does not parse. The request itself was fine: try again.
  const detail = error instanceof Error ? error.message : String(error);
  return { retry: true, reason: `the response from ${baseURL} broke off or was garbled (${detail.slice(0, 200)})`, retryAfterMs: null };
}
