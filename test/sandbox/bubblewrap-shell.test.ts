/**
 * The isolation as bash lines, for steps that start on another machine (Slurm nodes): run here
 * with bash, they give the same sandbox as the local one, and without bwrap on PATH they either
 * run the step plainly or, when isolation is required, refuse with the reason.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SANDBOX_PATHS, bubblewrapShellLines } from '../../src/sandbox/bubblewrap.ts';
import { bubblewrapTestsRun } from '../helpers/bubblewrap.ts';
import { tempDir } from '../helpers/sweep.ts';

function stage() {
  const dir = tempDir('researcher-shell-');
  const work = path.join(dir, 'work');
  const outputs = path.join(dir, 'outputs');
  mkdirSync(work);
  mkdirSync(outputs);
  const secret = path.join(dir, 'heldout_answers.json');
  writeFileSync(secret, 'SECRET-ANSWERS');
  const command = `cat ${secret} 2>&1 | head -1; echo "out=$OUTPUT_DIR"; id -u; echo ok > "$OUTPUT_DIR/done"`;
  const paths = {
    isolated: { OUTPUT_DIR: SANDBOX_PATHS.outputs, HOME: SANDBOX_PATHS.home },
    unisolated: { OUTPUT_DIR: outputs, HOME: dir },
  };
  const layout = {
    mounts: [
      { host: work, inside: SANDBOX_PATHS.code, writable: true },
      { host: outputs, inside: SANDBOX_PATHS.outputs, writable: true },
    ],
    chdir: SANDBOX_PATHS.code,
    network: false,
    gpus: false,
  };
  return { dir, outputs, command, paths, layout };
}

function runScript(lines: string[], pathVariable: string) {
  return spawnSync('/bin/bash', ['-c', lines.join('\n')], { encoding: 'utf8', env: { PATH: pathVariable } });
}

describe('bubblewrap as shell lines', () => {
  it.skipIf(!bubblewrapTestsRun('the bubblewrap shell-lines test'))('isolates the step where the machine has bwrap', () => {
    const { outputs, command, paths, layout } = stage();
    const result = runScript(bubblewrapShellLines(layout, command, { required: true, paths }), '/usr/local/bin:/usr/bin:/bin');
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).not.toContain('SECRET-ANSWERS');
    expect(result.stdout).toContain(`out=${SANDBOX_PATHS.outputs}`);
    expect(result.stdout).toContain('\n1000\n');
    expect(readFileSync(path.join(outputs, 'done'), 'utf8')).toBe('ok\n');
  });

  it('refuses, saying why, when isolation is required and the node has no bwrap', () => {
    const { command, paths, layout } = stage();
    const noBwrap = tempDir('researcher-nobwrap-');
    for (const tool of ['bash', 'cat', 'head', 'id', 'hostname']) spawnSync('ln', ['-s', `/usr/bin/${tool}`, path.join(noBwrap, tool)]);
    const result = runScript(bubblewrapShellLines(layout, command, { required: true, paths }), noBwrap);
    expect(result.status).toBe(126);
    expect(result.stderr).toMatch(/must run under bubblewrap, but bwrap is not on PATH/);
  });

  it('runs the step plainly, with its host paths, when isolation is only preferred', () => {
    const { outputs, command, paths, layout } = stage();
    const noBwrap = tempDir('researcher-nobwrap-');
    for (const tool of ['bash', 'cat', 'head', 'id', 'hostname']) spawnSync('ln', ['-s', `/usr/bin/${tool}`, path.join(noBwrap, tool)]);
    const result = runScript(bubblewrapShellLines(layout, command, { required: false, paths }), noBwrap);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain(`out=${outputs}`);
  });
});
