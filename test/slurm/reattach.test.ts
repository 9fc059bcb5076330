/**
 * A researcher killed mid-step leaves its Slurm jobs behind. The next one re-attaches to them by
 * their job name instead of submitting the step again: to a job still queued or running, to one
 * that finished while nobody watched, and — when it died while the evaluator ran — it takes the
 * run step's staged result and attaches to the evaluator's job.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { SandboxHandle, SandboxRequest, SandboxResult } from '../../src/core/interfaces.ts';
import { SlurmSandbox } from '../../src/sandbox/slurm/sandbox.ts';
import { STAGE_FOLDER } from '../../src/sandbox/slurm/staging.ts';
import { REPO_ROOT, tempDir } from '../helpers/sweep.ts';
import { SKIP_SLURM, queuedJobs, requireSlurm } from './cluster.ts';

const RUN_STEP = path.join(REPO_ROOT, 'test/slurm/run-step.ts');

interface Harness {
  sharedDir: string;
  runId: string;
  options: Record<string, unknown>;
}

function harness(): Harness {
  const sharedDir = tempDir('researcher-shared-');
  // The steps here leave markers on the shared folder for the test to watch, so they run without
  // bubblewrap (which would hide it); isolation on the nodes is tested in test/sandbox/slurm.test.ts.
  return { sharedDir, runId: `reattach-${process.pid}-${Date.now()}`, options: { sharedDir, pollMs: 300, isolation: 'off' } };
}

function request(h: Harness, seed: number, command: string, kind: SandboxRequest['kind'] = 'run', base?: SandboxRequest): SandboxRequest {
  const dir = path.join(h.sharedDir, '..', `idea-files-${seed}`);
  const workDir = path.join(dir, kind === 'run' ? 'work' : 'evaluator');
  mkdirSync(workDir, { recursive: true });
  writeFileSync(path.join(workDir, 'code.txt'), `${kind} code\n`);
  return {
    runId: h.runId,
    ideaId: 1,
    seed,
    kind,
    step: { command, timeout: 120_000, env: {}, passEnv: [] },
    resources: { gpus: 0, shareGpus: false },
    network: false,
    workDir,
    outputDir: base?.outputDir ?? path.join(dir, 'outputs'),
    evalDir: kind === 'evaluate' ? path.join(dir, 'eval') : undefined,
    logPath: path.join(dir, `${kind}.log`),
    gpus: [],
  };
}

/** Starts a step in another researcher process; resolves with its job id once the job exists. */
function startElsewhere(h: Harness, req: SandboxRequest): { child: ChildProcess; started: Promise<string> } {
  const child = spawn(process.execPath, ['--import', 'tsx', RUN_STEP, JSON.stringify({ options: h.options, request: req })], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const started = new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk) => {
      out += chunk;
      const match = /\{"started":(\{[^}]*\})\}/.exec(out);
      if (match) resolve((JSON.parse(match[1]) as SandboxHandle).jobId!);
    });
    child.once('exit', (code) => reject(new Error(`run-step exited (${code}) before its job started: ${out}`)));
  });
  return { child, started };
}

