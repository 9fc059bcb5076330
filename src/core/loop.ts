/**
 * The researcher loop: propose → code → commit → run → score → record, for as many ideas as the
 * budget allows, with up to `parallel` evaluations at once.
 *
 * The scheduler is pipelined: while evaluations run, the thinker and coder already prepare the
 * next ideas (up to one ready idea per slot), so a free slot gets its next idea at once. What to
 * try next is the search strategy's decision; when is the scheduler's.
 *
 * Everything is recorded in the store as it happens. Stopping (Ctrl-C) leaves unfinished ideas in
 * flight, and `resume` re-runs exactly those. Reaching --max-hours or --max-cost stops preparing
 * ideas and lets running evaluations finish (or stops them with --hard-stop); what was not run is
 * left for `resume` too.
 */
import path from 'node:path';
import { setMaxListeners } from 'node:events';
import { mkdirSync } from 'node:fs';
import { applyEdit } from '../patch/apply.ts';
import { refusalReason } from '../patch/guard.ts';
import { scoreRun } from '../reward/evaluate.ts';
import { longDelay } from './long-timer.ts';
import type { GpuPool } from '../sandbox/gpu-pool.ts';
import { bestFinished, isBetter, isFinished, type Proposal, type SearchStrategy, type SearchView } from '../search/strategy.ts';
import { seedDir, writeIdeaFiles } from '../store/idea-files.ts';
import type { RunStore } from '../store/run-store.ts';
import { mean } from './statistics.ts';
import type { Environment } from '../environment/load.ts';
import { BaselineFailed, BudgetExceeded, ModelError, ResearcherError, describeError } from './errors.ts';
import type { ApplyFeedback, Coder, ResearchContext, Sandbox, SandboxHandle, SandboxRequest, Thinker, Workspace } from './interfaces.ts';
import type { ProgressReporter, SweepStatus } from './progress.ts';
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

/** Times the thinker is asked again when the strategy rejects its draft (e.g. a near-duplicate). */
export const PROPOSAL_RETRIES = 2;

/** A stop reason for the fatal errors that end the sweep instead of failing one idea. */
function isFatal(error: unknown): boolean {
  return error instanceof ModelError || error instanceof BaselineFailed || (error instanceof ResearcherError && error.name === 'ConfigError');
}

/** Thrown inside an idea's task when the sweep stops dispatching: the idea stays for `resume`. */
class Drained extends Error {}

export class Sweep {
  private readonly config: RunConfig;
  private readonly runDir: string;
  private readonly tasks = new Set<Promise<void>>();
  /** Ideas being proposed, coded, waiting for a slot or running. */
  private readonly inFlight = new Set<number>();
  /** Evaluation slots: `--parallel`, bounded by how many runs the GPUs can hold at once. */
  private readonly slots: number;
  private slotsFree: number;
  private readonly slotWaiters: ((granted: boolean) => void)[] = [];
  /** Ideas holding a slot right now. */
  private running = 0;
  private fatal: unknown = null;
  /** An agent found that its next model call would pass --max-cost. */
  private costStop = false;
  /** A limit other than the idea budget was reached: nothing new is prepared or started. */
  private draining = false;
  /** Aborted when preparing ideas must stop (Ctrl-C, a limit): cancels model calls. */
  private readonly prepareStop = new AbortController();
  /** Aborted when running evaluations must stop (Ctrl-C, a limit with --hard-stop). */
  private readonly runStop = new AbortController();
  private readonly startedAt = Date.now();
  private readonly activeMsBefore: number;
  private timeLimit: Promise<void> | null = null;
  /** Worktrees being released in the background. */
  private readonly releasing = new Set<Promise<void>>();
  /** Wakes the dispatch loop between task ends (spend passed --max-cost). */
  private wake: () => void = () => {};
  private finishedThisSession = 0;
  /** Dollars spent on model calls (kept here so budget checks never sum the whole table). */
  private spentUsd: number;
  /**
   * The run's ideas as last written, indexed by id. Only this sweep writes to the run (the run's
   * owner record makes sure of it), so this mirror stays exact and the loop never re-reads the
   * whole table: with thousands of ideas that would cost more than the ideas themselves.
   */
  private readonly ideaCache: IdeaRecord[] = [];

