/**
 * The researcher loop: propose → code → commit → run → score → record, for as many ideas as the
 * budget allows, with up to `parallel` evaluations at once.
 *
 * The scheduler is pipelined: while evaluations run, the thinker and coder already prepare the
 * next ideas, so a free slot gets its next idea at once. What to try next is the search
 * strategy's decision; when is the scheduler's.
 *
 * Everything is recorded in the store as it happens. Stopping (Ctrl-C) leaves unfinished ideas in
 * flight, and `resume` re-runs exactly those.
 */
import path from 'node:path';
import { mkdirSync } from 'node:fs';
import { applyEdit } from '../patch/apply.ts';
import { refusalReason } from '../patch/guard.ts';
import { scoreRun } from '../reward/evaluate.ts';
import type { GpuPool } from '../sandbox/gpu-pool.ts';
import { bestFinished, type Proposal, type SearchStrategy, type SearchView } from '../search/strategy.ts';
import { seedDir, writeIdeaFiles } from '../store/idea-files.ts';
import type { RunStore } from '../store/run-store.ts';
import type { Environment } from '../environment/load.ts';
import { BaselineFailed, BudgetExceeded, ModelError, ResearcherError, describeError } from './errors.ts';
import type { ApplyFeedback, Coder, ResearchContext, Sandbox, SandboxHandle, SandboxRequest, Thinker, Workspace } from './interfaces.ts';
import type { ProgressReporter } from './progress.ts';
import { mixSeed, seededRandom } from './random.ts';
import type { RunConfig } from './run-config.ts';
import { Edit, type Failure, type IdeaDraft, type IdeaRecord } from './types.ts';

export interface SweepDependencies {
  store: RunStore;
  environment: Environment;
  workspace: Workspace;
  sandbox: Sandbox;
  thinker: Thinker;
  coder: Coder;
  strategy: SearchStrategy;
  gpuPool: GpuPool;
  /** The evaluator frozen when the run was created. */
  evaluatorDir?: string;
  progress: ProgressReporter;
  /** Aborted on Ctrl-C: no new idea starts, running ones are stopped and left for `resume`. */
  signal: AbortSignal;
}

export interface SweepSummary {
  stoppedBy: 'budget' | 'interrupted' | 'max-hours' | 'max-cost' | 'no-more-ideas';
  ideas: IdeaRecord[];
  best: IdeaRecord | undefined;
}

const BASELINE: IdeaDraft = {
  title: 'baseline',
  hypothesis: 'The unmodified code, to measure what every idea is compared with.',
  plan: '',
  expectedEffect: '',
};

/** A stop reason for the fatal errors that end the sweep instead of failing one idea. */
function isFatal(error: unknown): boolean {
  return error instanceof ModelError || (error instanceof ResearcherError && error.name === 'ConfigError');
}

export class Sweep {
  private readonly config: RunConfig;
  private readonly runDir: string;
  private readonly tasks = new Set<Promise<void>>();
  /** Ideas being coded or waiting for a slot or running. */
  private readonly inFlight = new Set<number>();
  private slotsFree: number;
  private readonly slotWaiters: (() => void)[] = [];
  private fatal: unknown = null;
  /** An agent found that its next model call would pass --max-cost. */
  private costStop = false;
  private readonly startedAt = Date.now();
  private readonly activeMsBefore: number;

  constructor(private readonly deps: SweepDependencies) {
    this.config = deps.store.config;
    this.runDir = deps.store.runDir;
    const perRun = deps.environment.config.run.resources.gpus;
    this.slotsFree = Math.max(1, Math.min(this.config.parallel, deps.gpuPool.capacity(perRun)));
    this.activeMsBefore = deps.store.getMeta<number>('activeMs') ?? 0;
    const saved = deps.store.getMeta('searchState');
    if (saved !== undefined) deps.strategy.restoreState(saved);
  }

