/**
 * The Slurm sandbox against a real cluster: steps are batch jobs that see only the sandbox's
 * variables, write their log and outputs back, stop at their time limit and on Ctrl-C. Plus the
 * pieces that need no cluster: the batch scripts for container runtimes, the sbatch options.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { SandboxHandle, SandboxRequest } from '../../src/core/interfaces.ts';
import { loadEnvironment } from '../../src/environment/load.ts';
import { EnginePlacedGpus } from '../../src/sandbox/gpu-pool.ts';
import { batchScripts, containerRuntime, jobEnvironment, resourceOptions, timeLimitMinutes } from '../../src/sandbox/slurm/batch-script.ts';
import { SlurmSandbox } from '../../src/sandbox/slurm/sandbox.ts';
import { STAGE_FOLDER } from '../../src/sandbox/slurm/staging.ts';
import { slurmOptionsFromFlags } from '../../src/cli/sandbox-flags.ts';
import { tempDir } from '../helpers/sweep.ts';
import { SKIP_SLURM, queuedJobs, requireSlurm, timeLimit } from '../slurm/cluster.ts';

/** A minimal environment folder whose environment.yaml has `extra` appended. */
function environmentWith(extra: string) {
  const dir = tempDir('researcher-slurm-env-');
  mkdirSync(path.join(dir, 'code'));
  writeFileSync(path.join(dir, 'code/train.py'), 'print(1)\n');
  writeFileSync(
    path.join(dir, 'environment.yaml'),
    `name: slurm-test\ndescription: test\ncode:\n  path: ./code\neditable: ["*.py"]\nrun:\n  command: python3 train.py\n  timeout: 20s\nreward:\n  source: regex\n  pattern: 'x=(\\S+)'\n  goal: maximize\n${extra}`,
  );
  return loadEnvironment(dir);
}

let runCounter = 0;
function makeRequest(command: string, overrides: Partial<SandboxRequest> = {}): SandboxRequest {
  const base = tempDir('researcher-slurm-run-');
  const workDir = path.join(base, 'work');
  mkdirSync(workDir);
  writeFileSync(path.join(workDir, 'hello.txt'), 'hello from the worktree\n');
  return {
    runId: `sandbox-test-${process.pid}-${++runCounter}`,
    ideaId: 1,
    seed: 0,
    kind: 'run',
    step: { command, timeout: 60_000, env: {}, passEnv: [] },
    resources: { gpus: 0, shareGpus: false },
    network: false,
    workDir,
    outputDir: path.join(base, 'idea/outputs'),
    logPath: path.join(base, 'idea/run.log'),
    gpus: [],
    ...overrides,
  };
}

/** Every file under `dir`, read as text. */
function allText(dir: string): string {
  let text = '';
  for (const entry of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    const file = path.join(dir, entry);
    if (statSync(file).isFile()) text += readFileSync(file, 'utf8');
  }
  return text;
}

