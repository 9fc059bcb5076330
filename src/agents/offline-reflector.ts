/**
 * The offline agent's reflection: no model, the run's results read as an experiment. For every
 * knob it compares each succeeded idea with the idea it was built on (the baseline, for an idea
 * on the base code) and says which way of moving the knob moved the reward, by how much on
 * average and at the extremes, over which ideas; failed ideas are the dead ends; knobs never
 * moved, or whose moves disagree, are the open questions. Rewards are means over seeds, shown
 * with their spread.
 */
import { bestFinished, isFinished, type Goal } from '../core/ideas.ts';
import type { AgentResult } from '../core/interfaces.ts';
import type { Reflection, ReflectionInput, ReflectionOutcome, Reflector } from '../core/reflection.ts';
import { ZERO_USAGE, type IdeaRecord } from '../core/types.ts';
import type { Knob } from '../environment/schema.ts';
import { bestIdeaSettings, type KnobValues, knobValuesIn } from './knobs.ts';

interface Move {
  idea: IdeaRecord;
  from: string;
  to: string;
  /** Reward change against the idea it was built on, in the goal's direction (positive: better). */
  gain: number;
  /** Other knobs moved by the same idea. */
  alongside: number;
}

function number(value: number): string {
  return Math.abs(value) >= 1000 || (Math.abs(value) < 0.001 && value !== 0) ? value.toExponential(2) : String(Number(value.toPrecision(3)));
}

function signed(value: number): string {
  return `${value >= 0 ? '+' : ''}${number(value)}`;
}

function rewardOf(idea: IdeaRecord): string {
  if (idea.reward === null) return 'n/a';
  return idea.rewardCount > 1 && idea.rewardStd !== null ? `${number(idea.reward)} ± ${number(idea.rewardStd)}` : number(idea.reward);
}

function direction(knob: Knob, from: string, to: string): string {
  if (knob.type === 'choice') return `setting ${knob.name} to ${to}`;
  return `${Number(to) > Number(from) ? 'raising' : 'lowering'} ${knob.name}`;
}

export class OfflineReflector implements Reflector {
  readonly name = 'offline';