  async run(): Promise<SweepSummary> {
    const { store, workspace, progress, signal } = this.deps;
    await this.recoverInterrupted();

    if (!store.idea(0)) {
      store.insertIdea(BASELINE, null, {}, 0);
      store.setIdeaCode(0, { edit: null, diff: '', commit: workspace.baseCommit });
    }
    if (!isFinished(store.idea(0)!)) {
      progress.report({ type: 'baseline-started', seeds: this.config.baselineSeeds });
      await this.evaluate(store.idea(0)!, this.config.baselineSeeds);
      if (signal.aborted) return this.summary('interrupted');
    }
    const baseline = store.idea(0)!;
    if (baseline.status === 'failed') {
      const log = path.join(seedDir(this.runDir, 0, 0), 'run.log');
      throw new BaselineFailed(
        `the baseline (the unmodified code) failed: ${baseline.error} — fix the environment first (\`researcher env check\`); log: ${path.relative(process.cwd(), log)}`,
      );
    }

    // Ideas a previous process left unfinished go first, in order.
    for (const idea of store.ideas()) {
      if (idea.id !== 0 && !isFinished(idea)) this.spawn(idea.id, () => this.process(idea));
    }

    let stoppedBy: SweepSummary['stoppedBy'] = 'budget';
    for (;;) {
      if (this.fatal) break;
      if (signal.aborted) {
        stoppedBy = 'interrupted';
        break;
      }
      const limit = this.limitReached();
      if (limit) {
        stoppedBy = limit;
        if (limit !== 'budget') progress.report({ type: 'stopping', reason: limit });
        break;
      }
      // Keep at most `parallel` ideas prepared ahead of the running ones.
      if (this.inFlight.size < 2 * this.config.parallel) {
        const proposal = this.deps.strategy.next(this.view());
        if (proposal) {
          this.startIdea(proposal);
          continue;
        }
        if (this.inFlight.size === 0) {
          stoppedBy = 'no-more-ideas';
          break;
        }
      }
      await Promise.race(this.tasks);
    }
    await Promise.allSettled(this.tasks);
    this.saveActiveTime();
    if (this.fatal) throw this.fatal;
    return this.summary(signal.aborted ? 'interrupted' : stoppedBy);
  }

  // ─── budget ─────────────────────────────────────────────────────────────────────────────

  private ideasStarted(): number {
    return this.deps.store.ideas().length - 1; // the baseline does not count
  }

  private limitReached(): SweepSummary['stoppedBy'] | null {
    const { maxHours, maxCostUsd } = this.config;
    if (maxHours !== null && this.activeMs() >= maxHours * 3_600_000) return 'max-hours';
    if (this.costStop || (maxCostUsd !== null && this.deps.store.usage().costUsd >= maxCostUsd)) return 'max-cost';
    if (this.ideasStarted() >= this.config.ideas) return 'budget';
    return null;
  }

  private activeMs(): number {
    return this.activeMsBefore + (Date.now() - this.startedAt);
  }

  private saveActiveTime(): void {
    this.deps.store.setMeta('activeMs', this.activeMs());
  }

  private view(): SearchView {
    return {
      history: this.deps.store.ideas(),
      inFlight: this.inFlight.size,
      remaining: this.config.ideas - this.ideasStarted(),
      goal: this.deps.environment.config.reward.goal,
      random: seededRandom(mixSeed(this.config.randomSeed, this.ideasStarted(), 0x5ea7c4)),
    };
  }

  // ─── one idea ───────────────────────────────────────────────────────────────────────────

  private spawn(ideaId: number, work: () => Promise<void>): void {
    this.inFlight.add(ideaId);
    const task = work()
      .catch((error) => {
        if (error instanceof BudgetExceeded) this.costStop = true; // the idea stays unfinished, for a resume with more budget
        else if (isFatal(error)) this.fatal ??= error;
        else if (this.deps.signal.aborted) return; // stopped mid-way: the idea stays in flight for resume
        else this.deps.store.failIdea(ideaId, { reason: 'infrastructure', message: describeError(error) });
      })
      .finally(() => {
        this.inFlight.delete(ideaId);
        this.tasks.delete(task);
      });
    this.tasks.add(task);
  }

