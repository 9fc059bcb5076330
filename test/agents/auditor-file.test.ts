/**
 * The auditor role in an agent file: optional, sharing `model:` like the other roles, with its own
 * prompt templates checked when the agent loads; and how its reply is read.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadAgentFile } from '../../src/agents/agent-file.ts';
import { createAgents } from '../../src/agents/index.ts';
import { AuditorReply } from '../../src/agents/llm/auditor.ts';
import { parseStructured } from '../../src/models/model.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'auditor-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function agentFile(name: string, yaml: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, yaml);
  return file;
}

const ENV = { OPENAI_API_KEY: 'sk-1' };

describe('the auditor in an agent file', () => {
  it('is absent unless asked for, and shares model: settings when it is', () => {
    const without = loadAgentFile(agentFile('plain.yaml', 'name: plain\nmodel: { provider: openai, model: gpt-x }\n'), ENV);
    expect(!without.offline && without.auditor).toBeNull();
    const withAuditor = loadAgentFile(agentFile('audited.yaml', 'name: audited\nmodel: { provider: openai, model: gpt-x }\nauditor: { model: gpt-y }\n'), ENV);
    if (withAuditor.offline) throw new Error('expected an LLM agent');
    expect(withAuditor.auditor).toMatchObject({ role: 'auditor', provider: 'openai', model: 'gpt-y', maxOutputTokens: 2000, keyVariable: 'OPENAI_API_KEY' });
    expect(withAuditor.auditor!.prompts.system).toContain('{{rules}}');
    expect(withAuditor.auditor!.prompts.user).toContain('{{diff}}');
  });

  it('refuses a template placeholder the auditor cannot fill, naming the file', async () => {
    writeFileSync(path.join(dir, 'my-auditor.md'), 'Review {{history}}');
    const file = agentFile('bad.yaml', 'name: bad\nmodel: { provider: openai, model: gpt-x }\nauditor: { prompts: { system: my-auditor.md, user: my-auditor.md } }\n');
    process.env.OPENAI_API_KEY = 'sk-1';
    try {
      await expect(createAgents(file)).rejects.toThrow(/auditor prompt my-auditor\.md: unknown placeholder \{\{history\}\}; the template can use: \{\{task\}\}/);
    } finally {
      delete process.env.OPENAI_API_KEY;
    }
  });
});

describe("the auditor's reply", () => {
  it('reads a verdict in any case, in a fence or amid prose', () => {
    expect(parseStructured('```json\n{"verdict": " Flagged ", "reason": "writes a+b"}\n```', AuditorReply)).toEqual({ verdict: 'flagged', reason: 'writes a+b' });
    expect(parseStructured('Here it is: {"verdict": "OK", "reason": "an RL change"} done', AuditorReply)).toEqual({ verdict: 'ok', reason: 'an RL change' });
  });

  it('refuses a reply without a verdict it knows or without a reason', () => {
    expect(() => parseStructured('Looks fine.', AuditorReply)).toThrow(/holds no JSON object/);
    expect(() => parseStructured('{"verdict": "probably", "reason": "hm"}', AuditorReply)).toThrow(/does not fit the schema/);
    expect(() => parseStructured('{"verdict": "ok", "reason": "  "}', AuditorReply)).toThrow(/does not fit the schema/);
  });
});