  constructor(private readonly deps: SweepDependencies) {
    this.config = deps.store.config;
    this.runDir = deps.store.runDir;
    const perRun = deps.environment.config.run.resources.gpus;
    this.slots = Math.max(1, Math.min(this.config.parallel, deps.gpuPool.capacity(perRun)));
    this.slotsFree = this.slots;
    this.activeMsBefore = deps.store.getMeta<number>('activeMs') ?? 0;
    this.spentUsd = deps.store.usage().costUsd;
    const saved = deps.store.getMeta('searchState');
    if (saved !== undefined) deps.strategy.restoreState(saved);
    // One listener per idea being prepared or run: with 64 slots that is over a hundred, by design.
    setMaxListeners(Infinity, this.prepareStop.signal, this.runStop.signal);
    const stopAll = () => {
      this.prepareStop.abort();
      this.runStop.abort();
    };
    if (deps.signal.aborted) stopAll();
    else deps.signal.addEventListener('abort', stopAll, { once: true });
  }

  async run(): Promise<SweepSummary> {
    const { store, workspace, progress, signal } = this.deps;
    await this.recoverInterrupted();
    for (const idea of store.ideas()) this.ideaCache[idea.id] = idea;

    if (!this.idea(0)) {
      store.insertIdea(BASELINE, null, {}, 0);
      store.setIdeaCode(0, { edit: null, diff: '', commit: workspace.baseCommit });
      this.refresh(0);
    }
    if (this.idea(0)!.status === 'failed') throw this.baselineFailed();
    if (!isFinished(this.idea(0)!)) {
      // The baseline runs like any idea: while it holds one slot, the next ideas are prepared and
      // fill the others (strategies that want its result wait for it, as serial search does).
      progress.report({ type: 'baseline-started', seeds: this.config.baselineSeeds });
      this.spawn(0, async () => {
        await this.evaluate(this.idea(0)!, this.config.baselineSeeds);
        if (this.idea(0)!.status === 'failed') throw this.baselineFailed();
      });
    }

    // Ideas a previous process left unfinished go first, in order.
    for (const idea of this.history().slice(1)) {
      if (idea.id !== 0 && !isFinished(idea)) this.spawn(idea.id, () => this.process(idea));
    }
    this.reportStatus();

    let stoppedBy: SweepSummary['stoppedBy'] | null = null;
    for (;;) {
      if (this.fatal) break;
      if (signal.aborted) {
        stoppedBy = 'interrupted';
        break;
      }
      // Time and money are watched until the last evaluation ends, not only while dispatching.
      const limit = this.limitReached();
      if (limit && !this.draining) {
        stoppedBy = limit;
        progress.report({ type: 'stopping', reason: limit, hardStop: this.config.hardStop });
        this.drain();
      }
      // Keep enough ideas prepared that a freed slot never waits (see lookahead()).
      if (!this.draining && this.ideasStarted() < this.config.ideas && this.inFlight.size - this.running < this.lookahead()) {
        const proposal = this.deps.strategy.next(this.view());
        if (proposal) {
          this.startIdea(proposal);
          continue;
        }
      }
      if (this.tasks.size === 0) {
        stoppedBy ??= this.ideasStarted() >= this.config.ideas ? 'budget' : 'no-more-ideas';
        break;
      }
      const wakeUps = [...this.tasks, new Promise<void>((resolve) => (this.wake = resolve))];
      if (!this.draining) wakeUps.push(this.untilTimeLimit()); // once passed, it would resolve at once, forever
      await Promise.race(wakeUps);
    }
    await Promise.allSettled(this.tasks);
    await Promise.allSettled(this.releasing);
    // No worktree outlives the sweep (a resumed one checks out what it needs again).
    await workspace.cleanup().catch(() => {});
    if (this.fatal) {
      this.saveActiveTime();
      throw this.fatal;
    }
    return this.finish(signal.aborted ? 'interrupted' : (stoppedBy ?? 'budget'));
  }

