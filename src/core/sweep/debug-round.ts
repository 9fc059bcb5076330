/**
 * Debug rounds: an idea whose committed code failed when it ran (a traceback, no metric, a bad
 * metric, outputs the evaluator refused, or a failed smoke step) goes back to the coder with the
 * failure (./run-failure.ts) — on a session over the failed attempt's tree, whose files the
 * coder's context then reads — and its fix goes through the same change guard, becomes a new
 * commit on the idea's branch and is evaluated afresh. Up to `debugRounds` times per idea; the
 * idea's reward is its last attempt's.
 *
 * Each round is recorded as it starts (what it fixes) and as it ends (its fix, or why none
 * came), in src/store/debug-rounds.ts. A researcher killed mid-round takes the same round up
 * again on resume (the model's answer comes from the run's response cache): no round is lost or
 * recorded twice. A round holds the idea's slot and GPUs while the coder writes the fix, so the
 * fix runs at once, as the idea's next step, not behind ideas prepared since.
 */
import { refusalReason } from '../../patch/guard.ts';
import type { DebugRoundRecord } from '../../store/debug-rounds.ts';
import { writeIdeaFiles } from '../../store/idea-files.ts';
import { BudgetExceeded, describeError } from '../errors.ts';
import type { CodingOutcome, RunFailureFeedback } from '../interfaces.ts';
import type { Edit, IdeaDraft, IdeaRecord } from '../types.ts';
import { worktreeSession } from './coding-session.ts';
import type { SweepParts } from './dependencies.ts';
import { researchContext } from './research-context.ts';
import { DEBUGGABLE_RUN_FAILURES, feedbackLogTail } from './run-failure.ts';
import { isFatal } from './scheduler.ts';
import { sessionSmoke } from './smoke.ts';

/** A failure a debug round is asked to fix, as recorded with the round. */
export type PendingFailure = DebugRoundRecord['failure'];

export class DebugRounds {
  constructor(private readonly parts: SweepParts) {}

  private get limit(): number {
    return this.parts.deps.debugRounds ?? 0;
  }

  /**
   * The failure of the idea's current attempt that a debug round could fix: its first failed
   * evaluation with a reason worth a round (DEBUGGABLE_RUN_FAILURES), or null.
   */
  runFailure(ideaId: number, attempt: number): PendingFailure | null {
    const failed = this.parts.deps.store
      .evaluations(ideaId)
      .find((e) => e.attempt === attempt && e.status === 'failed' && DEBUGGABLE_RUN_FAILURES.includes(e.failureReason!));
    if (!failed) return null;
    return {
      attempt,
      step: failed.failureReason === 'crashed' ? 'run' : 'evaluate',
      reason: failed.failureReason!,
      message: failed.error ?? failed.failureReason!,
      exitCode: failed.exitCode,
      logTail: feedbackLogTail(failed.logPath),
      seed: failed.seed,
      logPath: failed.logPath,
    };
  }

  /** Whether the idea may have another round: rounds left, and no round whose coder gave up. */
  canDebug(ideaId: number): boolean {
    if (ideaId === 0 || this.limit === 0) return false;
    const rounds = this.parts.deps.store.debugRounds(ideaId);
    if (rounds.some((round) => round.status === 'coder-failed')) return false;
    return rounds.filter((round) => round.status === 'committed').length < this.limit;
  }

