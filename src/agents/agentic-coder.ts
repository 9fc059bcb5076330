/**
 * The agentic coder: a model that works on the idea's tree in turns, with tools, until it
 * submits — list_files, read_file, search, apply_edit (applied at once; a failure comes back with
 * the applier's exact message), run_smoke (the environment's smoke step on the tree as it is),
 * submit. Over tool calling on any bundled protocol (OpenAI chat completions and responses,
 * Anthropic messages: src/models/), each turn recorded through the run's ledger (./llm/converse.ts),
 * so --max-cost holds and `researcher export` shows the whole conversation.
 *
 * It has a turn budget and a token budget (input and output tokens of all its turns). When one
 * runs out, a tree with a change is submitted as it is; an unchanged tree fails with the reason.
 * The change leaves through the same change guard as any coder's.
 */
import { z } from 'zod';
import type { AgentResult, Coder, CodingOutcome, CodingTask } from '../core/interfaces.ts';
import { addUsage, type Edit, ZERO_USAGE, type Usage } from '../core/types.ts';
import type { ConversationItem, ToolCall, ToolModel, ToolSpec } from '../models/model.ts';
import { EditParseError, parseEditText } from '../patch/edit-text.ts';
import { compileRules } from '../patch/guard.ts';
import { parseUnifiedDiff } from '../patch/unified-diff.ts';
import { failuresBrief } from './coding-brief.ts';
import { CommitFiles, codeSection, parentCommit } from './llm/context.ts';
import { CODER_PLACEHOLDERS, coderValues } from './llm/coder.ts';
import { converseTurn } from './llm/converse.ts';
import { renderTemplate } from './llm/template.ts';
import { listFiles, readFile, searchFiles, ToolFailure } from './tree-tools.ts';

/** Placeholders the agentic coder's prompt templates may use (the one-shot coder's, plus the tool limits). */
export const AGENT_CODER_PLACEHOLDERS = [...CODER_PLACEHOLDERS, 'maxTurns'] as const;

export interface AgenticCoderOptions {
  prompts: { system: string; user: string };
  /** How apply_edit's edits are written (agents/prompts/edit-*.md); both forms are accepted. */
  editFormat: string;
  maxTurns: number;
  /** Input and output tokens of all turns together. */
  maxTokens: number;
  /** Tokens of code in the prompt, for a template that uses {{code}}. */
  contextTokens: number;
  diffLines: number;
}

const Args = {
  list_files: z.object({ path: z.string().optional() }),
  read_file: z.object({ path: z.string().min(1), startLine: z.number().int().min(1).optional(), endLine: z.number().int().min(1).optional() }),
  search: z.object({ pattern: z.string().min(1), path: z.string().optional(), ignoreCase: z.boolean().optional() }),
  apply_edit: z.object({ edit: z.string().min(1) }),
  run_smoke: z.object({}),
  submit: z.object({ summary: z.string() }),
};
type ToolName = keyof typeof Args;

const DESCRIPTIONS: Record<ToolName, string> = {
  list_files: 'List the files of the code (recursively), with their sizes. `path`: a folder relative to the code folder (default: all of it).',
  read_file: 'Read a file of the code with line numbers; `startLine`/`endLine` (1-based, inclusive) read part of a long file.',
  search: 'Search the code for a JavaScript regular expression, line by line; `path` narrows it to a folder or file. Returns path:line: text.',
  apply_edit:
    'Apply an edit to the code at once: search/replace blocks or a unified diff, in the format the instructions give. All of it applies or none of it; a failure says which block or hunk and what the file really says there.',
  run_smoke: "Run the environment's smoke step (a short run of the code) on the code as it is now and read the end of its log.",
  submit: 'Hand in the code as it is now, with a short summary of the change. Call it once the idea is implemented.',
};

export const AGENT_TOOLS: ToolSpec[] = (Object.keys(Args) as ToolName[]).map((name) => {
  const { $schema: _, ...parameters } = z.toJSONSchema(Args[name]) as Record<string, unknown>;
  return { name, description: DESCRIPTIONS[name], parameters };
});