  async reflect(input: ReflectionInput): Promise<AgentResult<ReflectionOutcome>> {
    const { knobs, reward } = input.environment.config;
    const goal: Goal = reward.goal;
    const sign = goal === 'maximize' ? 1 : -1;
    const ideas = input.history.filter((idea): idea is IdeaRecord => Boolean(idea));
    const byId = new Map(ideas.map((idea) => [idea.id, idea]));
    const baseline = byId.get(0);
    const cache = new Map<string, Promise<KnobValues | null>>();
    const valuesAt = (commit: string | null) => {
      if (!commit) return Promise.resolve(null);
      if (!cache.has(commit)) cache.set(commit, knobValuesIn(knobs, (file) => input.readFileAt(commit, file)));
      return cache.get(commit)!;
    };

    const finished = ideas.filter((idea) => idea.id !== 0 && isFinished(idea));
    const succeeded = finished.filter((idea) => idea.status === 'succeeded' && idea.reward !== null);
    const failed = finished.filter((idea) => idea.status === 'failed' && idea.failureReason !== 'duplicate');

    // Each succeeded idea against what it was built on: which knobs it moved, and what that did.
    const moves = new Map<string, Move[]>();
    for (const idea of succeeded) {
      const parent = byId.get(idea.parentId ?? 0);
      if (!parent || parent.status !== 'succeeded' || parent.reward === null) continue;
      const [mine, theirs] = await Promise.all([valuesAt(idea.commit), valuesAt(parent.commit)]);
      if (!mine || !theirs) continue;
      const moved = knobs.filter((knob) => mine[knob.name] !== theirs[knob.name]);
      for (const knob of moved) {
        const key = `${knob.name}\u0000${direction(knob, theirs[knob.name], mine[knob.name])}`;
        const list = moves.get(key) ?? [];
        list.push({ idea, from: theirs[knob.name], to: mine[knob.name], gain: sign * (idea.reward! - parent.reward), alongside: moved.length - 1 });
        moves.set(key, list);
      }
    }

    const effects = [...moves.entries()]
      .map(([key, list]) => {
        const [knob, how] = key.split('\u0000');
        const gains = list.map((m) => m.gain);
        const mean = gains.reduce((a, b) => a + b, 0) / gains.length;
        return { knob, how, list, mean, low: Math.min(...gains), high: Math.max(...gains) };
      })
      .sort((a, b) => Math.abs(b.mean) - Math.abs(a.mean) || a.how.localeCompare(b.how));

    const findings: Reflection['findings'] = effects.slice(0, 8).map((effect) => {
      const alone = effect.list.filter((m) => m.alongside === 0).length;
      const range = effect.list.length > 1 ? ` (from ${signed(effect.low)} to ${signed(effect.high)})` : '';
      const shown = effect.list
        .slice(0, 4)
        .map((m) => `#${m.idea.id} ${effect.knob} ${m.from} → ${m.to}: ${rewardOf(m.idea)} (${signed(m.gain)})`)
        .join('; ');
      return {
        claim: `${effect.how} moved the reward by ${signed(effect.mean)} on average over ${effect.list.length} idea(s)${range}${alone === effect.list.length ? '' : alone === 0 ? ', each together with other knobs' : `, ${effect.list.length - alone} of them together with other knobs`}`,
        evidence: `run ${input.runId}: ${shown}${effect.list.length > 4 ? `; and ${effect.list.length - 4} more` : ''}`,
      };
    });

    const deadEnds: string[] = [];
    const reasons = new Map<string, IdeaRecord[]>();
    for (const idea of failed) reasons.set(idea.failureReason ?? 'failed', [...(reasons.get(idea.failureReason ?? 'failed') ?? []), idea]);
    for (const [reason, list] of [...reasons.entries()].sort((a, b) => b[1].length - a[1].length)) {
      const shown = list
        .slice(0, 3)
        .map((idea) => `#${idea.id} "${idea.title}"`)
        .join(', ');
      deadEnds.push(`${list.length} idea(s) failed (${reason}) in run ${input.runId}: ${shown}${list.length > 3 ? ', …' : ''}`);
    }
    for (const effect of effects.filter((e) => e.list.length >= 2 && e.high < 0).slice(0, 3)) {
      deadEnds.push(`${effect.how}: worse every time (${effect.list.length} ideas, ${signed(effect.mean)} on average)`);
    }

    const openQuestions: string[] = [];
    const movedKnobs = new Set(effects.map((e) => e.knob));
    const never = knobs.filter((knob) => !movedKnobs.has(knob.name)).map((knob) => knob.name);
    if (never.length) openQuestions.push(`never moved alone or together in a succeeded idea: ${never.join(', ')}`);
    for (const effect of effects.filter((e) => e.low < 0 && e.high > 0).slice(0, 3)) {
      openQuestions.push(`${effect.how} helped in some ideas and hurt in others (${signed(effect.low)} to ${signed(effect.high)}): it depends on the other settings, or on noise`);
    }

    const best = bestFinished(ideas, goal);
    const parts = [`After ${finished.length} idea(s) (${succeeded.length} succeeded, ${finished.length - succeeded.length} failed)`];
    if (best && best.id !== 0 && baseline?.reward != null) {
      parts.push(`the best is #${best.id} "${best.title}" at ${rewardOf(best)} against the baseline's ${rewardOf(baseline)} (${signed(sign * (best.reward! - baseline.reward))})`);
    }
    if (effects[0]) parts.push(`the move that changed the reward most: ${effects[0].how} (${signed(effects[0].mean)} on average over ${effects[0].list.length} idea(s))`);
    const reflection: Reflection = { summary: `${parts.join('; ')}.`, findings, deadEnds, openQuestions };
    return { value: { reflection, bestSettings: await bestIdeaSettings(input) }, usage: ZERO_USAGE };
  }
}