  /** Records a new idea for the proposal right away (so it counts against the budget) and starts it. */
  private startIdea(proposal: Proposal): void {
    const { store, strategy } = this.deps;
    const placeholder: IdeaDraft = { title: '(being proposed)', hypothesis: '', plan: '', expectedEffect: '' };
    const id = store.insertIdea(placeholder, proposal.parentId, { ...proposal.meta, instruction: proposal.instruction, proposing: true });
    strategy.started?.(store.idea(id)!);
    this.spawn(id, async () => {
      const draft = await this.propose(id, proposal);
      if (!draft) return;
      await this.process(store.idea(id)!);
    });
  }

  private async propose(id: number, proposal: Proposal): Promise<IdeaDraft | null> {
    const { store, thinker, progress } = this.deps;
    const context = await this.context(id, proposal.parentId, proposal.instruction);
    try {
      const { value } = await thinker.propose(context);
      store.db
        .prepare('UPDATE ideas SET title = ?, hypothesis = ?, plan = ?, expected_effect = ? WHERE id = ?')
        .run(value.title, value.hypothesis, value.plan, value.expectedEffect, id);
      const meta = { ...store.idea(id)!.meta };
      delete meta.proposing;
      store.db.prepare('UPDATE ideas SET meta = ? WHERE id = ?').run(JSON.stringify(meta), id);
      progress.report({ type: 'idea-proposed', idea: store.idea(id)! });
      return value;
    } catch (error) {
      if (isFatal(error) || error instanceof BudgetExceeded || this.deps.signal.aborted) throw error;
      this.finishFailed(id, { reason: 'agent-error', message: `the thinker failed: ${describeError(error)}` });
      return null;
    }
  }

  /** Codes (when needed) and evaluates an idea that is recorded in the store. */
  private async process(idea: IdeaRecord): Promise<void> {
    const { store } = this.deps;
    if (idea.meta.proposing) {
      // Killed while the thinker was still working: propose it again.
      const draft = await this.propose(idea.id, { parentId: idea.parentId, instruction: idea.meta.instruction as string | undefined });
      if (!draft) return;
      idea = store.idea(idea.id)!;
    }
    let worktree: string | null = null;
    if (idea.status === 'proposed') {
      worktree = await this.code(idea);
      if (!worktree) return;
      idea = store.idea(idea.id)!;
    }
    await this.evaluate(idea, this.config.seeds, worktree ?? undefined);
  }

  /** Turns the idea into a commit. Returns the worktree holding it, or null when the idea failed. */
  private async code(idea: IdeaRecord): Promise<string | null> {
    const { store, workspace, coder, environment, progress } = this.deps;
    const parent = idea.parentId === null ? null : store.idea(idea.parentId)!;
    const parentCommit = parent?.commit ?? workspace.baseCommit;
    const dir = await workspace.checkout(idea.id, parentCommit);
    const context = await this.context(idea.id, idea.parentId, idea.meta.instruction as string | undefined);
    const draft: IdeaDraft = { title: idea.title, hypothesis: idea.hypothesis, plan: idea.plan, expectedEffect: idea.expectedEffect };
    const feedback: ApplyFeedback[] = [];
    const rules = { editable: environment.config.editable, protected: environment.config.protected };

    for (let round = 0; round <= this.config.repairRounds; round++) {
      let edit: Edit;
      try {
        edit = Edit.parse((await coder.implement(draft, context, feedback)).value);
      } catch (error) {
        if (isFatal(error) || error instanceof BudgetExceeded || this.deps.signal.aborted) throw error;
        await workspace.release(dir);
        this.finishFailed(idea.id, { reason: 'agent-error', message: `the coder failed: ${describeError(error)}` });
        return null;
      }
      if (round > 0) await workspace.reset(dir);
      const applied = await applyEdit(edit, dir);
      if (!applied.ok) {
        feedback.push({ edit, message: applied.message });
        continue;
      }
      const changes = await workspace.pendingChanges(dir);
      if (changes.length === 0) {
        feedback.push({ edit, message: 'the edit applied but changed nothing' });
        continue;
      }
      const refusal = refusalReason(changes, rules);
      if (refusal) {
        await workspace.release(dir);
        this.finishFailed(idea.id, { reason: 'refused', message: `refused: ${refusal}` }, edit);
        return null;
      }
      const committed = await workspace.commit(dir, idea.id, commitMessage(idea));
      store.setIdeaCode(idea.id, { edit, diff: committed.diff, commit: committed.commit });
      const coded = store.idea(idea.id)!;
      writeIdeaFiles(this.runDir, coded);
      progress.report({ type: 'idea-coded', idea: coded, changedFiles: committed.changedFiles });
      return dir;
    }
    await workspace.release(dir);
    const last = feedback[feedback.length - 1];
    this.finishFailed(
      idea.id,
      { reason: 'patch-failed', message: `the edit did not apply after ${feedback.length} attempt(s): ${last?.message ?? 'no edit'}` },
      last?.edit,
    );
    return null;
  }