/** How one tool call went: the text for the model, the edit it applied, and whether the session ends with it. */
type ToolOutcome = { text: string; error?: boolean; applied?: Edit; end?: CodingOutcome };

export class AgenticCoder implements Coder {
  readonly name: string;
  private readonly files = new CommitFiles();

  constructor(
    private readonly model: ToolModel,
    private readonly options: AgenticCoderOptions,
    name = 'agent',
  ) {
    this.name = name;
  }

  async code(task: CodingTask): Promise<AgentResult<CodingOutcome>> {
    const { context, session } = task;
    const { maxTurns, maxTokens } = this.options;
    const { system, user } = await this.prompt(task);
    const items: ConversationItem[] = [{ role: 'user', content: user }];
    let usage: Usage = ZERO_USAGE;
    let spentTokens = 0;
    let turns = 0;
    // The last edit that applied, kept in the idea's record (the tree holds all of them).
    let lastEdit: Edit | null = null;
    const finish = async (why: string): Promise<AgentResult<CodingOutcome>> => {
      // The budget ran out: a change in the tree is handed in as it is (the guard still checks it).
      if ((await session.changedPaths()).length > 0) return { value: { ok: true, edit: lastEdit }, usage };
      return { value: { ok: false, reason: 'patch-failed', message: `the agentic coder ${why} without changing the code` }, usage };
    };

    while (turns < maxTurns) {
      // No model spend on an idea the sweep is about to stop (Ctrl-C, --max-hours).
      context.signal?.throwIfAborted();
      if (spentTokens >= maxTokens) return finish(`used its token budget (${spentTokens} of ${maxTokens} tokens, ${turns} turns)`);
      turns += 1;
      const reply = await converseTurn(this.model, 'coder', context, { system, items, tools: AGENT_TOOLS, signal: context.signal });
      usage = addUsage(usage, reply.usage);
      spentTokens += reply.usage.inputTokens + reply.usage.outputTokens;
      items.push({ role: 'assistant', content: reply.text, toolCalls: reply.toolCalls });
      if (reply.toolCalls.length === 0) {
        const cut = reply.finishReason === 'length' ? 'Your reply was cut off at the output limit. ' : '';
        items.push({ role: 'user', content: `${cut}Work through the tools: change the code with apply_edit, then call submit.` });
        continue;
      }
      let ended: CodingOutcome | null = null;
      for (const call of reply.toolCalls) {
        // Every call gets its result (the protocols insist), even those after a submit or a refusal.
        const outcome: ToolOutcome = ended
          ? { text: 'not run: the session has ended', error: true }
          : await this.run(call, task).catch((error: unknown) => {
              if (error instanceof ToolFailure) return { text: error.message, error: true };
              throw error;
            });
        items.push({ role: 'tool', callId: call.id, name: call.name, content: outcome.text, isError: outcome.error });
        if (outcome.applied) lastEdit = outcome.applied;
        ended ??= outcome.end ?? null;
      }
      if (ended) return { value: ended.ok ? { ok: true, edit: lastEdit } : ended, usage };
    }
    return finish(`used its ${maxTurns} turns`);
  }

