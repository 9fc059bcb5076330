/**
 * The bubblewrap-isolated local sandbox, tried as a reward-hacking step would: what it can
 * read, write, reach and leave behind.
 */
import { mkdirSync, readFileSync, writeFileSync, existsSync, statSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandboxRequest } from '../../src/core/interfaces.ts';
import { LocalSandbox } from '../../src/sandbox/local.ts';
import { bubblewrapTestsRun, hostProcessesWith } from '../helpers/bubblewrap.ts';
import { tempDir } from '../helpers/sweep.ts';

function request(command: string, overrides: Partial<SandboxRequest> = {}): SandboxRequest {
  const dir = tempDir('researcher-isolation-');
  const workDir = path.join(dir, 'code');
  mkdirSync(workDir);
  writeFileSync(path.join(workDir, 'train.py'), 'print("hello")\n');
  return {
    runId: 'r',
    ideaId: 1,
    seed: 0,
    kind: 'run',
    step: { command, timeout: 20_000, env: {}, passEnv: [] },
    resources: { gpus: 0, shareGpus: false },
    network: false,
    workDir,
    outputDir: path.join(dir, 'outputs'),
    logPath: path.join(dir, 'run.log'),
    gpus: [],
    ...overrides,
  };
}

const log = (req: SandboxRequest) => readFileSync(req.logPath, 'utf8');

