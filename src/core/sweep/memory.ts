/**
 * What a sweep remembers beyond its own ideas: the environment's lab notebook
 * (src/store/notebook.ts) and its own reflections (src/core/reflection.ts).
 *
 * - The notebook is read once, when the run's first sweep starts, and the text it saw is kept in
 *   the run (meta `notebook`: path, hash, text): every idea of the run — a resumed one too — sees
 *   the same notebook, which keeps the prompt's prefix cacheable and a resumed call answerable
 *   from the run's response cache. `--fresh` records that no notebook was read.
 * - Every `every` finished ideas (the agent file's `reflection.every`; 0, the default, is never)
 *   and once the sweep ends, the reflector reflects; each reflection is recorded, its summary is
 *   what the thinker sees from then on (unchanged until the next one), and it is written into the
 *   notebook. A reflection that fails (a garbage reply, a model outage, --max-cost) is recorded
 *   with the reason, said in one log line, and leaves the notebook as it was.
 */
import path from 'node:path';
import {
  bestKnownIn,
  NOTEBOOK_META,
  notebookHash,
  notebookPaths,
  readNotebook,
  updatedNotebook,
  writeNotebook,
} from '../../store/notebook.ts';
import { BudgetExceeded, describeError } from '../errors.ts';
import { isFinished } from '../ideas.ts';
import type { NotebookView, ResearchContext } from '../interfaces.ts';
import { type BestKnown, learnedText, type ReflectionKind, type ReflectionSettings, type Reflector } from '../reflection.ts';
import type { SweepParts } from './dependencies.ts';

/** What the run recorded about the notebook it started from. */
export interface NotebookSeen {
  /** notebooks/<environment>.md, relative to the runs folder. */
  path: string;
  /** The run was started with --fresh: the notebook was not read. */
  fresh: boolean;
  /** The text it saw, and its fingerprint; null when there was none (or it could not be read). */
  sha256: string | null;
  text: string | null;
  best: BestKnown | null;
  /** Why a notebook that exists was not used (a link, too large); absent otherwise. */
  message?: string;
}

export class SweepMemory {
  readonly seen: NotebookSeen;
  private readonly reflector: Reflector | undefined;
  private readonly settings: ReflectionSettings;
  private readonly runsDir: string;

  constructor(private readonly parts: Omit<SweepParts, 'memory'>) {
    const { deps, config } = parts;
    this.reflector = deps.reflector;
    this.settings = deps.reflection ?? { every: 0, notebookTokens: 0 };
    this.runsDir = path.dirname(deps.store.runDir);
    const recorded = deps.store.getMeta<NotebookSeen>(NOTEBOOK_META);
    this.seen = recorded ?? this.firstLook(config.fresh);
    if (!recorded) deps.store.setMeta(NOTEBOOK_META, this.seen);
  }

  /** Reads the notebook for a run's first sweep (or not, with --fresh). */
  private firstLook(fresh: boolean): NotebookSeen {
    const { deps } = this.parts;
    const name = deps.environment.config.name;
    const { relative } = notebookPaths(this.runsDir, name);
    const none = { path: relative, fresh, sha256: null, text: null, best: null };
    if (fresh) return none;
    const read = readNotebook(this.runsDir, name);
    if (!read.ok) {
      deps.progress.report({ type: 'log', message: `the lab notebook is not used: ${read.message}` });
      return { ...none, message: read.message };
    }
    if (read.text === null) return none;
    return { path: relative, fresh, sha256: notebookHash(read.text), text: read.text, best: bestKnownIn(read.text) };
  }

  /** The notebook as agents see it, or undefined when the run started without one. */
  view(): NotebookView | undefined {
    const { seen } = this;
    return seen.text === null || seen.sha256 === null
      ? undefined
      : { text: seen.text, path: seen.path, sha256: seen.sha256, best: seen.best };
  }

  /** The latest reflection that worked: what the thinker is shown as "what we have learned so far". */
  learned(): { text: string; reflectionId: number; sha256: string } | undefined {
    const latest = this.parts.deps.store
      .reflections()
      .filter((r) => r.ok && r.learned !== null)
      .at(-1);
    return latest ? { text: latest.learned!, reflectionId: latest.id, sha256: latest.learnedSha256! } : undefined;
  }

  private finishedIdeas(): number {
    return this.parts.record.history().filter((idea) => idea && idea.id !== 0 && isFinished(idea)).length;
  }