  /** Runs and scores an idea under `seeds` seeds, then records its reward. */
  private async evaluate(idea: IdeaRecord, seeds: number, worktree?: string): Promise<void> {
    const { store, workspace, sandbox, environment, gpuPool, progress, signal } = this.deps;
    const { run } = environment.config;
    await this.acquireSlot();
    let gpus: string[] = [];
    let dir = worktree;
    try {
      gpus = await gpuPool.acquire(run.resources.gpus);
      dir ??= await workspace.checkout(idea.id, idea.commit!);
      store.setIdeaStatus(idea.id, 'running');
      const done = new Set(store.evaluations(idea.id).filter((e) => e.status !== 'running').map((e) => e.seed));
      for (let seed = 0; seed < seeds; seed++) {
        if (done.has(seed)) continue;
        if (signal.aborted) return;
        const folder = seedDir(this.runDir, idea.id, seed);
        const outputDir = path.join(folder, 'outputs');
        const logPath = path.join(folder, 'run.log');
        mkdirSync(outputDir, { recursive: true });
        const evaluationId = store.startEvaluation(idea.id, seed, sandbox.name, logPath, gpus);
        progress.report({ type: 'evaluation-started', ideaId: idea.id, seed, gpus });
        const request: SandboxRequest = {
          runId: this.config.runId,
          ideaId: idea.id,
          seed,
          kind: 'run',
          step: run,
          resources: run.resources,
          network: run.network,
          workDir: dir,
          outputDir,
          logPath,
          gpus,
          image: environment.config.image,
          signal,
          onStarted: (handle: SandboxHandle) => store.setEvaluationHandle(evaluationId, handle),
        };
        const result = await sandbox.run(request);
        if (result.interrupted || signal.aborted) return; // left in flight for resume
        const scored = await scoreRun({
          config: environment.config,
          sandbox,
          run: request,
          runResult: result,
          evaluatorDir: this.deps.evaluatorDir,
          evalDir: path.join(folder, 'eval'),
          signal,
        });
        if (!scored.ok && scored.failure.reason === 'interrupted') return;
        store.finishEvaluation(evaluationId, {
          reward: scored.ok ? scored.reward : null,
          failure: scored.ok ? null : scored.failure,
          exitCode: result.exitCode,
          timedOut: result.timedOut,
          oomKilled: result.oomKilled,
          durationMs: result.durationMs,
        });
        // A crash under one seed is a crash: do not spend more GPU time on it.
        if (!scored.ok && scored.failure.reason !== 'infrastructure') break;
      }
      const finished = store.finishIdea(idea.id);
      writeIdeaFiles(this.runDir, finished, store.evaluations(idea.id));
      this.afterFinish(finished);
    } finally {
      gpuPool.release(gpus);
      if (dir) await workspace.release(dir);
      this.releaseSlot();
    }
  }