  private baselineFailed(): BaselineFailed {
    const baseline = this.idea(0)!;
    const log = path.join(seedDir(this.runDir, 0, 0), 'run.log');
    return new BaselineFailed(
      `the baseline (the unmodified code) failed: ${baseline.error} — fix the environment first (\`researcher env check\`); log: ${path.relative(process.cwd(), log)}`,
    );
  }

  // ─── budget ─────────────────────────────────────────────────────────────────────────────

  private ideasStarted(): number {
    return this.history().length - 1; // the baseline does not count
  }

  /** A time or money limit that stops the sweep (the idea budget only stops dispatching). */
  private limitReached(): 'max-hours' | 'max-cost' | null {
    const { maxHours, maxCostUsd } = this.config;
    if (maxHours !== null && this.activeMs() >= maxHours * 3_600_000) return 'max-hours';
    if (this.costStop || (maxCostUsd !== null && this.spentUsd >= maxCostUsd)) return 'max-cost';
    return null;
  }

  /** Resolves when --max-hours is reached, so the loop wakes up for it even while runs are long. */
  private untilTimeLimit(): Promise<void> {
    if (!this.timeLimit) {
      const { maxHours } = this.config;
      this.timeLimit =
        maxHours === null
          ? new Promise(() => {})
          : longDelay(Math.max(0, maxHours * 3_600_000 - this.activeMs()) + 5, { unref: true }); // --max-hours may pass 24.8 days
    }
    return this.timeLimit;
  }

  /** Stops dispatching: prepared ideas and ideas waiting for a slot are left for `resume`. */
  private drain(): void {
    this.draining = true;
    for (const waiter of this.slotWaiters.splice(0)) waiter(false);
    this.prepareStop.abort();
    if (this.config.hardStop) this.runStop.abort();
  }

  /** The sweep stops dispatching: a limit, Ctrl-C or --hard-stop. */
  private stopping(): boolean {
    return this.draining || this.deps.signal.aborted;
  }

  private activeMs(): number {
    return this.activeMsBefore + (Date.now() - this.startedAt);
  }

  private saveActiveTime(): void {
    this.deps.store.setMeta('activeMs', this.activeMs());
  }

  /**
   * How many ideas to keep prepared (proposed, coded, waiting for a slot) beyond the running ones.
   * Enough to cover the slots that free up while one idea is being prepared — about slots ×
   * preparing time / run time, plus one — and no more: an idea prepared early is proposed without the
   * results that arrive meanwhile, which costs the search (and, with LLM agents, money). Until a
   * run has finished there is nothing to go by: fill every free slot, plus one.
   */
  private lookahead(): number {
    const free = this.slots - this.running;
    if (this.runMs === null || this.prepareMs === null) return Math.max(1, free + 1);
    // Half again as many, for slots that free up together (run lengths are far from regular).
    const needed = Math.ceil((1.5 * this.slots * this.prepareMs) / Math.max(1, this.runMs)) + 1;
    return Math.min(this.slots, Math.max(1, needed, free));
  }

  /** Exponentially weighted means of preparing an idea and of running one, in ms. */
  private prepareMs: number | null = null;
  private runMs: number | null = null;

  private static ewma(previous: number | null, sample: number): number {
    return previous === null ? sample : 0.8 * previous + 0.2 * sample;
  }

  // ─── the run's ideas ────────────────────────────────────────────────────────────────────

  private idea(id: number): IdeaRecord | undefined {
    return this.ideaCache[id];
  }

  private history(): readonly IdeaRecord[] {
    return this.ideaCache;
  }

  /** Re-reads one idea after a write. */
  private refresh(id: number): IdeaRecord {
    const idea = this.deps.store.idea(id)!;
    this.ideaCache[id] = idea;
    return idea;
  }