  /** A mid-sweep reflection is due: another `every` ideas finished since the last one (and the sweep's own end is not here yet). */
  due(): boolean {
    const { every } = this.settings;
    if (!this.reflector || every <= 0) return false;
    const finished = this.finishedIdeas();
    if (finished >= this.parts.config.ideas) return false; // the final reflection comes instead
    const done = this.parts.deps.store
      .reflections()
      .filter((r) => r.kind === 'periodic')
      .reduce((most, r) => Math.max(most, Math.floor(r.afterIdeas / every)), 0);
    return Math.floor(finished / every) > done;
  }

  /** Reflects, records the reflection and writes the notebook; never throws for an expected failure. */
  async reflect(kind: ReflectionKind): Promise<void> {
    const reflector = this.reflector;
    if (!reflector) return;
    const { deps, scheduler, config } = this.parts;
    const { store, environment, workspace, progress } = deps;
    const name = environment.config.name;
    const afterIdeas = this.finishedIdeas();
    const current = readNotebook(this.runsDir, name);
    const fail = (message: string) => {
      store.recordReflection({
        kind,
        afterIdeas,
        ok: false,
        reflection: null,
        learned: null,
        learnedSha256: null,
        notebookSha256: null,
        message,
        usage: null,
      });
      progress.report({ type: 'log', message: `${message}; the lab notebook is left as it was` });
    };
    if (!current.ok) return fail(`no reflection after ${afterIdeas} ideas: the lab notebook cannot be read (${current.message})`);

    let result;
    try {
      result = await reflector.reflect({
        kind,
        runId: config.runId,
        environment,
        history: this.parts.record.history(),
        afterIdeas,
        notebook: current.text,
        previous: this.learned()?.text ?? null,
        readFileAt: (commit, relativePath) => workspace.readFile(commit, relativePath),
        ledger: {
          cached: (cacheKey) => store.cachedResponse(cacheKey),
          record: (call) => {
            store.recordModelCall({ ...call, ideaId: null });
            scheduler.spend(call.usage.costUsd);
          },
          spentUsd: () => scheduler.spentUsd,
          maxCostUsd: config.maxCostUsd,
        },
        signal: deps.signal,
      });
    } catch (error) {
      const why = error instanceof BudgetExceeded ? error.message : describeError(error);
      return fail(`the reflection after ${afterIdeas} ideas failed: ${why}`);
    }

    const outcome = result.value;
    const learned = learnedText(outcome.reflection);
    const best = this.parts.record.best();
    const baseline = this.parts.record.idea(0);
    const text = updatedNotebook(current.text, {
      runId: config.runId,
      environmentName: name,
      kind,
      afterIdeas,
      ideas: config.ideas,
      at: new Date(),
      goal: environment.config.reward.goal,
      baseline:
        baseline?.reward != null ? { reward: baseline.reward, rewardStd: baseline.rewardStd, rewardCount: baseline.rewardCount } : null,
      best:
        best && best.id !== 0
          ? {
              run: config.runId,
              idea: best.id,
              title: best.title,
              reward: best.reward!,
              rewardStd: best.rewardStd,
              rewardCount: best.rewardCount,
              settings: outcome.bestSettings,
            }
          : null,
      reflection: outcome.reflection,
    });
    const written = writeNotebook(this.runsDir, name, text);
    store.recordReflection({
      kind,
      afterIdeas,
      ok: true,
      reflection: outcome.reflection,
      learned,
      learnedSha256: notebookHash(learned),
      notebookSha256: written.ok ? notebookHash(text) : null,
      message: written.ok ? null : `the lab notebook was not written: ${written.message}`,
      usage: result.usage,
    });
    const { relative } = notebookPaths(this.runsDir, name);
    progress.report({
      type: 'log',
      message: written.ok
        ? `reflected on ${afterIdeas} ideas; wrote ${relative}`
        : `reflected on ${afterIdeas} ideas; ${relative} was not written: ${written.message}`,
    });
  }
}

/** Writes into an idea's meta which notebook (path, hash) and which reflection (id, hash) its proposal saw. */
export function recordMemorySeen(meta: Record<string, unknown>, context: ResearchContext): void {
  if (context.notebook) meta.notebook = { path: context.notebook.path, sha256: context.notebook.sha256 };
  else delete meta.notebook;
  if (context.learned) meta.reflection = { id: context.learned.reflectionId, sha256: context.learned.sha256 };
  else delete meta.reflection;
}
