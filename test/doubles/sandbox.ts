/**
 * An in-memory sandbox: nothing runs. Each run waits until the test finishes it (or a script
 * finishes it at once), then writes the log the reward is read from, so the sweep's slots,
 * seeds, failures and interruptions can be driven step by step.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Sandbox, SandboxHandle, SandboxRequest, SandboxResult } from '../../src/core/interfaces.ts';
import type { Resources } from '../../src/environment/schema.ts';

/** How a run ends. `reward` is printed as `score=<reward>` (see memoryEnvironment's reward pattern). */
export interface RunOutcome {
  reward?: number;
  exitCode?: number;
  /** The log, instead of the `score=` line (a traceback, say). */
  log?: string;
  /** The engine itself fails (run() throws): not the idea's fault. */
  engineError?: string;
}

export interface PendingRun {
  request: SandboxRequest;
  finish(outcome: RunOutcome): void;
}

export class ScriptedSandbox implements Sandbox {
  readonly name = 'scripted';
  /** Every run started, in order. */
  readonly started: SandboxRequest[] = [];
  /** Runs started and not finished yet. */
  readonly pending: PendingRun[] = [];
  /** The most runs that were pending at once. */
  mostAtOnce = 0;
  readonly reaped: SandboxHandle[][] = [];

  /** `script` finishes a run at once when it returns an outcome; otherwise the test does, through `pending`. */
  constructor(private readonly script?: (request: SandboxRequest) => RunOutcome | undefined) {}

  async preflight(_request: { resources: Resources; gpus: string[]; image?: string }): Promise<void> {}

  run(request: SandboxRequest): Promise<SandboxResult> {
    this.started.push(request);
    request.onStarted?.({ sandbox: this.name, pid: this.started.length });
    return new Promise<SandboxResult>((resolve, reject) => {
      const pending: PendingRun = {
        request,
        finish: (outcome) => {
          this.remove(pending);
          request.signal?.removeEventListener('abort', onAbort);
          if (outcome.engineError) return reject(new Error(outcome.engineError));
          mkdirSync(path.dirname(request.logPath), { recursive: true });
          writeFileSync(request.logPath, outcome.log ?? (outcome.reward === undefined ? 'no score\n' : `score=${outcome.reward}\n`));
          resolve(result(request, { exitCode: outcome.exitCode ?? 0, interrupted: false }));
        },
      };
      const onAbort = () => {
        this.remove(pending);
        resolve(result(request, { exitCode: null, interrupted: true }));
      };
      if (request.signal?.aborted) return onAbort();
      request.signal?.addEventListener('abort', onAbort, { once: true });
      this.pending.push(pending);
      this.mostAtOnce = Math.max(this.mostAtOnce, this.pending.length);
      const scripted = this.script?.(request);
      if (scripted) setImmediate(() => this.pending.includes(pending) && pending.finish(scripted));
    });
  }

  async reap(handles: SandboxHandle[]): Promise<void> {
    this.reaped.push(handles);
  }

  /** Finishes the pending run of `ideaId` (its first pending seed). */
  finish(ideaId: number, outcome: RunOutcome): void {
    const run = this.pending.find((p) => p.request.ideaId === ideaId);
    if (!run)
      throw new Error(`idea ${ideaId} has no pending run (pending: ${this.pending.map((p) => p.request.ideaId).join(', ') || 'none'})`);
    run.finish(outcome);
  }

  private remove(run: PendingRun): void {
    const index = this.pending.indexOf(run);
    if (index >= 0) this.pending.splice(index, 1);
  }
}

function result(request: SandboxRequest, fields: { exitCode: number | null; interrupted: boolean }): SandboxResult {
  return { ...fields, timedOut: false, oomKilled: false, durationMs: 1, logPath: request.logPath };
}