async function killHard(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

async function until(condition: () => boolean, what: string, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function lines(file: string): string[] {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
}

/** Runs a request, collecting the handles it reports. */
async function runCollecting(
  sandbox: SlurmSandbox,
  req: SandboxRequest,
  onStarted?: () => void,
): Promise<{ result: SandboxResult; handles: SandboxHandle[] }> {
  const handles: SandboxHandle[] = [];
  const result = await sandbox.run({
    ...req,
    onStarted: (handle) => {
      handles.push(handle);
      onStarted?.();
    },
  });
  return { result, handles };
}

describe.skipIf(SKIP_SLURM)('re-attaching to the jobs of a killed researcher', () => {
  requireSlurm();
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0)) await step();
  });

  it('re-attaches to a running job and takes the result of one that finished meanwhile, submitting neither again', async () => {
    const h = harness();
    const marker = (seed: number) => path.join(h.sharedDir, `starts-${seed}`);
    // The slow step runs until the test lets it go, so it is surely still running when re-attached to.
    const go = path.join(h.sharedDir, 'go');
    const slow = request(
      h,
      0,
      `echo start >> ${marker(0)}; echo slow; until [ -e ${go} ]; do sleep 0.2; done; echo done > "$OUTPUT_DIR/done.txt"`,
    );
    const quick = request(h, 1, `echo start >> ${marker(1)}; echo quick; echo done > "$OUTPUT_DIR/done.txt"`);
    const first = startElsewhere(h, slow);
    const second = startElsewhere(h, quick);
    cleanup.push(
      () => killHard(first.child),
      () => killHard(second.child),
    );
    const [slowJob, quickJob] = await Promise.all([first.started, second.started]);
    await until(() => lines(marker(0)).length > 0, 'the slow job to run');
    await Promise.all([killHard(first.child), killHard(second.child)]);

    const sandbox = new SlurmSandbox(h.options);
    cleanup.push(() => sandbox.close());
    // The killed researcher's jobs outlive it.
    expect(queuedJobs(sandbox.jobName(slow, 'run')).map((job) => job.id)).toEqual([slowJob]);
    await until(() => queuedJobs(sandbox.jobName(quick, 'run')).length === 0, 'the quick job to finish unwatched');

    await sandbox.reap([
      { sandbox: 'slurm', jobId: slowJob },
      { sandbox: 'slurm', jobId: quickJob },
    ]);
    const [again, meanwhile] = await Promise.all([
      runCollecting(sandbox, slow, () => writeFileSync(go, '')),
      runCollecting(sandbox, quick),
    ]);

    expect(again.result).toMatchObject({ exitCode: 0, timedOut: false, interrupted: false });
    expect(again.handles).toEqual([{ sandbox: 'slurm', jobId: slowJob }]);
    expect(meanwhile.result).toMatchObject({ exitCode: 0, timedOut: false, interrupted: false });
    expect(meanwhile.handles).toEqual([{ sandbox: 'slurm', jobId: quickJob }]);
    // Each step ran exactly once, and its log and outputs came back.
    expect(lines(marker(0))).toEqual(['start']);
    expect(lines(marker(1))).toEqual(['start']);
    expect(readFileSync(slow.logPath, 'utf8')).toContain('slow');
    expect(readFileSync(quick.logPath, 'utf8')).toContain('quick');
    expect(readFileSync(path.join(slow.outputDir, 'done.txt'), 'utf8')).toBe('done\n');
    expect(readFileSync(path.join(quick.outputDir, 'done.txt'), 'utf8')).toBe('done\n');
    expect(queuedJobs(`researcher-${h.runId}-`)).toEqual([]);

    await sandbox.close();
    expect(existsSync(path.join(h.sharedDir, STAGE_FOLDER, h.runId))).toBe(false);
  }, 240_000);

  it('when it died while the evaluator ran: keeps the finished run step and re-attaches to the evaluator', async () => {
    const h = harness();
    const runMarker = path.join(h.sharedDir, 'run-starts');
    const evalMarker = path.join(h.sharedDir, 'eval-starts');
    const run = request(h, 2, `echo start >> ${runMarker}; echo '{"x": 7}' > "$OUTPUT_DIR/prediction.json"`);
    const go = path.join(h.sharedDir, 'go');
    const evaluate = request(
      h,
      2,
      `echo start >> ${evalMarker}; cat code.txt; until [ -e ${go} ]; do sleep 0.2; done; cp "$OUTPUT_DIR/prediction.json" "$EVAL_DIR/metrics.json"`,
      'evaluate',
      run,
    );

    // The researcher that dies: its run step finished, its evaluator job is running.
    const dying = new SlurmSandbox(h.options);
    cleanup.push(() => dying.close());
    const ran = await runCollecting(dying, run);
    expect(ran.result.exitCode).toBe(0);
    const elsewhere = startElsewhere(h, evaluate);
    cleanup.push(() => killHard(elsewhere.child));
    const evaluatorJob = await elsewhere.started;
    await until(() => lines(evalMarker).length > 0, 'the evaluator job to run');
    await killHard(elsewhere.child);

    const resumed = new SlurmSandbox(h.options);
    cleanup.push(() => resumed.close());
    // The store kept the handle last reported for the evaluation: the evaluator's job.
    await resumed.reap([{ sandbox: 'slurm', jobId: evaluatorJob }]);
    const rerun = await runCollecting(resumed, run);
    expect(rerun.handles).toEqual(ran.handles);
    expect(rerun.result).toMatchObject({ exitCode: 0, timedOut: false, interrupted: false });
    expect(queuedJobs(resumed.jobName(evaluate, 'evaluate')).map((job) => job.id)).toEqual([evaluatorJob]);
    const scored = await runCollecting(resumed, evaluate, () => writeFileSync(go, ''));
    expect(scored.handles).toEqual([{ sandbox: 'slurm', jobId: evaluatorJob }]);
    expect(scored.result).toMatchObject({ exitCode: 0, timedOut: false, interrupted: false });

    expect(lines(runMarker)).toEqual(['start']);
    expect(lines(evalMarker)).toEqual(['start']);
    expect(JSON.parse(readFileSync(path.join(evaluate.evalDir!, 'metrics.json'), 'utf8'))).toEqual({ x: 7 });
    expect(readFileSync(evaluate.logPath, 'utf8')).toContain('evaluate code');
    expect(queuedJobs(`researcher-${h.runId}-`)).toEqual([]);
  }, 240_000);
});
