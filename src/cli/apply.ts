/**
 * `researcher apply <run-dir> <idea-id>`: takes an idea home. Each idea of a run is a commit in
 * the run's own repository (runs/<id>/repo) whose parent is the commit of the idea it was built
 * on, so "the idea with its ancestors" is simply the commits from the run's base to the idea.
 *
 * - Into a repository that has the run's base commit (the environment's own repo, or a clone of
 *   it) those commits are fetched and a branch is pointed at the idea: the exact commits that were
 *   evaluated, titled with their ideas.
 * - Into any other repository (`--to`, `--onto`, or a folder inside a repository) the commits are
 *   replayed with `git am -3` in a temporary worktree, so the user's checkout is never touched.
 * - `--patch` writes the whole change as one patch to stdout, for a plain folder or review.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { ResearcherError, UsageError, WorkspaceError } from '../core/errors.ts';
import type { IdeaRecord } from '../core/types.ts';
import { loadEnvironment } from '../environment/load.ts';
import { summarizeRun } from '../report/run-summary.ts';
import { RunStore } from '../store/run-store.ts';
import { changeSinceBase, putOnBranch, repositoryHolding, runBaseCommit } from '../workspace/take-home.ts';
import { parseCommand } from './args.ts';
import { errorLine, formatNumber } from '../core/format.ts';

const HELP = `usage: researcher apply <run-dir> <idea-id|best> [--branch NAME] [--to REPO] [--onto REF] [--patch]

  Puts an idea's change, with the changes of the ideas it was built on, onto a new branch of the
  environment's git repository: one commit per idea, each titled with its idea, so \`git log\`
  shows what was tried. Your checkout and current branch are not touched.

  --branch NAME   the branch to create (default researcher/<run-id>/idea-<id>)
  --to REPO       apply to this git repository (or a folder inside one) instead of the
                  environment's code: a fresh clone, or your own repository holding the same code
  --onto REF      start the branch at REF (e.g. main) instead of the commit the run started from;
                  the commits are replayed there with \`git am -3\`
  --patch         print the whole change as one patch instead (apply it with \`git apply\`, which
                  also works in a folder that is not a git repository)`;

export async function applyCommand(args: string[]): Promise<number> {
  const parsed = parseCommand(
    args,
    { branch: { type: 'string' }, to: { type: 'string' }, onto: { type: 'string' }, patch: { type: 'boolean' } },
    HELP,
  );
  if (!parsed) return 0;
  const { values, positionals } = parsed;
  if (positionals.length !== 2) throw new UsageError(`expected a run folder and an idea id\n${HELP}`);
  if (values.patch && (values.branch || values.to || values.onto)) {
    throw new UsageError('--patch prints the change to stdout; it does not take --branch, --to or --onto');
  }
  const runDir = path.resolve(positionals[0]);
  const store = RunStore.open(runDir);
  let idea: IdeaRecord;
  let runId: string;
  let environmentDir: string;
  let ancestors: IdeaRecord[];
  try {
    idea = pickIdea(store, positionals[1]);
    ancestors = ancestorsOf(store, idea);
    ({ runId, environmentDir } = store.config);
  } finally {
    store.close();
  }

  const runRepo = path.join(runDir, 'repo');
  if (!existsSync(path.join(runRepo, '.git')))
    throw new WorkspaceError(`${runRepo} is missing: the run's repository was deleted, so its ideas cannot be applied`);
  const base = await runBaseCommit(runRepo);
  const commit = idea.commit!;

  if (values.patch) {
    process.stdout.write(patchHeader(runId, idea, ancestors) + (await changeSinceBase(runRepo, base, commit)));
    return 0;
  }

  const target = values.to ? path.resolve(values.to) : environmentCode(environmentDir, runDir, idea.id);
  const { top, prefix } = await repositoryOf(target, Boolean(values.to), runDir, idea.id);
  const branch = values.branch ?? `researcher/${runId}/idea-${idea.id}`;
  const { start, log } = await putOnBranch({ runRepo, base, commit, top, prefix, branch, onto: values.onto });

  const count = log ? log.split('\n').length : 0;
  const where =
    start === base
      ? `on top of ${base.slice(0, 8)}, the commit the run started from`
      : `on top of ${values.onto ?? 'HEAD'} (${start.slice(0, 8)})`;
  console.log(`created branch ${branch} in ${top}: ${count} commit${count === 1 ? '' : 's'} ${where}`);
  for (const line of log.split('\n').filter(Boolean)) console.log(`  ${line}`);
  console.log(`next: git -C ${quote(top)} switch ${branch}   (or merge it, or \`git rebase <your-branch> ${branch}\`)`);
  return 0;
}

function pickIdea(store: RunStore, which: string): IdeaRecord {
  let id: number;
  if (which === 'best') {
    const best = summarizeRun(store).best;
    if (!best || best.id === 0)
      throw new UsageError(`no idea of ${store.runDir} has beaten the baseline yet; name an idea id instead of "best"`);
    id = best.id;
  } else {
    id = Number(which);
    if (!Number.isInteger(id) || id < 0)
      throw new UsageError(`expected an idea id (a whole number, as in \`researcher show\`) or "best", got "${which}"`);
  }
  if (id === 0) throw new UsageError('idea 0 is the baseline, the unmodified code: there is nothing to apply');
  const idea = store.idea(id);
  if (!idea) {
    const last = store.ideas().length - 1;
    throw new UsageError(`${store.runDir} has no idea ${id}${last > 0 ? ` (its ideas are 1 to ${last})` : ''}`);
  }
  if (!idea.commit) {
    throw new UsageError(
      `idea ${id} has no change to apply: it ${idea.status === 'failed' ? `failed (${idea.failureReason}) before its code was committed` : 'has not been coded yet'}`,
    );
  }
  if (idea.status === 'failed') console.error(`note: idea ${id} failed (${idea.failureReason}); applying its change anyway`);
  return idea;
}

/** The ideas `idea` was built on, nearest first. */
function ancestorsOf(store: RunStore, idea: IdeaRecord): IdeaRecord[] {
  const chain: IdeaRecord[] = [];
  let parentId = idea.parentId;
  while (parentId !== null && parentId !== 0 && chain.length < 10_000) {
    const parent = store.idea(parentId);
    if (!parent) break;
    chain.push(parent);
    parentId = parent.parentId;
  }
  return chain;
}

