/**
 * The local sandbox: runs a step as a process on this machine (execa). It gives no file-system
 * isolation (use the Docker sandbox for that) but it does give:
 * - a clean environment (no API keys, no host variables unless named);
 * - a wall-clock limit that kills the whole process tree, grandchildren included: the command
 *   runs in its own process group and the group is killed (SIGTERM, then SIGKILL);
 * - the log written straight to a file by the child, so nothing is lost if the researcher dies.
 */
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { SandboxError } from '../core/errors.ts';
import type { Sandbox, SandboxHandle, SandboxRequest, SandboxResult } from '../core/interfaces.ts';
import type { Resources } from '../environment/schema.ts';
import { sandboxEnvironment } from './environment-variables.ts';
import { sandboxResult } from './result.ts';
import { isSameProcess, killProcessGroup, processStartTime } from './processes.ts';

/** How long a timed-out process group gets between SIGTERM and SIGKILL. */
const KILL_GRACE_MS = 2_000;

export class LocalSandbox implements Sandbox {
  readonly name = 'local';

  async preflight(request: { resources: Resources; gpus: string[] }): Promise<void> {
    if (request.gpus.length === 0 && request.resources.gpus > 0) {
      throw new SandboxError(
        `the environment needs ${request.resources.gpus} GPU(s) per run but none were found; pass --gpus 0,1,… or run on a GPU machine`,
      );
    }
  }

  async run(request: SandboxRequest): Promise<SandboxResult> {
    mkdirSync(path.dirname(request.logPath), { recursive: true });
    mkdirSync(request.outputDir, { recursive: true });
    if (request.evalDir) mkdirSync(request.evalDir, { recursive: true });
    const home = mkdtempSync(path.join(os.tmpdir(), 'researcher-home-'));
    closeSync(openSync(request.logPath, 'a')); // the log exists even if the command never starts
    const started = Date.now();
    let timedOut = false;
    let interrupted = false;
    try {
      const child = execa('bash', ['-c', request.step.command], {
        cwd: request.workDir,
        env: sandboxEnvironment(request, { workDir: request.workDir, outputDir: request.outputDir, evalDir: request.evalDir, home }),
        extendEnv: false,
        stdin: 'ignore',
        // Both streams append to the log file straight from the child (O_APPEND keeps them in order).
        stdout: { file: request.logPath, append: true },
        stderr: { file: request.logPath, append: true },
        detached: true, // its own process group, so the whole tree can be killed at once
        reject: false,
        cleanup: false, // we kill the group ourselves; execa's cleanup only reaches the direct child
      });
      const pid = child.pid;
      if (pid === undefined) {
        const result = await child;
        return sandboxResult(request.logPath, started, { exitCode: null, infrastructureError: `could not start bash: ${result.message}` });
      }
      request.onStarted?.({ sandbox: this.name, pid, pidStart: processStartTime(pid) ?? undefined });

      const killGroup = (signal: NodeJS.Signals) => killProcessGroup(pid, signal);
      const stop = (why: 'timeout' | 'interrupt') => {
        if (why === 'timeout') timedOut = true;
        else interrupted = true;
        killGroup('SIGTERM');
        setTimeout(() => killGroup('SIGKILL'), KILL_GRACE_MS).unref();
      };
      const timer = setTimeout(() => stop('timeout'), request.step.timeout);
      const onAbort = () => stop('interrupt');
      request.signal?.addEventListener('abort', onAbort, { once: true });
      if (request.signal?.aborted) onAbort();

      const result = await child;
      clearTimeout(timer);
      request.signal?.removeEventListener('abort', onAbort);
      // The direct child is gone; anything it left behind in its group goes too.
      killGroup('SIGKILL');

      // An unrequested SIGKILL is, in practice, the kernel's OOM killer.
      const oomKilled = !timedOut && !interrupted && result.signal === 'SIGKILL';
      return sandboxResult(request.logPath, started, {
        exitCode: result.exitCode ?? null,
        timedOut,
        interrupted,
        oomKilled,
      });
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  }

  async reap(handles: SandboxHandle[]): Promise<void> {
    for (const handle of handles) {
      if (handle.sandbox !== this.name || !handle.pid) continue;
      // Only kill the group if the pid still belongs to the process we started (pids get reused).
      if (isSameProcess(handle.pid, handle.pidStart)) {
        killProcessGroup(handle.pid, 'SIGKILL');
      }
    }
  }

}