describe.skipIf(!bubblewrapTestsRun('the bubblewrap isolation tests'))('the isolated local sandbox', () => {
  const sandbox = new LocalSandbox({ isolation: 'bubblewrap' });

  it('shows none of the host beyond the system folders: not the run folder, not a secret next to it', async () => {
    const secretDir = tempDir('researcher-secret-');
    writeFileSync(path.join(secretDir, 'heldout_answers.json'), '{"answer": "SECRET-ANSWER-42"}');
    const req = request(
      `cat ${secretDir}/heldout_answers.json; ls ${path.dirname(secretDir)} | head -3; ls /root /home 2>&1; cat ${process.cwd()}/package.json 2>&1 | head -1`,
    );
    const result = await sandbox.run(req);
    expect(result.exitCode).not.toBeNull();
    expect(log(req)).not.toContain('SECRET-ANSWER-42');
    expect(log(req)).toMatch(/No such file or directory/);
    expect(log(req)).not.toContain('"name": "ai-researcher"');
  });

  it("cannot read the researcher's environment through /proc, and sees only its own processes", async () => {
    process.env.RESEARCHER_TEST_API_KEY = 'sk-proc-leak-test';
    try {
      const req = request(
        'cat /proc/*/environ 2>/dev/null | tr "\\0" "\\n" | grep -c . ; ls /proc | grep -E "^[0-9]+$" | wc -l; cat /proc/1/cmdline | tr "\\0" " "',
      );
      await sandbox.run(req);
      expect(log(req)).not.toContain('sk-proc-leak-test');
      const [, processes] = log(req).trim().split('\n');
      expect(Number(processes)).toBeLessThan(10); // its own few, not the machine's
    } finally {
      delete process.env.RESEARCHER_TEST_API_KEY;
    }
  });

  it("runs as an unprivileged user in the idea's worktree, whose way into the repository is masked", async () => {
    const req = request(
      'id -u; cat .git | wc -c; echo "gitdir: /evil" > .git 2>/dev/null || echo git-file-read-only; echo ok > $OUTPUT_DIR/written; touch /usr/evil 2>&1 || echo cannot-write-usr',
    );
    writeFileSync(path.join(req.workDir, '.git'), 'gitdir: /the/run/repo/.git/worktrees/tree-1\n');
    const result = await sandbox.run(req);
    expect(result.exitCode).toBe(0);
    const lines = log(req).split('\n');
    expect(lines[0]).toBe('1000');
    expect(lines[1].trim()).toBe('0'); // the .git file reads as empty inside
    expect(log(req)).toContain('git-file-read-only');
    expect(log(req)).toContain('cannot-write-usr');
    expect(readFileSync(path.join(req.workDir, '.git'), 'utf8')).toBe('gitdir: /the/run/repo/.git/worktrees/tree-1\n');
    expect(readFileSync(path.join(req.outputDir, 'written'), 'utf8')).toBe('ok\n');
  });

  describe('the network', () => {
    let server: net.Server;
    let port = 0;
    beforeAll(async () => {
      server = net.createServer((socket) => socket.end('REACHED-THE-HOST\n'));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      port = (server.address() as net.AddressInfo).port;
    });
    afterAll(() => server.close());

    const connect = () =>
      `python3 -c "import socket; s=socket.create_connection(('127.0.0.1', ${port}), timeout=3); print(s.recv(100).decode().strip())" 2>&1 | tail -1`;

    it('is cut off unless the environment asks for it', async () => {
      const req = request(connect());
      await sandbox.run(req);
      expect(log(req)).not.toContain('REACHED-THE-HOST');
      expect(log(req)).toMatch(/refused|unreachable|Errno/i);
    });

    it('is there with network: true', async () => {
      const req = request(connect(), { network: true });
      await sandbox.run(req);
      expect(log(req)).toContain('REACHED-THE-HOST');
    });
  });

  it('leaves no daemon behind: a setsid double-fork dies with the step, which ends at once', async () => {
    const marker = `${900 + Math.floor(Math.random() * 99)}.${process.pid}1`;
    const req = request(`(setsid sleep ${marker} > /dev/null 2>&1 &); (setsid sh -c 'sleep ${marker}' &); echo started`);
    const started = Date.now();
    const result = await sandbox.run(req);
    expect(result.exitCode).toBe(0);
    expect(result.timedOut).toBe(false);
    expect(Date.now() - started).toBeLessThan(15_000); // not held open by the daemon's copy of stdout
    await expect.poll(() => hostProcessesWith(`sleep ${marker}`), { timeout: 5_000 }).toEqual([]);
  });

  it('enforces memory: and reports an over-allocation as oom', async () => {
    const req = request('python3 -c "x = bytearray(400 * 2**20); print(len(x))"', {
      resources: { gpus: 0, shareGpus: false, memory: 100 * 2 ** 20 },
    });
    const result = await sandbox.run(req);
    expect(result.oomKilled).toBe(true);
    expect(result.exitCode).not.toBe(0);
  });

  it('cuts a flood of output at the log limit, keeping head and tail, without failing the run', async () => {
    const capped = new LocalSandbox({ isolation: 'bubblewrap', logLimitBytes: 256 * 1024 });
    const req = request('echo FIRST-LINE; head -c 20000000 /dev/zero | tr "\\0" x; echo; echo LAST-LINE');
    const result = await capped.run(req);
    expect(result.exitCode).toBe(0);
    const size = statSync(req.logPath).size;
    expect(size).toBeLessThan(256 * 1024 + 1024);
    const text = log(req);
    expect(text.startsWith('FIRST-LINE')).toBe(true);
    expect(text.trimEnd().endsWith('LAST-LINE')).toBe(true);
    expect(text).toMatch(/\d+ bytes of output dropped here/);
  });

  it('gives the evaluate step the evaluator and the outputs read-only, and only its own folder to write', async () => {
    const dir = tempDir('researcher-eval-');
    const evaluator = path.join(dir, 'evaluator');
    mkdirSync(evaluator);
    writeFileSync(path.join(evaluator, 'score.py'), 'print(1)\n');
    const outputs = path.join(dir, 'outputs');
    mkdirSync(outputs);
    writeFileSync(path.join(outputs, 'predictions.json'), '[]');
    const req: SandboxRequest = {
      ...request(''),
      kind: 'evaluate',
      workDir: evaluator,
      outputDir: outputs,
      evalDir: path.join(dir, 'eval'),
      step: {
        command:
          'echo hacked > score.py || echo evaluator-read-only; echo x > $OUTPUT_DIR/predictions.json || echo outputs-read-only; echo "{}" > $EVAL_DIR/metrics.json && echo eval-writable',
        timeout: 20_000,
        env: {},
        passEnv: [],
      },
    };
    await sandbox.run(req);
    expect(log(req)).toContain('evaluator-read-only');
    expect(log(req)).toContain('outputs-read-only');
    expect(log(req)).toContain('eval-writable');
    expect(readFileSync(path.join(evaluator, 'score.py'), 'utf8')).toBe('print(1)\n');
    expect(existsSync(path.join(dir, 'eval', 'metrics.json'))).toBe(true);
  });

  it('shows the folders the environment names in run.readOnly, read-only', async () => {
    const data = tempDir('researcher-dataset-');
    writeFileSync(path.join(data, 'train.jsonl'), 'DATASET-ROW\n');
    const req = request(`cat ${data}/train.jsonl; echo x > ${data}/train.jsonl || echo dataset-read-only`, { readOnly: [data] });
    await sandbox.run(req);
    expect(log(req)).toContain('DATASET-ROW');
    expect(log(req)).toContain('dataset-read-only');
    expect(readFileSync(path.join(data, 'train.jsonl'), 'utf8')).toBe('DATASET-ROW\n');
  });

  it("runs the same Python as the researcher's shell, even when it lives outside /usr (pyenv, /opt)", async () => {
    const host = execFileSync('python3', ['-c', 'import sys, os; print(os.path.realpath(sys.executable)); print(sys.version)'], {
      encoding: 'utf8',
    });
    const req = request('python3 -c "import sys, os; print(os.path.realpath(sys.executable)); print(sys.version)"');
    await sandbox.run(req);
    expect(log(req)).toBe(host);
  });

  it('takes a time limit of days without its timer firing at once', async () => {
    const req = request('sleep 1; echo finished', {
      step: { command: 'sleep 1; echo finished', timeout: 30 * 24 * 3_600_000, env: {}, passEnv: [] },
    });
    const result = await sandbox.run(req);
    expect(result.timedOut).toBe(false);
    expect(result.exitCode).toBe(0);
    expect(log(req)).toContain('finished');
  });
});
