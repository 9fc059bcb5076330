/**
 * One idea's way through the sweep: the thinker proposes it (and the strategy accepts it), the
 * coder changes its worktree (src/core/interfaces.ts `Coder`: one-shot, agentic or command) and the change is committed, then it is
 * evaluated (./evaluation.ts) and its result recorded (./run-record.ts). An idea that fails on
 * the way is recorded as failed, with the reason; one that is stopped stays for `resume`.
 */
import { refusalReason } from '../../patch/guard.ts';
import type { Proposal } from '../../search/strategy.ts';
import { guidanceHash } from '../../store/guidance.ts';
import { writeIdeaFiles } from '../../store/idea-files.ts';
import { BudgetExceeded, describeError } from '../errors.ts';
import type { CodingOutcome } from '../interfaces.ts';
import type { IdeaDraft, IdeaRecord } from '../types.ts';
import { worktreeSession } from './coding-session.ts';
import type { SweepParts } from './dependencies.ts';
import { IdeaEvaluator } from './evaluation.ts';
import { recordMemorySeen } from './memory.ts';
import { researchContext } from './research-context.ts';
import { sessionSmoke } from './smoke.ts';
import { Drained, isFatal } from './scheduler.ts';

/** Times the thinker is asked again when the strategy rejects its draft (e.g. a near-duplicate). */
export const PROPOSAL_RETRIES = 2;

export class IdeaPipeline {
  readonly evaluator: IdeaEvaluator;

  /** Which idea first had each code tree (read from the run's commits once, then kept up to date). */
  private treeOwners: Promise<Map<string, number>> | null = null;

  constructor(private readonly parts: SweepParts) {
    this.evaluator = new IdeaEvaluator(parts);
  }

  /** The earlier idea whose code is exactly `tree`, or null (then `tree` becomes this idea's). */
  private async twinOf(tree: string, ideaId: number): Promise<number | null> {
    // Loaded once, by whichever idea asks first (ideas are coded concurrently).
    const owners = await (this.treeOwners ??= this.loadTreeOwners());
    const owner = owners.get(tree);
    if (owner !== undefined && owner !== ideaId) return owner;
    owners.set(tree, ideaId);
    return null;
  }

  /** Every committed idea of the run so far, the baseline included (a resumed run too). */
  private async loadTreeOwners(): Promise<Map<string, number>> {
    const { deps, record } = this.parts;
    const committed = record.history().filter((idea) => idea && idea.commit && idea.failureReason !== 'duplicate');
    const trees = (await deps.workspace.treesOf?.(committed.map((idea) => idea.commit!))) ?? new Map<string, string>();
    const owners = new Map<string, number>();
    for (const idea of committed) {
      const tree = trees.get(idea.commit!);
      if (tree !== undefined && !owners.has(tree)) owners.set(tree, idea.id);
    }
    return owners;
  }

  /** Records a new idea for the proposal right away (so it counts against the budget) and starts it. */
  startIdea(proposal: Proposal): void {
    const { deps, record, scheduler } = this.parts;
    const { store, strategy } = deps;
    const placeholder: IdeaDraft = { title: '(being proposed)', hypothesis: '', plan: '', expectedEffect: '' };
    // The idea and the strategy state that chose it are written together: a kill between the two
    // would otherwise leave a resumed search unaware of a child it already started.
    const id = store.transaction(() => {
      const inserted = store.insertIdea(placeholder, proposal.parentId, {
        ...proposal.meta,
        instruction: proposal.instruction,
        proposing: true,
      });
      const idea = record.refresh(inserted);
      strategy.started?.(idea);
      store.setMeta('searchState', strategy.saveState());
      return inserted;
    });
    const started = Date.now();
    scheduler.spawn(id, async () => {
      const draft = await this.propose(id, proposal);
      if (!draft) return;
      await this.prepareAndEvaluate(record.idea(id)!, () => scheduler.recordPrepareTime(Date.now() - started));
    });
  }

  /**
   * Takes a recorded idea from where it is to its result: proposes it again when a killed
   * researcher left it half-proposed, codes it when it has no commit yet, then evaluates it.
   */
  async prepareAndEvaluate(idea: IdeaRecord, prepared?: () => void): Promise<void> {
    const { record, config } = this.parts;
    if (idea.meta.proposing) {
      // Killed while the thinker was still working: propose it again.
      const draft = await this.propose(idea.id, { parentId: idea.parentId, instruction: idea.meta.instruction as string | undefined });
      if (!draft) return;
      idea = record.idea(idea.id)!;
    }
    let worktree: string | null = null;
    if (idea.status === 'proposed') {
      worktree = await this.implement(idea);
      if (!worktree) return;
      idea = record.idea(idea.id)!;
      prepared?.();
    }
    await this.evaluator.evaluate(idea, config.seeds, worktree ?? undefined);
  }

