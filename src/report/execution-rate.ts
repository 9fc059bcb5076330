/**
 * The execution rate: the share of coded ideas whose code ran to a reward — with debug rounds
 * (the idea's last attempt ran) and without them (its first attempt did, as it would have with
 * debug rounds off). A coded idea is a finished idea whose change was committed and run, or
 * whose smoke step ran: ideas that never got code (the coder failed, a refused edit), duplicates
 * and ideas lost to the engine (infrastructure, interrupted) are not counted — they say nothing
 * about whether code runs.
 */
import type { IdeaRecord } from '../core/types.ts';

export interface ExecutionRate {
  /** Ideas whose code ran (or whose smoke step did). */
  coded: number;
  /** Of those, ideas whose last attempt ran to a reward. */
  executed: number;
  /** Of those, ideas whose first attempt ran to a reward (no debug round needed). */
  executedFirstAttempt: number;
  /** executed / coded (null when nothing was coded). */
  rate: number | null;
  /** executedFirstAttempt / coded: the rate without debug rounds. */
  rateWithoutDebugRounds: number | null;
  /** Debug rounds in all, and how many of them ended with a committed fix. */
  debugRounds: number;
  fixesCommitted: number;
}

const NOT_CODED = new Set(['agent-error', 'patch-failed', 'refused', 'duplicate', 'infrastructure', 'interrupted']);

export function executionRate(
  ideas: readonly Pick<IdeaRecord, 'id' | 'status' | 'failureReason' | 'commit'>[],
  rounds: readonly { ideaId: number; status: string }[],
): ExecutionRate {
  const coded = ideas.filter(
    (idea) =>
      idea.id !== 0 &&
      idea.commit !== null &&
      (idea.status === 'succeeded' || (idea.status === 'failed' && !NOT_CODED.has(idea.failureReason ?? ''))),
  );
  const fixed = new Set(rounds.filter((round) => round.status === 'committed').map((round) => round.ideaId));
  // A run the learning-curve rule stopped ran its code: executed, with a low result.
  const executed = coded.filter((idea) => idea.status === 'succeeded' || idea.failureReason === 'stopped-early');
  const firstAttempt = executed.filter((idea) => !fixed.has(idea.id));
  const share = (n: number) => (coded.length === 0 ? null : n / coded.length);
  return {
    coded: coded.length,
    executed: executed.length,
    executedFirstAttempt: firstAttempt.length,
    rate: share(executed.length),
    rateWithoutDebugRounds: share(firstAttempt.length),
    debugRounds: rounds.filter((round) => round.ideaId !== 0).length,
    fixesCommitted: rounds.filter((round) => round.status === 'committed').length,
  };
}

/** "9/10 coded ideas ran (90%; 5/10 = 50% without debug rounds)". */
export function formatExecutionRate(rate: ExecutionRate): string {
  if (rate.coded === 0) return 'no coded idea has run yet';
  const percent = (x: number | null) => `${Math.round((x ?? 0) * 100)}%`;
  const rounds = rate.debugRounds
    ? `; ${rate.debugRounds} debug round${rate.debugRounds === 1 ? '' : 's'}, ${rate.fixesCommitted} fix${rate.fixesCommitted === 1 ? '' : 'es'} committed`
    : '';
  return `${rate.executed}/${rate.coded} coded ideas ran to a reward (${percent(rate.rate)}; ${rate.executedFirstAttempt}/${rate.coded} = ${percent(rate.rateWithoutDebugRounds)} on the first attempt${rounds})`;
}
