/**
 * The run's ideas as the sweep sees them, and the recording of their results: every finished
 * idea is written, shown to the strategy and announced here, in one transaction with the
 * strategy's state.
 */
import type { Environment } from '../../environment/load.ts';
import type { SearchStrategy, SearchView } from '../../search/strategy.ts';
import { writeIdeaFiles } from '../../store/idea-files.ts';
import type { RunStore } from '../../store/run-store.ts';
import { bestFinished, isFinished } from '../ideas.ts';
import type { ProgressReporter, SweepStatus } from '../progress.ts';
import { mixSeed, seededRandom } from '../random.ts';
import type { RunConfig } from '../run-config.ts';
import type { Edit, Failure, IdeaRecord } from '../types.ts';
import type { Scheduler } from './scheduler.ts';

export class RunRecord {
  /**
   * The run's ideas as last written, indexed by id. Only this sweep writes to the run (the run's
   * owner record makes sure of it), so this mirror stays exact and the loop never re-reads the
   * whole table: with thousands of ideas that would cost more than the ideas themselves.
   */
  private readonly ideaCache: IdeaRecord[] = [];
  private finishedThisSession = 0;

  constructor(
    private readonly store: RunStore,
    private readonly config: RunConfig,
    private readonly environment: Environment,
    private readonly strategy: SearchStrategy,
    private readonly progress: ProgressReporter,
    private readonly scheduler: Scheduler,
  ) {}

  /** Reads every idea of the run once, at the start of the sweep. */
  load(): void {
    for (const idea of this.store.ideas()) this.ideaCache[idea.id] = idea;
  }

  idea(id: number): IdeaRecord | undefined {
    return this.ideaCache[id];
  }

  /** Every idea of the run, the baseline (id 0) first. */
  history(): readonly IdeaRecord[] {
    return this.ideaCache;
  }

  /** Re-reads one idea after a write. */
  refresh(id: number): IdeaRecord {
    const idea = this.store.idea(id)!;
    this.ideaCache[id] = idea;
    return idea;
  }

  ideasStarted(): number {
    return this.history().length - 1; // the baseline does not count
  }

  best(): IdeaRecord | undefined {
    return bestFinished(this.history(), this.environment.config.reward.goal);
  }

  /** What the search strategy sees of the run. */
  view(): SearchView {
    return {
      history: this.history(),
      inFlight: this.scheduler.inFlight.size,
      remaining: this.config.ideas - this.ideasStarted(),
      parallel: this.scheduler.slots,
      goal: this.environment.config.reward.goal,
      random: seededRandom(mixSeed(this.config.randomSeed, this.ideasStarted(), 0x5ea7c4)),
    };
  }

  // ─── results ────────────────────────────────────────────────────────────────────────────

  /** An idea whose evaluations are over: its reward is computed from them and recorded. */
  finishEvaluated(ideaId: number): void {
    const finished = this.recordFinish(ideaId, () => this.store.finishIdea(ideaId));
    writeIdeaFiles(this.store.runDir, finished, this.store.evaluations(ideaId));
    this.announce(finished);
  }

  /** An idea that failed before or outside its evaluations (with its edit, when there was one). */
  finishFailed(ideaId: number, failure: Failure, edit?: Edit): void {
    const idea = this.recordFinish(ideaId, () => {
      if (edit) this.store.recordFailedEdit(ideaId, edit);
      this.store.failIdea(ideaId, failure);
    });
    this.progress.report({ type: 'idea-failed-early', ideaId, failure });
    writeIdeaFiles(this.store.runDir, idea);
    this.announce(idea);
  }

  /**
   * Writes an idea's result, lets the strategy see it and saves the strategy's state, in one
   * transaction: a kill at any point leaves the run either before or after the result, never
   * with a result the resumed search has not seen.
   */
  private recordFinish(ideaId: number, write: () => void): IdeaRecord {
    const { store, strategy } = this;
    return store.transaction(() => {
      write();
      const idea = this.refresh(ideaId);
      if (ideaId !== 0) strategy.observe?.(idea, this.view());
      store.setMeta('searchState', strategy.saveState());
      store.setMeta('activeMs', this.scheduler.activeMs());
      return idea;
    });
  }

  private announce(idea: IdeaRecord): void {
    if (idea.id !== 0) this.finishedThisSession++;
    this.progress.report({ type: 'idea-finished', idea, best: this.best() });
    this.reportStatus();
  }

  reportStatus(): void {
    this.progress.report({ type: 'status', status: this.status() });
  }

  /** The numbers a progress display shows. */
  status(): SweepStatus {
    let finished = 0;
    let failed = 0;
    let stoppedEarly = 0;
    for (const idea of this.history()) {
      if (idea.id === 0 || !isFinished(idea)) continue;
      finished++;
      if (idea.status === 'failed' && idea.failureReason === 'stopped-early') stoppedEarly++;
      else if (idea.status === 'failed') failed++;
    }
    const best = this.best();
    const { scheduler } = this;
    const elapsedThisSession = Date.now() - scheduler.startedAt;
    const left = Math.max(0, this.config.ideas - finished);
    return {
      ideas: this.config.ideas,
      finished,
      failed,
      stoppedEarly,
      running: scheduler.running,
      preparing: Math.max(0, scheduler.preparing),
      best: best ? { id: best.id, reward: best.reward!, rewardStd: best.rewardStd, rewardCount: best.rewardCount } : null,
      baseline: this.idea(0)?.reward ?? null,
      spentUsd: scheduler.spentUsd,
      elapsedMs: scheduler.activeMs(),
      etaMs: this.finishedThisSession > 0 ? (elapsedThisSession / this.finishedThisSession) * left : null,
    };
  }
}
