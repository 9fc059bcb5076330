/**
 * Prompt-prefix stability: a serial sweep with the LLM agent (agents/openai-compatible.yaml and
 * the real `openai` client) against a loopback server speaking OpenAI's chat-completions
 * protocol (test/fakes), on a copy of test/fixtures/quadratic whose run and evaluator are one
 * shell line each (the prompts are what is measured, not Python start-up). For every model call,
 * the share of the prompt's bytes that equals the previous prompt of the same role from its
 * start: what a provider's prompt cache can reuse. The server answers from a script (one new X
 * per idea).
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { main } from '../src/cli/main.ts';
import { FakeOpenAIServer } from '../test/fakes/openai-server.ts';
import { byRole, callsOf, idea, setX, type Role } from '../test/fakes/researcher-replies.ts';
import type { RecordedRequest } from '../test/fakes/scripted-server.ts';
import { benchDir, summarize, type Summary } from './stats.ts';

const REPO = path.resolve(import.meta.dirname, '..');

export interface PromptResult {
  ideas: number;
  /** Ideas skipped at the start (the prompt is still growing its history there). */
  warmup: number;
  roles: { role: Role; calls: number; share: Summary; meanPromptBytes: number }[];
  /** Cached share of input tokens as the server billed them. */
  cachedTokenShare: number;
}

/** The prompt as the provider sees it, in order: system, then each message. */
function promptText(request: RecordedRequest): string {
  const body = request.body as { messages: { role: string; content: string | { text: string }[] }[] };
  return body.messages
    .map((m) => `${m.role}\n${typeof m.content === 'string' ? m.content : m.content.map((b) => b.text).join('')}`)
    .join('\n');
}

function sharedPrefix(a: string, b: string): number {
  const max = Math.min(a.length, b.length);
  let i = 0;
  while (i < max && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  return i;
}

/** The quadratic fixture with its Python steps replaced by shell one-liners (same prompts, same X). */
function quickEnvironment(): string {
  const dir = path.join(benchDir('prompts-env'), 'quadratic');
  cpSync(path.join(REPO, 'test/fixtures/quadratic'), dir, { recursive: true });
  writeFileSync(path.join(dir, 'code', 'train.sh'), `sed -n 's/^X = //p' config.py > "$OUTPUT_DIR/x"\n`);
  writeFileSync(
    path.join(dir, 'evaluator', 'score.sh'),
    `awk '{ printf "{\\"score\\": %f}\\n", 10 - ($1 - 3) ^ 2 }' "$OUTPUT_DIR/x" > "$EVAL_DIR/metrics.json"\n`,
  );
  const yaml = path.join(dir, 'environment.yaml');
  writeFileSync(
    yaml,
    readFileSync(yaml, 'utf8')
      .replace('command: python3 train.py', 'command: sh train.sh')
      .replace('command: python3 score.py', 'command: sh score.sh'),
  );
  return dir;
}

export async function promptBench(options: { quick: boolean; log: (line: string) => void }): Promise<PromptResult> {
  const ideas = options.quick ? 6 : 50;
  const warmup = 3;
  const server = await FakeOpenAIServer.start({ apiKey: 'sk-local', models: ['qwen-local'] });
  // X values spread over (0.5, 8): every idea is new, all run.
  const xs = Array.from({ length: ideas }, (_, i) => Number((0.6 + (i * 7.3) / ideas).toFixed(3)));
  server.respond(byRole({ thinker: xs.map((x) => idea(x)), coder: xs.map((x) => setX(x)) }));
  const runsDir = mkdtempSync(path.join(os.tmpdir(), 'researcher-bench-prompts-'));
  const saved = { url: process.env.OPENAI_BASE_URL, key: process.env.OPENAI_API_KEY, log: console.log, error: console.error };
  process.env.OPENAI_BASE_URL = server.url;
  process.env.OPENAI_API_KEY = 'sk-local';
  console.log = () => {};
  console.error = () => {};
  let code: number;
  try {
    code = await main([
      'run',
      quickEnvironment(),
      '--agent',
      path.join(REPO, 'agents/openai-compatible.yaml'),
      '--ideas',
      String(ideas),
      '--runs-dir',
      runsDir,
      '--run-id',
      'prompts',
    ]);
  } finally {
    console.log = saved.log;
    console.error = saved.error;
    if (saved.url === undefined) delete process.env.OPENAI_BASE_URL;
    else process.env.OPENAI_BASE_URL = saved.url;
    if (saved.key === undefined) delete process.env.OPENAI_API_KEY;
    else process.env.OPENAI_API_KEY = saved.key;
    await server.close();
    rmSync(runsDir, { recursive: true, force: true });
  }
  if (code !== 0) throw new Error(`the prompt sweep exited with ${code}`);
  const roles = (['thinker', 'coder'] as Role[]).map((role) => {
    const prompts = callsOf(server.requests, role).map(promptText);
    const shares = prompts.slice(1).map((prompt, i) => sharedPrefix(prompts[i], prompt) / prompt.length);
    return {
      role,
      calls: prompts.length,
      share: summarize(shares.slice(warmup)),
      meanPromptBytes: prompts.reduce((sum, p) => sum + p.length, 0) / Math.max(1, prompts.length),
    };
  });
  const input = server.billed.reduce((sum, u) => sum + u.input, 0);
  const cached = server.billed.reduce((sum, u) => sum + u.cached, 0);
  options.log(`prompts: ${ideas} ideas, ${server.billed.length} model calls`);
  return { ideas, warmup, roles, cachedTokenShare: input ? cached / input : 0 };
}