  /**
   * One debug round: the coder fixes `failure` in `dir` (the idea's worktree at its current
   * commit, with `gpus` held for its smoke step), and the fix is committed. True when the idea
   * now has a new attempt to run; false when no usable fix came (recorded with the round).
   */
  async fix(idea: IdeaRecord, failure: PendingFailure, dir: string, gpus: string[]): Promise<boolean> {
    const { deps, record, scheduler, config } = this.parts;
    const { store, workspace, coder, environment, progress } = deps;
    const round = failure.attempt + 1;
    const roundId = store.startDebugRound({ ideaId: idea.id, round, failure, failedCommit: idea.commit! });
    progress.report({
      type: 'log',
      message: `idea ${idea.id}: debug round ${round} of ${this.limit}: ${failure.step === 'smoke' ? 'the smoke step' : `seed ${failure.seed}`} failed (${failure.reason}); the coder writes a fix`,
    });
    const parentCommit = (idea.parentId === null ? null : record.idea(idea.parentId)?.commit) ?? workspace.baseCommit;
    const failures = await this.feedback(idea.id, failure, parentCommit);
    // The fix starts from the failed attempt exactly as committed: nothing its run left stays.
    await workspace.reset(dir);
    const context = await researchContext(this.parts, idea.id, idea.parentId, idea.meta.instruction as string | undefined, 0, idea.commit!);
    const draft: IdeaDraft = { title: idea.title, hypothesis: idea.hypothesis, plan: idea.plan, expectedEffect: idea.expectedEffect };
    const session = worktreeSession(workspace, dir, sessionSmoke(this.parts, idea.id, dir, gpus));

    let outcome: CodingOutcome;
    try {
      outcome = (await coder.code({ idea: draft, context, session, repairRounds: config.repairRounds, failures })).value;
    } catch (error) {
      if (isFatal(error) || error instanceof BudgetExceeded || scheduler.stopping()) throw error; // the round stays `coding` for resume
      return this.noFix(roundId, dir, `the coder failed: ${describeError(error)}`, null);
    }
    if (!outcome.ok)
      return this.noFix(roundId, dir, outcome.reason === 'refused' ? `refused: ${outcome.message}` : outcome.message, outcome.edit ?? null);
    const changes = await workspace.pendingChanges(dir);
    if (changes.length === 0) return this.noFix(roundId, dir, 'the coder changed nothing', outcome.edit);
    const refusal = refusalReason(changes, { editable: environment.config.editable, protected: environment.config.protected });
    if (refusal) return this.noFix(roundId, dir, `refused: ${refusal}`, outcome.edit);

    const committed = await workspace.commit(
      dir,
      idea.id,
      `Fix of idea ${idea.id}, debug round ${round}: ${failure.reason}\n\n${failure.message}`,
    );
    const ideaDiff = await workspace.diff(parentCommit, committed.commit);
    store.commitDebugRound(roundId, idea.id, { edit: outcome.edit, diff: committed.diff, commit: committed.commit, ideaDiff });
    const fixed = record.refresh(idea.id);
    writeIdeaFiles(store.runDir, fixed);
    progress.report({
      type: 'log',
      message: `idea ${idea.id}: debug round ${round}: fix committed (${committed.changedFiles.join(', ')}); running it`,
    });
    return true;
  }

  /** Every failure of the idea so far, oldest first, each with its attempt's diff against the idea's parent. */
  private async feedback(ideaId: number, failure: PendingFailure, parentCommit: string): Promise<RunFailureFeedback[]> {
    const { store, workspace } = this.parts.deps;
    const earlier = store
      .debugRounds(ideaId)
      .filter((round) => round.status === 'committed' && round.failure.attempt < failure.attempt)
      .map((round) => ({ failure: round.failure, commit: round.failedCommit }));
    const current = { failure, commit: store.idea(ideaId)!.commit! };
    const all: RunFailureFeedback[] = [];
    for (const { failure: f, commit } of [...earlier, current]) {
      const { seed: _seed, logPath: _logPath, ...feedback } = f;
      all.push({ ...feedback, diff: await workspace.diff(parentCommit, commit) });
    }
    return all;
  }

  private async noFix(roundId: number, dir: string, message: string, edit: Edit | null): Promise<false> {
    const { store, workspace, progress } = this.parts.deps;
    store.failDebugRound(roundId, message, edit);
    await workspace.reset(dir);
    progress.report({ type: 'log', message: `debug round gave no fix: ${message}` });
    return false;
  }
}
