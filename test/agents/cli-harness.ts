/**
 * Running the real `researcher` CLI code path in this process (`main([...])`, as bin/researcher.js
 * does), with its output captured and environment variables set for the call. Starting a new
 * tsx process per command costs seconds on a busy machine; the code path is the same.
 */
import { vi } from 'vitest';
import { main } from '../../src/cli/main.ts';
import type { RunSummary } from '../../src/report/run-summary.ts';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function researcher(args: string[], env: Record<string, string | undefined> = {}): Promise<CliResult> {
  const saved = Object.fromEntries(Object.keys(env).map((key) => [key, process.env[key]]));
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  const out: string[] = [];
  const err: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...parts) => void out.push(`${parts.join(' ')}\n`));
  const error = vi.spyOn(console, 'error').mockImplementation((...parts) => void err.push(`${parts.join(' ')}\n`));
  try {
    const code = await main(args);
    return { code, stdout: out.join(''), stderr: err.join('') };
  } finally {
    log.mockRestore();
    error.mockRestore();
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
}

export async function showJson(runDir: string): Promise<RunSummary> {
  const result = await researcher(['show', runDir, '--json']);
  if (result.code !== 0) throw new Error(`show failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as RunSummary;
}

/** No key or base URL from the machine running the tests leaks into a test. */
export const CLEAN_ENV = {
  OPENAI_API_KEY: undefined,
  OPENAI_BASE_URL: undefined,
  OPENAI_MODEL: undefined,
  ANTHROPIC_API_KEY: undefined,
  ANTHROPIC_BASE_URL: undefined,
  ANTHROPIC_AUTH_TOKEN: undefined,
};