  /**
   * Asks the thinker for the idea, and the strategy whether it is worth running; a rejected draft
   * goes back to the thinker with the reason, and after PROPOSAL_RETRIES the idea fails with it.
   */
  private async propose(id: number, proposal: Proposal): Promise<IdeaDraft | null> {
    const { deps, record, scheduler } = this.parts;
    const { store, thinker, strategy, progress } = deps;
    const rejections: string[] = [];
    for (let attempt = 0; ; attempt++) {
      const instruction = [
        proposal.instruction,
        ...rejections.map((r) => `A previous proposal for this idea was rejected: ${r}. Propose something clearly different.`),
      ]
        .filter(Boolean)
        .join('\n');
      if (scheduler.stopping()) throw new Drained();
      const context = await researchContext(this.parts, id, proposal.parentId, instruction || undefined, attempt);
      let value: IdeaDraft;
      try {
        value = (await thinker.propose(context)).value;
      } catch (error) {
        if (isFatal(error) || error instanceof BudgetExceeded || scheduler.stopping()) throw error;
        record.finishFailed(id, { reason: 'agent-error', message: `the thinker failed: ${describeError(error)}` });
        return null;
      }
      const verdict = strategy.accept?.({ ideaId: id, parentId: proposal.parentId, draft: value }, record.view()) ?? { ok: true as const };
      const meta = { ...record.idea(id)!.meta };
      delete meta.proposing;
      // Which guidance the idea was proposed under (a retry may have seen newer guidance than the first try).
      if (context.guidance === undefined) delete meta.guidance;
      else meta.guidance = { text: context.guidance, sha256: guidanceHash(context.guidance) };
      // Which notebook and which reflection it saw (src/core/sweep/memory.ts).
      recordMemorySeen(meta, context);
      if (!verdict.ok) {
        rejections.push(verdict.message);
        meta.rejected = rejections;
      }
      store.updateProposal(id, value, meta);
      const idea = record.refresh(id);
      if (verdict.ok) {
        progress.report({ type: 'idea-proposed', idea });
        return value;
      }
      if (attempt >= PROPOSAL_RETRIES) {
        record.finishFailed(id, { reason: verdict.reason, message: `rejected before running: ${verdict.message}` });
        return null;
      }
    }
  }

  /**
   * Has the coder turn the idea into a change of its worktree and commits it, through the change
   * guard. Returns the worktree holding the commit, or null when the idea failed.
   */
  private async implement(idea: IdeaRecord): Promise<string | null> {
    const { deps, record, scheduler, config } = this.parts;
    const { store, workspace, coder, environment, progress } = deps;
    const parent = idea.parentId === null ? null : record.idea(idea.parentId)!;
    const parentCommit = parent?.commit ?? workspace.baseCommit;
    const dir = await workspace.checkout(idea.id, parentCommit);
    const context = await researchContext(this.parts, idea.id, idea.parentId, idea.meta.instruction as string | undefined);
    const draft: IdeaDraft = { title: idea.title, hypothesis: idea.hypothesis, plan: idea.plan, expectedEffect: idea.expectedEffect };
    const rules = { editable: environment.config.editable, protected: environment.config.protected };

    let outcome: CodingOutcome;
    try {
      if (scheduler.stopping()) throw new Drained(); // no model spend on an idea that will not run now
      const session = worktreeSession(workspace, dir, sessionSmoke(this.parts, idea.id, dir));
      outcome = (await coder.code({ idea: draft, context, session, repairRounds: config.repairRounds, failures: [] })).value;
    } catch (error) {
      await workspace.release(dir);
      if (isFatal(error) || error instanceof BudgetExceeded || scheduler.stopping()) throw error;
      record.finishFailed(idea.id, { reason: 'agent-error', message: `the coder failed: ${describeError(error)}` });
      return null;
    }
    if (!outcome.ok) {
      await workspace.release(dir);
      const message = outcome.reason === 'refused' ? `refused: ${outcome.message}` : outcome.message;
      record.finishFailed(idea.id, { reason: outcome.reason, message }, outcome.edit);
      return null;
    }
    const changes = await workspace.pendingChanges(dir);
    if (changes.length === 0) {
      await workspace.release(dir);
      record.finishFailed(idea.id, { reason: 'patch-failed', message: 'the coder changed nothing' }, outcome.edit ?? undefined);
      return null;
    }
    // Whatever the coder did to the tree, only a change inside the editable code is committed.
    const refusal = refusalReason(changes, rules);
    if (refusal) {
      await workspace.release(dir);
      record.finishFailed(idea.id, { reason: 'refused', message: `refused: ${refusal}` }, outcome.edit ?? undefined);
      return null;
    }
    const committed = await workspace.commit(dir, idea.id, commitMessage(idea));
    store.setIdeaCode(idea.id, { edit: outcome.edit, diff: committed.diff, commit: committed.commit });
    const twin = committed.tree ? await this.twinOf(committed.tree, idea.id) : null;
    if (twin !== null) {
      // The same code as an idea already tried (in any search mode, from any parent): its
      // result is already known, so no GPU time goes to running it again.
      await workspace.release(dir);
      record.finishFailed(idea.id, {
        reason: 'duplicate',
        message: `the same code as ${twin === 0 ? 'the baseline' : `idea ${twin}`} (identical tree ${committed.tree!.slice(0, 8)}): not run twice`,
      });
      return null;
    }
    const coded = record.refresh(idea.id);
    writeIdeaFiles(store.runDir, coded);
    progress.report({ type: 'idea-coded', idea: coded, changedFiles: committed.changedFiles });
    return dir;
  }
}

function commitMessage(idea: IdeaRecord): string {
  return `${idea.title}\n\n${idea.hypothesis}\n\nai-researcher idea ${idea.id}${idea.parentId !== null ? `, built on idea ${idea.parentId}` : ''}`;
}