  private async run(call: ToolCall, task: CodingTask): Promise<ToolOutcome> {
    const { session } = task;
    if (!(call.name in Args)) throw new ToolFailure(`there is no tool "${call.name}"; the tools are ${Object.keys(Args).join(', ')}`);
    const name = call.name as ToolName;
    let raw: unknown;
    try {
      raw = call.arguments.trim() === '' ? {} : JSON.parse(call.arguments);
    } catch (error) {
      throw new ToolFailure(`the arguments are not valid JSON (${(error as Error).message}); call ${name} again with a JSON object`);
    }
    const parsed = Args[name].safeParse(raw);
    if (!parsed.success) throw new ToolFailure(`bad arguments for ${name}: ${z.prettifyError(parsed.error).split('\n').join(' ')}`);
    const args = parsed.data as Record<string, unknown>;
    switch (name) {
      case 'list_files':
        return { text: listFiles(session.dir, args.path as string | undefined) };
      case 'read_file':
        return { text: readFile(session.dir, args.path as string, args.startLine as number | undefined, args.endLine as number | undefined) };
      case 'search':
        return { text: searchFiles(session.dir, args.pattern as string, args.path as string | undefined, args.ignoreCase === true) };
      case 'apply_edit':
        return this.applyEdit(args.edit as string, task);
      case 'run_smoke': {
        const smoke = session.smoke ? await session.smoke() : null;
        if (!smoke) return { text: 'no smoke step declared: the environment has no smoke: step, so check the change by reading it' };
        const log = `\nThe end of its log:\n${smoke.logTail.trimEnd() || '(empty)'}`;
        if (smoke.ok) return { text: `the smoke step passed${log}` };
        return { text: `the smoke step failed: ${smoke.message}${smoke.timedOut ? ' (timed out)' : ''}${log}`, error: true };
      }
      case 'submit': {
        if ((await session.changedPaths()).length === 0) {
          return { text: 'nothing to submit: the code is unchanged. Implement the idea with apply_edit first.', error: true };
        }
        return { text: 'submitted', end: { ok: true, edit: null } };
      }
    }
  }

  private async applyEdit(text: string, task: CodingTask): Promise<ToolOutcome> {
    let edit;
    try {
      edit = parseEditText(text);
    } catch (error) {
      if (error instanceof EditParseError) throw new ToolFailure(`the edit could not be read: ${error.message}`);
      throw error;
    }
    // Said at once, so the agent can change course; the change guard would refuse it at the end anyway.
    const { isEditable, isProtected } = compileRules(task.context.environment.config);
    const paths = edit.kind === 'search-replace' ? edit.blocks.map((b) => b.path.trim()) : parseUnifiedDiff(edit.diff).flatMap((f) => [f.oldPath, f.newPath]);
    const off = [...new Set(paths.filter((p): p is string => p !== null && (isProtected(p) || !isEditable(p))))];
    if (off.length) {
      const { editable } = task.context.environment.config;
      throw new ToolFailure(`not applied: ${off.join(', ')} may not be changed (the editable files are ${editable.join(', ')}); nothing was changed`);
    }
    const applied = await task.session.apply(edit);
    if (applied.ok) return { text: `applied: ${applied.changedFiles.join(', ')} changed`, applied: edit };
    // An edit that reaches out of the code (through a symlink, out of the folder) ends the session,
    // as it does for the one-shot coder: a coder that tries it once does not get to try again.
    if (applied.refused) return { text: `refused: ${applied.message}`, error: true, end: { ok: false, reason: 'refused', message: applied.message, edit } };
    throw new ToolFailure(`not applied, nothing was changed:\n${applied.message}`);
  }

  private async prompt(task: CodingTask): Promise<{ system: ReturnType<typeof renderTemplate>; user: ReturnType<typeof renderTemplate> }> {
    const { idea, context } = task;
    const { prompts } = this.options;
    const wantsCode = /\{\{\s*code\s*\}\}/.test(prompts.system + prompts.user);
    const code = wantsCode ? (await codeSection(context, this.files, parentCommit(context), this.options.contextTokens)).text : '';
    const values: Record<(typeof AGENT_CODER_PLACEHOLDERS)[number], string> = {
      ...(await coderValues(idea, context, { ...this.options, code })),
      maxTurns: String(this.options.maxTurns),
    };
    const system = renderTemplate(prompts.system, values).map((part) => ({ ...part, cache: true }));
    const user = renderTemplate(prompts.user, values);
    // A debug round starts with what failed: the tree already holds that attempt.
    const failures = failuresBrief(task.failures);
    return { system, user: failures ? [{ text: failures }, ...user] : user };
  }
}
