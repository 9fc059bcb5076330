/**
 * Building a SandboxResult: every sandbox fills in what it knows and leaves the rest at "nothing
 * happened" (no timeout, no OOM, not interrupted), with the duration measured from `startedAt`.
 */
import type { SandboxResult } from '../core/interfaces.ts';

export function sandboxResult(logPath: string, startedAt: number, fields: Partial<SandboxResult>): SandboxResult {
  return {
    exitCode: null,
    timedOut: false,
    oomKilled: false,
    interrupted: false,
    durationMs: Date.now() - startedAt,
    logPath,
    ...fields,
  };
}
