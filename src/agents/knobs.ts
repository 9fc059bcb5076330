/**
 * Knobs: numeric settings an environment declares in its files (a regex whose first capture
 * group is the value). Reading them, sampling new values, and writing them back as edits.
 */
import type { SearchReplace } from '../core/types.ts';
import type { Knob } from '../environment/schema.ts';
import { bestFinished } from '../core/ideas.ts';
import { gaussian } from '../core/random.ts';
import type { ReflectionInput } from '../core/reflection.ts';

export type KnobValues = Record<string, string>;

function knobRegex(knob: Knob): RegExp {
  return new RegExp(knob.pattern, 'md');
}

/** The knob's current value in `text`, or null when its pattern does not match. */
export function readKnob(knob: Knob, text: string): string | null {
  const match = knobRegex(knob).exec(text);
  return match?.[1]?.trim() ?? null;
}

/** A search/replace block that sets the knob to `value` in `text`, or null if the pattern is not found. */
export function knobEdit(knob: Knob, text: string, value: string): SearchReplace | null {
  const match = knobRegex(knob).exec(text);
  if (!match?.indices?.[1]) return null;
  const [start, end] = match.indices[1];
  const lineStart = match.index;
  const line = match[0];
  const replaced = line.slice(0, start - lineStart) + value + line.slice(end - lineStart);
  return { path: knob.file, search: line, replace: replaced };
}

export function formatKnobValue(knob: Knob, value: number | string): string {
  if (knob.type === 'choice') return String(value);
  if (knob.type === 'int') return String(Math.round(Number(value)));
  const n = Number(value);
  return String(Number(n.toPrecision(3)));
}

function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}

/** A value drawn uniformly from the knob's range (on its scale). */
export function sampleKnob(knob: Knob, random: () => number): string {
  if (knob.type === 'choice') return knob.choices[Math.floor(random() * knob.choices.length)];
  const u = random();
  const value = knob.scale === 'log' ? Math.exp(Math.log(knob.min) + u * (Math.log(knob.max) - Math.log(knob.min))) : knob.min + u * (knob.max - knob.min);
  return formatKnobValue(knob, value);
}

/** A value near `current` (local search): a multiplicative step on log scales, additive otherwise. */
export function perturbKnob(knob: Knob, current: string, random: () => number): string {
  if (knob.type === 'choice') {
    const others = knob.choices.filter((c) => c !== current);
    return others[Math.floor(random() * others.length)] ?? current;
  }
  const x = Number(current);
  if (!Number.isFinite(x)) return sampleKnob(knob, random);
  let next: number;
  if (knob.scale === 'log' && x > 0) {
    next = x * Math.exp(0.6 * gaussian(random));
  } else {
    next = x + 0.2 * (knob.max - knob.min) * gaussian(random);
  }
  if (knob.type === 'int') {
    next = Math.round(next);
    if (next === x) next = x + (random() < 0.5 ? -1 : 1);
  }
  return formatKnobValue(knob, clamp(next, knob.min, knob.max));
}

/** Plan lines the offline thinker writes and the offline coder reads: "set <knob> = <value>". */
const SETTING_LINE = /^set ([A-Za-z_][\w-]*) = (.+)$/gm;

export function settingsToPlan(settings: KnobValues): string {
  return Object.entries(settings)
    .map(([name, value]) => `set ${name} = ${value}`)
    .join('\n');
}

export function planToSettings(plan: string): KnobValues {
  const settings: KnobValues = {};
  for (const match of plan.matchAll(SETTING_LINE)) settings[match[1]] = match[2].trim();
  return settings;
}

/** Every knob's value in the files `read` gives (a commit's code), or null when one cannot be read there. */
export async function knobValuesIn(knobs: readonly Knob[], read: (file: string) => Promise<string | null>): Promise<KnobValues | null> {
  const values: KnobValues = {};
  for (const knob of knobs) {
    const text = await read(knob.file);
    const value = text === null ? null : readKnob(knob, text);
    if (value === null) return null;
    values[knob.name] = value;
  }
  return values;
}

/**
 * The knob settings of the run's best idea, for the notebook's best known configuration: null
 * when the environment has no knobs or no idea beat the baseline.
 */
export async function bestIdeaSettings(input: Pick<ReflectionInput, 'environment' | 'history' | 'readFileAt'>): Promise<KnobValues | null> {
  const { knobs, reward } = input.environment.config;
  const best = bestFinished(input.history.filter(Boolean), reward.goal);
  if (knobs.length === 0 || !best || best.id === 0 || !best.commit) return null;
  const commit = best.commit;
  return knobValuesIn(knobs, (file) => input.readFileAt(commit, file));
}
