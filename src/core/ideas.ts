/**
 * What every part of the researcher needs to know about ideas: when one is finished, which
 * reward is better for the environment's goal, and which finished idea is the best. The loop,
 * the search strategies, the agents and the reports all judge ideas by these, so they agree.
 */
import type { Reward } from '../environment/schema.ts';
import type { IdeaAudit, IdeaRecord, IdeaStatus } from './types.ts';

/** Which way the reward should go, as the environment's `reward.goal` says. */
export type Goal = Reward['goal'];

/** The better of two rewards for the goal. */
export function isBetter(a: number, b: number, goal: Goal): boolean {
  return goal === 'maximize' ? a > b : a < b;
}

/** Reports show an idea the learning-curve rule stopped as `stopped-early` (stored as failed). */
type ShownStatus = IdeaStatus | 'stopped-early';

export function isFinished(idea: { status: ShownStatus }): boolean {
  return idea.status === 'succeeded' || idea.status === 'failed' || idea.status === 'stopped-early';
}

/** The thinker has not written this idea yet (its row holds a placeholder). */
export function isBeingProposed(idea: IdeaRecord): boolean {
  return idea.meta.proposing === true;
}

/**
 * The auditor flagged the idea and no person has accepted it yet: it may not be the best (nor be
 * built on as the best) whatever its reward.
 */
export function isHeldBack(idea: { audit?: IdeaAudit | null }): boolean {
  return idea.audit?.verdict === 'flagged' && idea.audit.acceptedAt === null;
}

/**
 * The finished idea with the best mean reward (baseline included), or undefined; the first of
 * equals wins, and an idea the auditor flagged is skipped until it is accepted. When rewards are
 * confirmed with extra seeds, the loop keeps an idea running until its confirmation is done, so a
 * finished idea's mean is always the re-evaluated one.
 */
export function bestFinished<T extends { status: ShownStatus; reward: number | null; audit?: IdeaAudit | null }>(
  history: readonly T[],
  goal: Goal,
): T | undefined {
  let best: T | undefined;
  for (const idea of history) {
    if (idea.status !== 'succeeded' || idea.reward === null || isHeldBack(idea)) continue;
    if (!best || isBetter(idea.reward, best.reward!, goal)) best = idea;
  }
  return best;
}
