/**
 * A plausibility flag that needs no model: an idea whose reward is far outside what the run has
 * seen is marked "check this", whichever agent produced it. Two signs, each with its numbers:
 * - a jump: in one step, many standard errors above the best reward known when it finished
 *   (the standard error from the baseline's seed-to-seed spread);
 * - the bound: it reached the end of the environment's declared `reward.range` (a perfect score
 *   is more often a shortcut, such as predictions copied from the answers, than a discovery).
 * It judges nothing by itself: a person reads the diff (or the auditor does).
 */
import { formatNumber, signed } from './format.ts';
import { isBetter, type Goal } from './ideas.ts';
import { difference } from './statistics.ts';

/** A jump above the best so far of more than this many standard errors is flagged. */
export const JUMP_STANDARD_ERRORS = 10;

export interface PlausibilityFlag {
  kind: 'jump' | 'range-bound';
  /** What was seen, with the numbers, for a person. */
  message: string;
}

export interface ScoredIdea {
  id: number;
  reward: number;
  rewardCount: number;
}

export interface PlausibilityInput {
  /** Scored ideas (the baseline, id 0, included) in the order they finished. */
  finished: readonly ScoredIdea[];
  goal: Goal;
  /** The baseline's seed-to-seed spread: null when it ran one seed (no jump is judged then). */
  baselineStd: number | null;
  /** The environment's declared `reward.range`, if any. */
  range: readonly [number, number] | null;
}

/** The flags of every idea that has any, by idea id. */
export function plausibilityFlags(input: PlausibilityInput): Map<number, PlausibilityFlag[]> {
  const { goal, baselineStd, range } = input;
  const sign = goal === 'maximize' ? 1 : -1;
  const flags = new Map<number, PlausibilityFlag[]>();
  let best: ScoredIdea | null = null;
  for (const idea of input.finished) {
    const found: PlausibilityFlag[] = [];
    if (idea.id !== 0 && best && baselineStd !== null && baselineStd > 0 && isBetter(idea.reward, best.reward, goal)) {
      const jump = sign * difference(idea.reward, best.reward);
      const standardError = baselineStd * Math.sqrt(1 / best.rewardCount + 1 / idea.rewardCount);
      const errors = Math.min(Number.MAX_VALUE, jump / standardError);
      if (errors > JUMP_STANDARD_ERRORS) {
        found.push({
          kind: 'jump',
          message: `${signed(jump)} over the best so far (${formatNumber(best.reward)}, ${best.id === 0 ? 'the baseline' : `idea ${best.id}`}) in one step: ${formatNumber(errors)} standard errors of ${formatNumber(standardError)} (from the baseline's seed spread ${formatNumber(baselineStd)}); flagged above ${JUMP_STANDARD_ERRORS}`,
        });
      }
    }
    if (idea.id !== 0 && range) {
      const bound = goal === 'maximize' ? range[1] : range[0];
      const tolerance = 1e-9 * difference(range[1], range[0]);
      if (sign * (idea.reward - bound) >= -tolerance) {
        found.push({
          kind: 'range-bound',
          message: `${formatNumber(idea.reward)} is at the ${goal === 'maximize' ? 'top' : 'bottom'} of the declared reward range [${formatNumber(range[0])}, ${formatNumber(range[1])}]`,
        });
      }
    }
    if (found.length) flags.set(idea.id, found);
    if (!best || isBetter(idea.reward, best.reward, goal)) best = idea;
  }
  return flags;
}

/** One line: "check this: …; …". */
export function describeFlags(flags: readonly PlausibilityFlag[]): string {
  return `check this: ${flags.map((flag) => flag.message).join('; ')}`;
}
