/**
 * Sweeps with a command as the coder (`coder: { provider: command }`) through the real CLI: the
 * thinker is a model on a loopback OpenAI-compatible server, the coder a real script that edits
 * files the way a coding-agent CLI does (reads the prompt, rewrites a file, adds one). The
 * script also reports what it saw (its environment, its git repository, its folder), plants a
 * symlink, writes outside the editable files, and hangs with a child process: the first two
 * are refused, the third killed at its time limit, process group and all.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { takeBack } from '../../src/agents/command-coder.ts';
import type { RunSummary } from '../../src/report/run-summary.ts';
import { FakeOpenAIServer } from '../fakes/openai-server.ts';
import { byRole, idea } from '../fakes/researcher-replies.ts';
import { CLEAN_ENV, type CliResult, researcher, showJson } from './cli-harness.ts';

/** A stand-in for `claude -p` / `codex exec`: what it does depends on the idea's title. */
const AGENT_SCRIPT = String.raw`
import json, os, re, subprocess, sys, time
prompt = sys.argv[1] if len(sys.argv) > 1 else sys.stdin.read()
x = re.search(r'Title: X to (\S+)', prompt).group(1)
git = lambda *args: subprocess.run(['git', *args], capture_output=True, text=True).stdout.strip()
seen = {'variables': sorted(os.environ), 'agentKey': os.environ.get('AGENT_KEY'), 'mode': os.environ.get('AGENT_MODE'),
        'commits': git('rev-list', '--count', 'HEAD'), 'status': git('status', '--porcelain'), 'cwd': os.getcwd(), 'prompt': prompt}
with open(os.path.join(os.environ['REPORT_DIR'], 'idea-' + x + '.json'), 'w') as f:
    json.dump(seen, f)
print('working on X =', x, flush=True)
if x == '5':
    child = subprocess.Popen(['sleep', '300'])
    open(os.path.join(os.environ['REPORT_DIR'], 'child.pid'), 'w').write(str(child.pid))
    time.sleep(300)
text = open('config.py').read()
open('config.py', 'w').write(text.replace('X = 0.5', 'X = ' + x))
if x == '3':
    os.makedirs('extra', exist_ok=True)
    open('extra/helper.py', 'w').write('Y = 1\n')
if x == '2':
    os.symlink('/etc/passwd', 'passwd.py')
if x == '4':
    open('notes.txt', 'w').write('outside the editable files\n')
`;

function agentFile(dir: string, prompt: 'stdin' | 'argument'): string {
  const script = path.join(dir, 'agent.py');
  writeFileSync(script, AGENT_SCRIPT);
  const command = prompt === 'stdin' ? `[python3, ${script}]` : `[python3, ${script}, '{{prompt}}']`;
  const file = path.join(dir, `command-${prompt}.yaml`);
  writeFileSync(
    file,
    [
      'name: scripted-agent',
      'thinker: { provider: openai-compatible, model: qwen-local }',
      `coder: { provider: command, command: ${command}, timeout: 4, passEnv: [AGENT_KEY, REPORT_DIR], env: { AGENT_MODE: scripted } }`,
      '',
    ].join('\n'),
  );
  return file;
}

function processGone(pid: number): boolean {
  try {
    const state = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0];
    return state === 'Z' || state === 'X'; // a zombie has died; only its parent has not reaped it yet
  } catch {
    return true;
  }
}