async function until(condition: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe.skipIf(SKIP_SLURM)('Slurm sandbox on a real cluster', () => {
  requireSlurm();
  const sandboxes: SlurmSandbox[] = [];
  afterEach(async () => {
    for (const sandbox of sandboxes.splice(0)) await sandbox.close();
  });
  function sandbox(environment = environmentWith('')) {
    const sharedDir = tempDir('researcher-shared-');
    const created = new SlurmSandbox({ sharedDir, pollMs: 300 }, environment);
    sandboxes.push(created);
    return { sandbox: created, sharedDir };
  }

  it('runs a step as a batch job that sees only the sandbox variables, and brings back its log and outputs', async () => {
    const environment = environmentWith('slurm:\n  setup:\n    - export FROM_SETUP=yes\n');
    const { sandbox: slurm, sharedDir } = sandbox(environment);
    await slurm.preflight({ resources: environment.config.run.resources, gpus: [] });
    const command = 'cat hello.txt; env | sort; echo "made by the job" > "$OUTPUT_DIR/result.txt"; exit 3';
    const request = makeRequest(command, {
      step: { command, timeout: 60_000, env: { GREETING: 'hi there' }, passEnv: ['RESEARCHER_PASSED'] },
    });
    const handles: SandboxHandle[] = [];
    const secret = 'sk-slurm-test-secret-4242';
    process.env.OPENAI_API_KEY = secret;
    process.env.RESEARCHER_HOST_ONLY = 'host-only-value';
    process.env.RESEARCHER_PASSED = 'passed-value';
    let stagedText = '';
    let result;
    try {
      result = await slurm.run({
        ...request,
        onStarted: (handle) => {
          handles.push(handle);
          // What the job was submitted with: the staged scripts, and the batch script Slurm keeps.
          stagedText = allText(path.join(sharedDir, STAGE_FOLDER));
          stagedText += execFileSync('scontrol', ['write', 'batch_script', handle.jobId!, '-'], { encoding: 'utf8' });
        },
      });
    } finally {
      delete process.env.OPENAI_API_KEY;
      delete process.env.RESEARCHER_HOST_ONLY;
      delete process.env.RESEARCHER_PASSED;
    }

    expect(result).toMatchObject({ exitCode: 3, timedOut: false, interrupted: false, oomKilled: false });
    expect(result.infrastructureError).toBeUndefined();
    expect(handles).toHaveLength(1);
    expect(handles[0]).toMatchObject({ sandbox: 'slurm', jobId: expect.stringMatching(/^\d+$/) });

    const log = readFileSync(request.logPath, 'utf8');
    expect(log).toContain('hello from the worktree');
    expect(log).toContain('GREETING=hi there');
    expect(log).toContain('RESEARCHER_PASSED=passed-value');
    expect(log).toContain('FROM_SETUP=yes');
    expect(log).toContain(`SLURM_JOB_ID=${handles[0].jobId}`);
    expect(log).toMatch(/^CUDA_VISIBLE_DEVICES=$/m);
    // The node has bubblewrap: the step sees its stage at the sandbox's fixed paths, and nothing of the shared folder.
    expect(log).toMatch(/^OUTPUT_DIR=\/sandbox\/outputs$/m);
    // Only the builder's variables, Slurm's own, and what bash sets for itself: nothing from
    // the researcher's environment or the login environment Slurm starts --export=NONE jobs in.
    const names = log
      .split('\n')
      .filter((line) => /^[A-Za-z_][A-Za-z0-9_]*=/.test(line))
      .map((line) => line.slice(0, line.indexOf('=')));
    const allowed = new Set([
      'PATH',
      'HOME',
      'LANG',
      'LC_ALL',
      'PYTHONUNBUFFERED',
      'PYTHONDONTWRITEBYTECODE',
      'OUTPUT_DIR',
      'SEED',
      'IDEA_ID',
      'RUN_ID',
      'CUDA_VISIBLE_DEVICES',
      'NVIDIA_VISIBLE_DEVICES',
      'GREETING',
      'RESEARCHER_PASSED',
      'FROM_SETUP',
      'TMPDIR',
      'PWD',
      'SHLVL',
      '_',
      'OLDPWD',
    ]);
    expect(names.filter((name) => !allowed.has(name) && !/^SLURMD?_/.test(name))).toEqual([]);
    expect(names).not.toContain('SLURM_EXPORT_ENV');
    expect(log).not.toContain(secret);
    expect(log).not.toContain('host-only-value');
    expect(stagedText).toContain("'GREETING=hi there'");
    expect(stagedText).toContain('--noprofile --norc');
    expect(stagedText).not.toContain(secret);
    expect(stagedText).not.toContain('host-only-value');

    expect(readFileSync(path.join(request.outputDir, 'result.txt'), 'utf8')).toBe('made by the job\n');
    expect(queuedJobs(slurm.jobName(request, 'run'))).toEqual([]);
    // No evaluator follows in this environment: the step's stage is gone once its outputs are back.
    expect(existsSync(path.join(sharedDir, STAGE_FOLDER, request.runId, 'idea-1', 'seed-0'))).toBe(false);
  });

  it('cancels a job that passes its time limit and reports it as timed out', async () => {
    const { sandbox: slurm } = sandbox();
    const request = makeRequest('echo started; sleep 300', {
      step: { command: 'echo started; sleep 300', timeout: 3_000, env: {}, passEnv: [] },
    });
    let jobId = '';
    let limit = '';
    const running = slurm.run({
      ...request,
      onStarted: (handle) => {
        jobId = handle.jobId!;
        limit = timeLimit(jobId);
      },
    });
    const result = await running;
    expect(result).toMatchObject({ timedOut: true, interrupted: false });
    expect(result.infrastructureError).toBeUndefined();
    // The step's 3 s became --time: whole minutes, plus one for the job's start-up.
    expect(limit).toBe('2:00');
    expect(readFileSync(request.logPath, 'utf8')).toContain('started');
    expect(queuedJobs(slurm.jobName(request, 'run'))).toEqual([]);
  });

  it('cancels the job when the sweep is stopped (Ctrl-C)', async () => {
    const { sandbox: slurm } = sandbox();
    const controller = new AbortController();
    const request = makeRequest('echo waiting; sleep 300', { signal: controller.signal });
    let jobId = '';
    const running = slurm.run({ ...request, onStarted: (handle) => (jobId = handle.jobId!) });
    await until(() => jobId !== '' && readFileSync(request.logPath, 'utf8').includes('waiting'), 'the job to start');
    expect(queuedJobs(slurm.jobName(request, 'run')).map((job) => job.id)).toEqual([jobId]);
    controller.abort();
    const result = await running;
    expect(result).toMatchObject({ interrupted: true, timedOut: false });
    expect(queuedJobs(slurm.jobName(request, 'run'))).toEqual([]);
  });

  it('checks the shared folder, the partition, GPUs and the job settings before the sweep starts', async () => {
    const resources = { gpus: 0, shareGpus: false };
    await expect(new SlurmSandbox({}).preflight({ resources, gpus: [] })).rejects.toThrow(/needs --shared-dir DIR/);
    await expect(new SlurmSandbox({ sharedDir: '/nonexistent/shared' }).preflight({ resources, gpus: [] })).rejects.toThrow(
      /--shared-dir \/nonexistent\/shared is not a folder/,
    );
    const file = path.join(tempDir(), 'a-file');
    writeFileSync(file, '');
    await expect(new SlurmSandbox({ sharedDir: file }).preflight({ resources, gpus: [] })).rejects.toThrow(/is not a folder/);
    const sharedDir = tempDir('researcher-shared-');
    await expect(new SlurmSandbox({ sharedDir, partition: 'no-such-partition' }).preflight({ resources, gpus: [] })).rejects.toThrow(
      /no partition "no-such-partition"; partitions: /,
    );
    await expect(new SlurmSandbox({ sharedDir }).preflight({ resources: { gpus: 1, shareGpus: false }, gpus: [] })).rejects.toThrow(
      /needs 1 GPU\(s\) per run but no node offers a "gpu" gres/,
    );
    await expect(
      new SlurmSandbox({ sharedDir }).preflight({ resources: { gpus: 0, shareGpus: false, memory: 2 ** 50 }, gpus: [] }),
    ).rejects.toThrow(/Slurm refuses the job settings/);
    const path_ = process.env.PATH;
    process.env.PATH = tempDir('researcher-empty-path-');
    try {
      await expect(new SlurmSandbox({ sharedDir }).preflight({ resources, gpus: [] })).rejects.toThrow(/sbatch is not on PATH/);
    } finally {
      process.env.PATH = path_;
    }
    await new SlurmSandbox({ sharedDir }).preflight({ resources, gpus: [] });
  });
});

describe('Slurm batch scripts and options', () => {
  const files = { started: '/s/started', ended: '/s/ended', exit: '/s/exit', stepScript: '/s/step.sh', work: '/s/work' };

  it('runs the step in a clean environment and records start, end and exit status', () => {
    const { job, step } = batchScripts({
      title: 'run step',
      files,
      env: { PATH: '/usr/bin', QUOTED: "it's" },
      setup: ['module load python/3.11', 'source /shared/venv/bin/activate'],
      command: 'python3 train.py',
    });
    expect(job).toContain(`env -i "\${keep[@]}"`);
    expect(job).toContain(`'QUOTED=it'\\''s'`);
    expect(job).toMatch(/SLURM_EXPORT_ENV=\*\|SLURM_GET_USER_ENV=\*\) ;;/);
    expect(job).toContain("> '/s/exit.tmp' && mv -f '/s/exit.tmp' '/s/exit'");
    expect(step).toBe(
      "set -e\ncd '/s/work'\n# set-up lines from environment.yaml (slurm.setup)\nmodule load python/3.11\nsource /shared/venv/bin/activate\nset +e\nexec /bin/bash -c 'python3 train.py'\n",
    );
    // The generated scripts are valid bash.
    const dir = tempDir();
    writeFileSync(path.join(dir, 'job.sh'), job);
    writeFileSync(path.join(dir, 'step.sh'), step);
    execFileSync('bash', ['-n', path.join(dir, 'job.sh')]);
    execFileSync('bash', ['-n', path.join(dir, 'step.sh')]);
  });

  it('wraps the command in Apptainer or pyxis when the environment names a container', () => {
    const apptainer = batchScripts({
      title: 't',
      files,
      env: {},
      setup: [],
      command: 'python3 train.py',
      container: { image: '/shared/images/torch.sif', runtime: 'apptainer', gpus: true, bind: '/shared/researcher-jobs/run' },
    }).step;
    expect(apptainer).toContain('runtime="$(command -v apptainer || command -v singularity)"');
    expect(apptainer).toContain(
      `exec "$runtime" exec --nv --bind '/shared/researcher-jobs/run' --pwd '/s/work' '/shared/images/torch.sif' /bin/bash -c 'python3 train.py'`,
    );
    const pyxis = batchScripts({
      title: 't',
      files,
      env: {},
      setup: [],
      command: 'python3 train.py',
      container: { image: 'nvcr.io#nvidia/pytorch:24.01-py3', runtime: 'pyxis', gpus: false, bind: '/shared/r' },
    }).step;
    expect(pyxis).toContain(
      "exec srun --ntasks=1 --export=ALL --container-image='nvcr.io#nvidia/pytorch:24.01-py3' --container-mounts='/shared/r:/shared/r' --container-workdir='/s/work' --no-container-mount-home /bin/bash -c 'python3 train.py'",
    );
    expect(containerRuntime('images/torch.sif')).toBe('apptainer');
    expect(containerRuntime('docker://pytorch/pytorch:latest')).toBe('apptainer');
    expect(containerRuntime('/shared/torch.sqsh')).toBe('pyxis');
    expect(containerRuntime('nvcr.io#nvidia/pytorch:24.01-py3')).toBe('pyxis');
    expect(containerRuntime('torch.sif', 'pyxis')).toBe('pyxis');
  });

  it('lets Slurm place GPUs: the loop hands out no device ids, and the job keeps the GPUs Slurm gave it', async () => {
    expect(new SlurmSandbox({}).allocatesGpus).toBe(true);
    const pool = new EnginePlacedGpus();
    expect(pool.capacity()).toBe(Infinity);
    expect(await pool.acquire()).toEqual([]);

    const files = { work: '/shared/w', outputs: '/shared/o', evalOut: '/shared/e', home: '/shared/h' };
    const withGpus = jobEnvironment(makeRequest('true', { resources: { gpus: 2, shareGpus: false } }), files, { PATH: '/usr/bin' });
    expect(withGpus).not.toHaveProperty('CUDA_VISIBLE_DEVICES');
    expect(withGpus).not.toHaveProperty('NVIDIA_VISIBLE_DEVICES');
    expect(withGpus).toMatchObject({ OUTPUT_DIR: '/shared/o', HOME: '/shared/h', PATH: '/usr/bin' });
    const without = jobEnvironment(makeRequest('true'), files, { PATH: '/usr/bin', OPENAI_API_KEY: 'sk-x' });
    expect(without).toMatchObject({ CUDA_VISIBLE_DEVICES: '', NVIDIA_VISIBLE_DEVICES: 'void' });
    expect(without).not.toHaveProperty('OPENAI_API_KEY');
    expect(without).not.toHaveProperty('EVAL_DIR');
  });

  it('maps resources, time limit and placement to sbatch options', () => {
    expect(timeLimitMinutes(3_000)).toBe(2);
    expect(timeLimitMinutes(60_000)).toBe(2);
    expect(timeLimitMinutes(3_600_000)).toBe(61);
    expect(
      resourceOptions({ gpus: 2, cpus: 7.5, memory: 3 * 2 ** 30, shareGpus: false }, 90_000, {
        partition: 'gpu',
        account: 'lab',
        qos: 'high',
        extra: ['--constraint=a100'],
      }),
    ).toEqual([
      '--nodes=1',
      '--ntasks=1',
      '--time=3',
      '--cpus-per-task=8',
      '--mem=3072M',
      '--gres=gpu:2',
      '--partition=gpu',
      '--account=lab',
      '--qos=high',
      '--constraint=a100',
    ]);
    expect(resourceOptions({ gpus: 0, shareGpus: false }, 1_000, { extra: [] })).toEqual(['--nodes=1', '--ntasks=1', '--time=2']);
  });

  it('takes placement from the command line over environment.yaml, and refuses options it sets itself', () => {
    expect(slurmOptionsFromFlags('slurm', { sharedDir: 'shared', partition: 'gpu' })).toEqual({
      sharedDir: path.resolve('shared'),
      partition: 'gpu',
    });
    expect(() => slurmOptionsFromFlags('local', { sharedDir: '/x' })).toThrow('--shared-dir and --slurm-* only apply to --sandbox slurm');
    expect(() => new SlurmSandbox({}, environmentWith('slurm:\n  sbatchArgs: ["--export=ALL"]\n'))).toThrow(
      /slurm.sbatchArgs: --export is set by the researcher itself/,
    );
    expect(() => environmentWith('slurm:\n  sbatchArgs: ["constraint=a100"]\n')).toThrow(/slurm.sbatchArgs.0: expected an sbatch option/);
  });
});