  private view(): SearchView {
    return {
      history: this.history(),
      inFlight: this.inFlight.size,
      remaining: this.config.ideas - this.ideasStarted(),
      parallel: this.slots,
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
        else if (isFatal(error)) {
          this.fatal ??= error;
          this.drain();
          // Without a baseline no idea can be compared: stop what runs too.
          if (error instanceof BaselineFailed) this.runStop.abort();
        }
        else if (error instanceof Drained || this.stopping()) return; // stopped mid-way: the idea stays in flight for resume
        else this.finishFailed(ideaId, { reason: 'infrastructure', message: describeError(error) });
      })
      .finally(() => {
        this.inFlight.delete(ideaId);
        this.tasks.delete(task);
        this.reportStatus();
      });
    this.tasks.add(task);
  }

  /** Records a new idea for the proposal right away (so it counts against the budget) and starts it. */
  private startIdea(proposal: Proposal): void {
    const { store, strategy } = this.deps;
    const placeholder: IdeaDraft = { title: '(being proposed)', hypothesis: '', plan: '', expectedEffect: '' };
    // The idea and the strategy state that chose it are written together: a kill between the two
    // would otherwise leave a resumed search unaware of a child it already started.
    const id = store.db.transaction(() => {
      const inserted = store.insertIdea(placeholder, proposal.parentId, { ...proposal.meta, instruction: proposal.instruction, proposing: true });
      const idea = this.refresh(inserted);
      strategy.started?.(idea);
      store.setMeta('searchState', strategy.saveState());
      return inserted;
    })();
    const started = Date.now();
    this.spawn(id, async () => {
      const draft = await this.propose(id, proposal);
      if (!draft) return;
      await this.process(this.idea(id)!, () => (this.prepareMs = Sweep.ewma(this.prepareMs, Date.now() - started)));
    });
  }

  /**
   * Asks the thinker for the idea, and the strategy whether it is worth running; a rejected draft
   * goes back to the thinker with the reason, and after PROPOSAL_RETRIES the idea fails with it.
   */
  private async propose(id: number, proposal: Proposal): Promise<IdeaDraft | null> {
    const { store, thinker, strategy, progress } = this.deps;
    const rejections: string[] = [];
    for (let attempt = 0; ; attempt++) {
      const instruction = [proposal.instruction, ...rejections.map((r) => `A previous proposal for this idea was rejected: ${r}. Propose something clearly different.`)]
        .filter(Boolean)
        .join('\n');
      if (this.stopping()) throw new Drained();
      const context = await this.context(id, proposal.parentId, instruction || undefined, attempt);
      let value: IdeaDraft;
      try {
        value = (await thinker.propose(context)).value;
      } catch (error) {
        if (isFatal(error) || error instanceof BudgetExceeded || this.stopping()) throw error;
        this.finishFailed(id, { reason: 'agent-error', message: `the thinker failed: ${describeError(error)}` });
        return null;
      }
      const verdict = strategy.accept?.({ ideaId: id, parentId: proposal.parentId, draft: value }, this.view()) ?? { ok: true as const };
      const meta = { ...this.idea(id)!.meta };
      delete meta.proposing;
      if (!verdict.ok) {
        rejections.push(verdict.message);
        meta.rejected = rejections;
      }
      store.db
        .prepare('UPDATE ideas SET title = ?, hypothesis = ?, plan = ?, expected_effect = ?, meta = ? WHERE id = ?')
        .run(value.title, value.hypothesis, value.plan, value.expectedEffect, JSON.stringify(meta), id);
      const idea = this.refresh(id);
      if (verdict.ok) {
        progress.report({ type: 'idea-proposed', idea });
        return value;
      }
      if (attempt >= PROPOSAL_RETRIES) {
        this.finishFailed(id, { reason: verdict.reason, message: `rejected before running: ${verdict.message}` });
        return null;
      }
    }
  }

  /** Codes (when needed) and evaluates an idea that is recorded in the store. */
  private async process(idea: IdeaRecord, prepared?: () => void): Promise<void> {
    if (idea.meta.proposing) {
      // Killed while the thinker was still working: propose it again.
      const draft = await this.propose(idea.id, { parentId: idea.parentId, instruction: idea.meta.instruction as string | undefined });
      if (!draft) return;
      idea = this.idea(idea.id)!;
    }
    let worktree: string | null = null;
    if (idea.status === 'proposed') {
      worktree = await this.code(idea);
      if (!worktree) return;
      idea = this.idea(idea.id)!;
      prepared?.();
    }
    await this.evaluate(idea, this.config.seeds, worktree ?? undefined);
  }

  /** Turns the idea into a commit. Returns the worktree holding it, or null when the idea failed. */
  private async code(idea: IdeaRecord): Promise<string | null> {
    const { store, workspace, coder, environment, progress } = this.deps;
    const parent = idea.parentId === null ? null : this.idea(idea.parentId)!;
    const parentCommit = parent?.commit ?? workspace.baseCommit;
    const dir = await workspace.checkout(idea.id, parentCommit);
    const context = await this.context(idea.id, idea.parentId, idea.meta.instruction as string | undefined);
    const draft: IdeaDraft = { title: idea.title, hypothesis: idea.hypothesis, plan: idea.plan, expectedEffect: idea.expectedEffect };
    const feedback: ApplyFeedback[] = [];
    const rules = { editable: environment.config.editable, protected: environment.config.protected };

    for (let round = 0; round <= this.config.repairRounds; round++) {
      let edit: Edit;
      try {
        if (this.stopping()) throw new Drained(); // no model spend on an idea that will not run now
        edit = Edit.parse((await coder.implement(draft, context, feedback)).value);
      } catch (error) {
        await workspace.release(dir);
        if (isFatal(error) || error instanceof BudgetExceeded || this.stopping()) throw error;
        this.finishFailed(idea.id, { reason: 'agent-error', message: `the coder failed: ${describeError(error)}` });
        return null;
      }
      if (round > 0) await workspace.reset(dir);
      const applied = await applyEdit(edit, dir);
      if (!applied.ok && applied.refused) {
        // Reward integrity: an edit that reaches outside the code is refused, not repaired.
        await workspace.release(dir);
        this.finishFailed(idea.id, { reason: 'refused', message: `refused: ${applied.message}` }, edit);
        return null;
      }
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
      const coded = this.refresh(idea.id);
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

  /**
   * Runs and scores an idea under `seeds` seeds, then records its reward. An idea whose mean beats
   * the best so far is re-evaluated with the confirmation seeds before it finishes, so the best
   * idea is always chosen on a re-evaluated mean (a lucky seed is not a result).
   */
  private async evaluate(idea: IdeaRecord, seeds: number, worktree?: string): Promise<void> {
    const { workspace, gpuPool } = this.deps;
    try {
      await this.acquireSlot();
    } catch (error) {
      if (worktree) await workspace.release(worktree);
      throw error;
    }
    this.running++;
    let holding = true;
    const runStarted = Date.now();
    this.reportStatus();
    this.wake(); // a prepared idea just started: the dispatcher may prepare the next one
    let gpus: string[] = [];
    let dir = worktree;
    try {
      gpus = await gpuPool.acquire(this.deps.environment.config.run.resources.gpus);
      dir ??= await workspace.checkout(idea.id, idea.commit!);
      this.deps.store.setIdeaStatus(idea.id, 'running');
      this.refresh(idea.id);
      const done = new Set(this.deps.store.evaluations(idea.id).filter((e) => e.status !== 'running').map((e) => e.seed));
      if (!(await this.runSeeds(idea, 0, seeds, done, gpus, dir))) return;
      const extra = idea.id === 0 ? 0 : this.confirmationSeeds();
      if (extra > 0 && this.needsConfirmation(idea.id, seeds, done)) {
        if (!(await this.runSeeds(idea, seeds, seeds + extra, done, gpus, dir))) return;
      }
      // The runs are over: the idea no longer counts as running when its result is announced.
      this.runMs = Sweep.ewma(this.runMs, Date.now() - runStarted);
      this.running--;
      holding = false;
      this.finishEvaluated(idea.id);
    } finally {
      // The slot and its GPUs go to the next idea first; removing the worktree (seconds for a
      // large repository) needs neither.
      gpuPool.release(gpus);
      if (holding) this.running--;
      this.releaseSlot();
      // Cleaning the worktree for reuse happens in the background; the sweep waits for it at the end.
      if (dir) {
        const releasing: Promise<void> = workspace
          .release(dir)
          .catch(() => {})
          .finally(() => this.releasing.delete(releasing));
        this.releasing.add(releasing);
      }
    }
  }

  /** Extra seeds for a candidate best: --confirm-seeds, by default as many again as --seeds when that is above 1. */
  private confirmationSeeds(): number {
    return this.config.confirmSeeds ?? (this.config.seeds > 1 ? this.config.seeds : 0);
  }

  /** Whether the idea's mean over its first seeds beats the best finished idea (or confirmation already began). */
  private needsConfirmation(ideaId: number, seeds: number, done: Set<number>): boolean {
    if ([...done].some((seed) => seed >= seeds)) return true; // started before a restart: carry on
    const evaluations = this.deps.store.evaluations(ideaId);
    if (evaluations.some((e) => e.status === 'failed')) return false;
    const rewards = evaluations.filter((e) => e.status === 'succeeded').map((e) => e.reward as number);
    if (rewards.length === 0) return false;
    const best = bestFinished(this.history(), this.deps.environment.config.reward.goal);
    const candidate = mean(rewards);
    if (best && !isBetter(candidate, best.reward!, this.deps.environment.config.reward.goal)) return false;
    this.deps.progress.report({
      type: 'confirming',
      ideaId,
      reward: candidate,
      seeds: this.confirmationSeeds(),
      best: best ? { id: best.id, reward: best.reward! } : null,
    });
    return true;
  }

  /** Runs seeds [from, to) not yet done. False when the sweep stopped mid-way (the idea stays for resume). */
  private async runSeeds(idea: IdeaRecord, from: number, to: number, done: Set<number>, gpus: string[], dir: string): Promise<boolean> {
    const { store, sandbox, environment, progress } = this.deps;
    const { run } = environment.config;
    const signal = this.runStop.signal;
    for (let seed = from; seed < to; seed++) {
      if (done.has(seed)) continue;
      // Between seeds, a stopping sweep lets the idea go: its finished seeds are kept for resume.
      if (signal.aborted || this.draining) return false;
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
      if (result.interrupted || signal.aborted) return false; // left in flight for resume
      const scored = await scoreRun({
        config: environment.config,
        sandbox,
        run: request,
        runResult: result,
        evaluatorDir: this.deps.evaluatorDir,
        evalDir: path.join(folder, 'eval'),
        signal,
      });
      if (!scored.ok && scored.failure.reason === 'interrupted') return false;
      store.finishEvaluation(evaluationId, {
        reward: scored.ok ? scored.reward : null,
        failure: scored.ok ? null : scored.failure,
        exitCode: result.exitCode,
        timedOut: result.timedOut,
        oomKilled: result.oomKilled,
        durationMs: result.durationMs,
      });
      done.add(seed);
      // A crash under one seed is a crash: do not spend more GPU time on it.
      if (!scored.ok && scored.failure.reason !== 'infrastructure') break;
    }
    return true;
  }

  private finishEvaluated(ideaId: number): void {
    const finished = this.recordFinish(ideaId, () => this.deps.store.finishIdea(ideaId));
    writeIdeaFiles(this.runDir, finished, this.deps.store.evaluations(ideaId));
    this.announce(finished);
  }

  private finishFailed(ideaId: number, failure: Failure, edit?: Edit): void {
    const { store, progress } = this.deps;
    const idea = this.recordFinish(ideaId, () => {
      if (edit) store.db.prepare('UPDATE ideas SET edit = ? WHERE id = ?').run(JSON.stringify(edit), ideaId);
      store.failIdea(ideaId, failure);
    });
    progress.report({ type: 'idea-failed-early', ideaId, failure });
    writeIdeaFiles(this.runDir, idea);
    this.announce(idea);
  }

  /**
   * Writes an idea's result, lets the strategy see it and saves the strategy's state, in one
   * transaction: a kill at any point leaves the run either before or after the result, never
   * with a result the resumed search has not seen.
   */
  private recordFinish(ideaId: number, write: () => void): IdeaRecord {
    const { store, strategy } = this.deps;
    return store.db.transaction(() => {
      write();
      const idea = this.refresh(ideaId);
      if (ideaId !== 0) strategy.observe?.(idea, this.view());
      store.setMeta('searchState', strategy.saveState());
      store.setMeta('activeMs', this.activeMs());
      return idea;
    })();
  }

  private announce(idea: IdeaRecord): void {
    if (idea.id !== 0) this.finishedThisSession++;
    this.deps.progress.report({ type: 'idea-finished', idea, best: bestFinished(this.history(), this.deps.environment.config.reward.goal) });
    this.reportStatus();
  }

  private reportStatus(): void {
    this.deps.progress.report({ type: 'status', status: this.status() });
  }

  /** The numbers a progress display shows. */
  status(): SweepStatus {
    let finished = 0;
    let failed = 0;
    for (const idea of this.history()) {
      if (idea.id === 0 || !isFinished(idea)) continue;
      finished++;
      if (idea.status === 'failed') failed++;
    }
    const best = bestFinished(this.history(), this.deps.environment.config.reward.goal);
    const elapsedThisSession = Date.now() - this.startedAt;
    const left = Math.max(0, this.config.ideas - finished);
    return {
      ideas: this.config.ideas,
      finished,
      failed,
      running: this.running,
      preparing: Math.max(0, this.inFlight.size - this.running),
      best: best ? { id: best.id, reward: best.reward!, rewardStd: best.rewardStd, rewardCount: best.rewardCount } : null,
      baseline: this.idea(0)?.reward ?? null,
      spentUsd: this.spentUsd,
      elapsedMs: this.activeMs(),
      etaMs: this.finishedThisSession > 0 ? (elapsedThisSession / this.finishedThisSession) * left : null,
    };
  }

  // ─── slots ──────────────────────────────────────────────────────────────────────────────

  private async acquireSlot(): Promise<void> {
    if (this.draining) throw new Drained();
    if (this.slotsFree > 0) {
      this.slotsFree--;
      return;
    }
    const granted = await new Promise<boolean>((resolve) => this.slotWaiters.push(resolve));
    if (!granted) throw new Drained();
  }

  private releaseSlot(): void {
    const next = this.slotWaiters.shift();
    if (next) next(true);
    else this.slotsFree++;
  }

  // ─── context for agents ─────────────────────────────────────────────────────────────────

  private async context(ideaId: number, parentId: number | null, instruction?: string, attempt = 0): Promise<ResearchContext> {
    const { store, workspace, environment } = this.deps;
    const parent = parentId === null ? null : (this.idea(parentId) ?? null);
    const parentCommit = parent?.commit ?? workspace.baseCommit;
    return {
      ideaId,
      environment,
      history: this.history().filter((idea) => idea.id !== ideaId),
      parent,
      instruction,
      readFile: (relativePath) => workspace.readFile(parentCommit, relativePath),
      readFileAt: (commit, relativePath) => workspace.readFile(commit, relativePath),
      listFiles: () => workspace.listFiles(parentCommit),
      // A retried proposal gets fresh randomness, or a seeded thinker would repeat itself.
      random: seededRandom(attempt === 0 ? mixSeed(this.config.randomSeed, ideaId) : mixSeed(this.config.randomSeed, ideaId, attempt)),
      signal: this.prepareStop.signal,
      ledger: {
        cached: (cacheKey) => store.cachedResponse(cacheKey),
        record: (call) => {
          store.recordModelCall({ ...call, ideaId });
          this.spentUsd += call.usage.costUsd;
          if (this.config.maxCostUsd !== null && this.spentUsd >= this.config.maxCostUsd) this.wake();
        },
        spentUsd: () => this.spentUsd,
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

  /** Ends the sweep: unfinished ideas are put back in the queue for `resume`, the time is saved. */
  private finish(stoppedBy: SweepSummary['stoppedBy']): SweepSummary {
    const { store } = this.deps;
    for (const idea of this.history()) {
      if (!isFinished(idea) && idea.status !== 'proposed') {
        store.requeueIdea(idea.id);
        this.refresh(idea.id);
      }
    }
    this.saveActiveTime();
    this.reportStatus();
    const ideas = this.history().slice();
    return { stoppedBy, ideas, best: bestFinished(ideas, this.deps.environment.config.reward.goal) };
  }
}

function commitMessage(idea: IdeaRecord): string {
  return `${idea.title}\n\n${idea.hypothesis}\n\nai-researcher idea ${idea.id}${idea.parentId !== null ? `, built on idea ${idea.parentId}` : ''}`;
}