function patchHeader(runId: string, idea: IdeaRecord, ancestors: IdeaRecord[]): string {
  const lines = [`ai-researcher run ${runId}, idea ${idea.id}: ${oneLine(idea.title)}`];
  if (idea.reward !== null)
    lines.push(`reward ${formatNumber(idea.reward)}${idea.rewardCount > 1 ? ` (mean of ${idea.rewardCount} seeds)` : ''}`);
  if (ancestors.length)
    lines.push(`includes the ideas it was built on: ${ancestors.map((a) => `${a.id} (${oneLine(a.title)})`).join(', ')}`);
  lines.push('apply in the code folder with: git apply <this file>   (or: patch -p1 < <this file>)');
  // Text before the first "diff --git" line is ignored by git apply and patch.
  return `${lines.map((line) => `# ${line}`).join('\n')}\n\n`;
}

/** The environment's code folder, or a clear explanation of why there is no repository to use. */
function environmentCode(environmentDir: string, runDir: string, ideaId: number): string {
  const patchHint = `researcher apply ${quote(runDir)} ${ideaId} --patch > idea-${ideaId}.patch`;
  let environment;
  try {
    environment = loadEnvironment(environmentDir);
  } catch (error) {
    if (!(error instanceof ResearcherError)) throw error;
    throw new UsageError(
      `the run's environment (${environmentDir}) can no longer be read (${errorLine(error)}); pass --to <git repository> to apply there, or write the patch: ${patchHint}`,
    );
  }
  if (environment.code.kind === 'git') {
    throw new UsageError(
      `the environment's code comes from ${environment.code.url}, which is not a folder on this machine: clone it and pass --to <clone>, or write the patch: ${patchHint}`,
    );
  }
  return environment.code.path;
}

/** The repository holding `target` and the target's path inside it. */
async function repositoryOf(target: string, explicit: boolean, runDir: string, ideaId: number): Promise<{ top: string; prefix: string }> {
  if (!existsSync(target) || !statSync(target).isDirectory()) throw new UsageError(`${target} is not a folder`);
  const found = await repositoryHolding(target);
  if (!found) {
    const patchHint = `researcher apply ${quote(runDir)} ${ideaId} --patch > idea-${ideaId}.patch && (cd ${quote(target)} && git apply ${quote(path.resolve(`idea-${ideaId}.patch`))})`;
    if (explicit) {
      throw new UsageError(
        `${target} is not inside a git repository: pass --to a git repository (a clone, or \`git init\` it first), or apply the patch as files: ${patchHint}`,
      );
    }
    throw new UsageError(
      `the environment's code (${target}) is a plain folder, not a git repository, so there is no branch to put idea ${ideaId} on. ` +
        `Either change the files there: ${patchHint} — or put it on a branch of a git repository holding the same code: researcher apply ${quote(runDir)} ${ideaId} --to <repository>`,
    );
  }
  return found;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

function quote(text: string): string {
  return /^[\w./@:+-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}