describe('a sweep with a command as the coder (prompt on stdin)', () => {
  let server: FakeOpenAIServer;
  let dir: string;
  let reports: string;
  let result: CliResult;
  let summary: RunSummary;
  const seen = (x: number) => JSON.parse(readFileSync(path.join(reports, `idea-${x}.json`), 'utf8'));

  beforeAll(async () => {
    server = await FakeOpenAIServer.start({ models: ['qwen-local'] });
    server.respond(byRole({ thinker: [idea(3), idea(2), idea(4), idea(5)], coder: [] }));
    dir = mkdtempSync(path.join(tmpdir(), 'command-coder-'));
    reports = path.join(dir, 'reports');
    mkdirSync(reports);
    result = await researcher(['run', 'test/fixtures/quadratic', '--agent', agentFile(dir, 'stdin'), '--ideas', '4', '--baseline-seeds', '1', '--confirm-seeds', '0', '--runs-dir', dir, '--run-id', 'r'], {
      ...CLEAN_ENV,
      OPENAI_BASE_URL: server.url,
      OPENAI_API_KEY: 'sk-researcher-secret',
      AGENT_KEY: 'sk-agent-own',
      REPORT_DIR: reports,
    });
    summary = await showJson(path.join(dir, 'r'));
  });

  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('takes the command’s edits (a changed file, a new file in a new folder) and runs them', () => {
    expect(result.code, result.stderr).toBe(0);
    const first = summary.ideas[1];
    expect([first.status, first.reward]).toEqual(['succeeded', 10]);
    expect(first.diff).toContain('+X = 3');
    expect(first.diff).toContain('+++ b/extra/helper.py');
  });

  it('refuses a symlink the command made, and a file outside the editable globs', () => {
    expect(summary.ideas.slice(2, 4).map((i) => [i.status, i.failureReason])).toEqual([
      ['failed', 'refused'],
      ['failed', 'refused'],
    ]);
    expect(summary.ideas[2].error).toBe('refused: the coder command made a symlink at passwd.py; links are never taken from a coder');
    expect(summary.ideas[3].error).toMatch(/^refused: .*notes\.txt/);
  });

  it('kills a command that hangs at its time limit, its children with it', () => {
    const hung = summary.ideas[4];
    expect([hung.status, hung.failureReason]).toEqual(['failed', 'agent-error']);
    expect(hung.error).toMatch(/^the coder command python3 passed its time limit of 4 s and was killed; the end of its output:\nworking on X = 5/);
    const child = Number(readFileSync(path.join(reports, 'child.pid'), 'utf8'));
    expect(processGone(child)).toBe(true);
  });

  it('runs the command in a copy with a git repository of its own, with only the environment it is given', () => {
    const first = seen(3);
    expect(first.commits).toBe('1');
    expect(first.status).toBe(''); // the copy is committed as it was handed over
    expect(first.cwd.startsWith(path.join(tmpdir(), 'researcher-coder-'))).toBe(true);
    expect(existsSync(first.cwd)).toBe(false); // and removed afterwards
    expect(first.agentKey).toBe('sk-agent-own');
    expect(first.mode).toBe('scripted');
    expect(first.variables).not.toContain('OPENAI_API_KEY');
    expect(first.variables).not.toContain('OPENAI_BASE_URL');
    // A pyenv shim in front of python3 adds its own PYENV_* variables before the script starts.
    for (const name of first.variables.filter((n: string) => !/^_?PYENV_/.test(n))) expect(['PATH', 'HOME', 'USER', 'LOGNAME', 'LANG', 'LC_ALL', 'TMPDIR', 'TERM', 'AGENT_KEY', 'REPORT_DIR', 'AGENT_MODE', 'PWD', 'SHLVL', '_', 'LC_CTYPE']).toContain(name);
    expect(first.prompt).toContain('Title: X to 3');
    expect(first.prompt).toContain('Files you may edit: *.py');
  });
});

describe('a command coder given the prompt as an argument', () => {
  it('puts the prompt where {{prompt}} stands', async () => {
    const server = await FakeOpenAIServer.start({ models: ['qwen-local'] });
    server.respond(byRole({ thinker: [idea(3)], coder: [] }));
    const dir = mkdtempSync(path.join(tmpdir(), 'command-coder-arg-'));
    try {
      const reports = path.join(dir, 'reports');
      mkdirSync(reports);
      const result = await researcher(['run', 'test/fixtures/quadratic', '--agent', agentFile(dir, 'argument'), '--ideas', '1', '--baseline-seeds', '1', '--confirm-seeds', '0', '--runs-dir', dir, '--run-id', 'r'], {
        ...CLEAN_ENV,
        OPENAI_BASE_URL: server.url,
        REPORT_DIR: reports,
      });
      expect(result.code, result.stderr).toBe(0);
      const summary = await showJson(path.join(dir, 'r'));
      expect([summary.ideas[1].status, summary.ideas[1].reward]).toEqual(['succeeded', 10]);
      expect(JSON.parse(readFileSync(path.join(reports, 'idea-3.json'), 'utf8')).prompt).toContain('Title: X to 3');
    } finally {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('taking a command’s change back', () => {
  it('writes changed and new files, deletes removed ones, and refuses links before writing anything', () => {
    const root = mkdtempSync(path.join(tmpdir(), 'take-back-'));
    try {
      const tree = path.join(root, 'tree');
      const copy = path.join(root, 'copy');
      for (const at of [tree, copy]) {
        mkdirSync(path.join(at, 'pkg'), { recursive: true });
        writeFileSync(path.join(at, 'a.py'), 'a\n');
        writeFileSync(path.join(at, 'gone.py'), 'gone\n');
        writeFileSync(path.join(at, 'pkg', 'b.py'), 'b\n');
      }
      const before = new Map([
        ['a.py', { kind: 'file' as const, size: 2, mode: 0o100644 }],
        ['gone.py', { kind: 'file' as const, size: 5, mode: 0o100644 }],
        ['pkg/b.py', { kind: 'file' as const, size: 2, mode: 0o100644 }],
      ]);
      writeFileSync(path.join(copy, 'a.py'), 'changed\n');
      rmSync(path.join(copy, 'gone.py'));
      writeFileSync(path.join(copy, 'pkg', 'new.py'), 'new\n');
      symlinkSync('/etc/passwd', path.join(copy, 'pkg', 'link.py'));
      expect(takeBack(copy, tree, before)).toEqual({ ok: false, message: 'the coder command made a symlink at pkg/link.py; links are never taken from a coder' });
      expect(readFileSync(path.join(tree, 'a.py'), 'utf8')).toBe('a\n'); // nothing was written
      rmSync(path.join(copy, 'pkg', 'link.py'));
      expect(takeBack(copy, tree, before)).toEqual({ ok: true });
      expect(readFileSync(path.join(tree, 'a.py'), 'utf8')).toBe('changed\n');
      expect(readFileSync(path.join(tree, 'pkg', 'new.py'), 'utf8')).toBe('new\n');
      expect(existsSync(path.join(tree, 'gone.py'))).toBe(false);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
