/**
 * The auditor's turn: an idea whose evaluations are over and whose mean would make it the best is
 * reviewed before it finishes, so a flagged idea is never announced, built on or reported as the
 * best (bestFinished skips it until a person accepts it). Only would-be bests are reviewed: a few
 * calls a night. The verdict is recorded once per idea, so a resumed sweep does not ask again.
 */
import { BudgetExceeded, describeError } from '../errors.ts';
import { bestFinished, isBetter } from '../ideas.ts';
import { mean } from '../statistics.ts';
import type { AuditOutcome } from '../interfaces.ts';
import type { SweepParts } from './dependencies.ts';
import { isFatal } from './scheduler.ts';

/**
 * Reviews the idea if it would become the best. False when the sweep stopped during the review
 * (the idea stays in flight, and is reviewed when the sweep resumes).
 */
export async function auditIfBest(parts: SweepParts, ideaId: number): Promise<boolean> {
  const { deps, record, scheduler } = parts;
  const { auditor, store, environment, progress } = deps;
  if (!auditor || ideaId === 0) return true;
  const idea = store.idea(ideaId)!;
  if (idea.audit) return true;
  // The reward finishIdea will record: the mean of the seeds that produced one.
  const rewards = store
    .evaluations(ideaId)
    .filter((e) => e.status === 'succeeded')
    .map((e) => e.reward as number);
  if (rewards.length === 0) return true;
  const reward = mean(rewards);
  const best = bestFinished(record.history(), environment.config.reward.goal);
  if (best && !isBetter(reward, best.reward!, environment.config.reward.goal)) return true;

  let outcome: AuditOutcome;
  try {
    const result = await auditor.review({
      idea,
      reward,
      best: best ? { id: best.id, title: best.title, reward: best.reward! } : null,
      environment,
      ledger: {
        cached: (cacheKey) => store.cachedResponse(cacheKey),
        record: (call) => {
          store.recordModelCall({ ...call, ideaId });
          scheduler.spend(call.usage.costUsd);
        },
        spentUsd: () => scheduler.spentUsd,
        maxCostUsd: parts.config.maxCostUsd,
      },
      signal: scheduler.runSignal,
    });
    outcome = result.value;
  } catch (error) {
    if (scheduler.runSignal.aborted) return false;
    if (error instanceof BudgetExceeded || isFatal(error)) throw error;
    // A provider that keeps failing is recorded, not fatal: the idea is not held back for it.
    outcome = { verdict: 'unreadable', reason: `the auditor call failed: ${describeError(error)}` };
  }
  store.recordAudit(ideaId, { verdict: outcome.verdict, reason: outcome.reason, auditor: outcome.reviewer ?? auditor.name });
  record.refresh(ideaId);
  if (outcome.verdict !== 'ok') {
    const what = outcome.verdict === 'flagged' ? 'flagged by the auditor (kept out of the best until `researcher accept`)' : 'not reviewed';
    progress.report({ type: 'log', message: `idea ${ideaId} ${what}: ${outcome.reason}` });
  }
  return true;
}