  private finishFailed(ideaId: number, failure: Failure, edit?: Edit): void {
    const { store, progress } = this.deps;
    if (edit) store.db.prepare('UPDATE ideas SET edit = ? WHERE id = ?').run(JSON.stringify(edit), ideaId);
    store.failIdea(ideaId, failure);
    progress.report({ type: 'idea-failed-early', ideaId, failure });
    const idea = store.idea(ideaId)!;
    writeIdeaFiles(this.runDir, idea);
    this.afterFinish(idea);
  }

  private afterFinish(idea: IdeaRecord): void {
    const { store, strategy, progress } = this.deps;
    if (idea.id !== 0) strategy.observe?.(idea, this.view());
    store.setMeta('searchState', strategy.saveState());
    this.saveActiveTime();
    progress.report({ type: 'idea-finished', idea, best: bestFinished(store.ideas(), this.deps.environment.config.reward.goal) });
  }

  // ─── slots ──────────────────────────────────────────────────────────────────────────────

  private async acquireSlot(): Promise<void> {
    if (this.slotsFree > 0) {
      this.slotsFree--;
      return;
    }
    await new Promise<void>((resolve) => this.slotWaiters.push(resolve));
  }

  private releaseSlot(): void {
    const next = this.slotWaiters.shift();
    if (next) next();
    else this.slotsFree++;
  }

  // ─── context for agents ─────────────────────────────────────────────────────────────────

  private async context(ideaId: number, parentId: number | null, instruction?: string): Promise<ResearchContext> {
    const { store, workspace, environment, signal } = this.deps;
    const parent = parentId === null ? null : (store.idea(parentId) ?? null);
    const parentCommit = parent?.commit ?? workspace.baseCommit;
    return {
      ideaId,
      environment,
      history: store.ideas().filter((idea) => idea.id !== ideaId),
      parent,
      instruction,
      readFile: (relativePath) => workspace.readFile(parentCommit, relativePath),
      readFileAt: (commit, relativePath) => workspace.readFile(commit, relativePath),
      listFiles: () => workspace.listFiles(parentCommit),
      random: seededRandom(mixSeed(this.config.randomSeed, ideaId)),
      signal,
      ledger: {
        cached: (cacheKey) => store.cachedResponse(cacheKey),
        record: (call) => store.recordModelCall({ ...call, ideaId }),
        spentUsd: () => store.usage().costUsd,
        maxCostUsd: this.config.maxCostUsd,
      },
    };
  }

  // ─── resume ─────────────────────────────────────────────────────────────────────────────

  /** Stops what a killed researcher left running and puts its unfinished ideas back in the queue. */
  private async recoverInterrupted(): Promise<void> {
    const { store, sandbox, workspace, progress } = this.deps;
    const running = store.runningEvaluations();
    const handles = running.map((e) => e.handle).filter((h) => h !== null);
    if (handles.length) await sandbox.reap(handles);
    await workspace.cleanup();
    const requeued: number[] = [];
    for (const idea of store.ideas()) {
      if (isFinished(idea)) continue;
      store.requeueIdea(idea.id);
      requeued.push(idea.id);
    }
    if (requeued.length) progress.report({ type: 'resumed', requeued });
  }

  private summary(stoppedBy: SweepSummary['stoppedBy']): SweepSummary {
    const ideas = this.deps.store.ideas();
    return { stoppedBy, ideas, best: bestFinished(ideas, this.deps.environment.config.reward.goal) };
  }
}

function isFinished(idea: IdeaRecord): boolean {
  return idea.status === 'succeeded' || idea.status === 'failed';
}

function commitMessage(idea: IdeaRecord): string {
  return `${idea.title}\n\n${idea.hypothesis}\n\nai-researcher idea ${idea.id}${idea.parentId !== null ? `, built on idea ${idea.parentId}` : ''}`;
}

