/**
 * The offline agent: a real, non-LLM researcher that needs no API key.
 *
 * The thinker searches over the environment's knobs — random exploration at first and now and
 * then, local search around the best idea so far otherwise — and explains each proposal in one
 * line; a run whose environment has a lab notebook starts from the notebook's best known
 * configuration. The coder writes the proposal into the files as search/replace edits. It is the honest
 * baseline an LLM researcher has to beat, and what `npm start` runs.
 */
import { ConfigError } from '../core/errors.ts';
import { bestFinished, isFinished } from '../core/ideas.ts';
import type { AgentResult, EditWriter, ResearchContext, Thinker } from '../core/interfaces.ts';
import { ZERO_USAGE, type Edit, type IdeaDraft, type SearchReplace } from '../core/types.ts';
import type { Knob } from '../environment/schema.ts';
import {
  type KnobValues,
  knobEdit,
  perturbKnob,
  planToSettings,
  readKnob,
  sampleKnob,
  settingsToPlan,
} from './knobs.ts';

/** Ideas proposed by pure random search before local search starts. */
const WARMUP_IDEAS = 3;
/** Share of later ideas that still explore at random, so the search does not get stuck. */
const EXPLORE_RATE = 0.25;
/** Attempts at finding settings no earlier idea used. */
const DUPLICATE_RETRIES = 20;

export function requireKnobs(knobs: Knob[], environmentFile: string): void {
  if (knobs.length === 0) {
    throw new ConfigError(
      `${environmentFile}: knobs: the offline agent searches over knobs and this environment declares none; add knobs or use an LLM agent (--agent agents/openai.yaml)`,
    );
  }
}

export class OfflineThinker implements Thinker {
  readonly name = 'offline';
  /** Knob values per commit: commits never change, so this is read once per idea per run. */
  private readonly valuesByCommit = new Map<string, Promise<KnobValues>>();

  async propose(context: ResearchContext): Promise<AgentResult<IdeaDraft>> {
    const { knobs } = context.environment.config;
    requireKnobs(knobs, context.environment.file);
    const valuesAt = (commit: string) => {
      if (!this.valuesByCommit.has(commit)) {
        this.valuesByCommit.set(commit, readAllKnobs(knobs, (file) => context.readFileAt(commit, file)));
      }
      return this.valuesByCommit.get(commit)!;
    };

    const parentValues = await (context.parent?.commit ? valuesAt(context.parent.commit) : readAllKnobs(knobs, context.readFile));
    const finished = context.history.filter((idea) => idea.id !== 0 && isFinished(idea));
    const best = bestFinished(context.history, context.environment.config.reward.goal);
    const bestValues = best?.commit ? await valuesAt(best.commit) : parentValues;

    const seen = new Set<string>();
    for (const idea of context.history) if (idea.commit) seen.add(key(await valuesAt(idea.commit)));

    // A run on an environment with a lab notebook starts by re-measuring the best configuration
    // the notebook knows of, so the search goes on from where earlier runs left it.
    const known = notebookStart(knobs, context, parentValues, seen);
    if (known) return known;

    const explore = finished.length < WARMUP_IDEAS || context.random() < EXPLORE_RATE || !best;
    let target: KnobValues = parentValues;
    for (let attempt = 0; attempt < DUPLICATE_RETRIES; attempt++) {
      target = explore ? this.explore(knobs, bestValues, context.random) : this.exploit(knobs, bestValues, context.random);
      if (!seen.has(key(target)) && key(target) !== key(parentValues)) break;
    }

    const changes = knobs.filter((knob) => target[knob.name] !== parentValues[knob.name]);
    const settings = Object.fromEntries(changes.map((knob) => [knob.name, target[knob.name]]));
    const title = changes.map((knob) => `${knob.name} ${parentValues[knob.name]} → ${target[knob.name]}`).join(', ') || 'rerun unchanged';
    // The title lists the diff (against the parent); the hypothesis says what moved from the
    // settings the search started from (the best so far), which is the actual step taken.
    const moved = knobs.filter((knob) => target[knob.name] !== bestValues[knob.name]);
    const step = describe(moved.length ? moved : changes, moved.length ? bestValues : parentValues, target);
    const from = best && best.id !== 0 ? `the best idea so far (#${best.id}, reward ${best.reward?.toPrecision(4)})` : 'the baseline';
    const hypothesis = explore
      ? `Random exploration starting from ${from}: ${step} may find a better region than the one searched so far.`
      : `Local search around ${from}: ${step} may improve on it.`;
    return {
      value: {
        title,
        hypothesis,
        plan: settingsToPlan(settings),
        expectedEffect: explore ? 'unknown: exploration' : 'a small improvement over the best idea so far',
      },
      usage: ZERO_USAGE,
    };
  }

  /** Random search: one to three knobs set to random values, starting from the best settings. */
  private explore(knobs: Knob[], from: KnobValues, random: () => number): KnobValues {
    const target = { ...from };
    const count = 1 + Math.floor(random() * Math.min(3, knobs.length));
    for (const knob of shuffle(knobs, random).slice(0, count)) target[knob.name] = sampleKnob(knob, random);
    return target;
  }

  /** Local search: one or two knobs nudged from the best settings. */
  private exploit(knobs: Knob[], from: KnobValues, random: () => number): KnobValues {
    const target = { ...from };
    const count = random() < 0.7 ? 1 : Math.min(2, knobs.length);
    for (const knob of shuffle(knobs, random).slice(0, count)) target[knob.name] = perturbKnob(knob, from[knob.name], random);
    return target;
  }
}

/**
 * The first idea of a run whose notebook names a best known configuration: that configuration,
 * when every knob's value is one this environment allows (the notebook is a file anyone may
 * edit: nothing else from it reaches the code) and it is not what the run already has.
 */
function notebookStart(knobs: Knob[], context: ResearchContext, parentValues: KnobValues, seen: Set<string>): AgentResult<IdeaDraft> | null {
  const best = context.notebook?.best;
  if (!best?.settings) return null;
  if (!context.history.every((idea) => !idea || idea.id === 0 || idea.id >= context.ideaId)) return null; // only the run's first idea
  const target: KnobValues = { ...parentValues };
  for (const knob of knobs) {
    const value = best.settings[knob.name];
    if (value === undefined || !allowed(knob, value)) return null;
    target[knob.name] = value;
  }
  if (key(target) === key(parentValues) || seen.has(key(target))) return null;
  const changes = knobs.filter((knob) => target[knob.name] !== parentValues[knob.name]);
  return {
    value: {
      title: changes.map((knob) => `${knob.name} ${parentValues[knob.name]} → ${target[knob.name]}`).join(', '),
      hypothesis: `The lab notebook's best known configuration (run ${best.run}, idea #${best.idea}, reward ${Number(best.reward.toPrecision(4))}), measured again in this run so the search starts from it.`,
      plan: settingsToPlan(Object.fromEntries(changes.map((knob) => [knob.name, target[knob.name]]))),
      expectedEffect: `about the reward it had there (${Number(best.reward.toPrecision(4))})`,
    },
    usage: ZERO_USAGE,
  };
}

/** A value the knob may take: one of its choices, or a number in its range. */
function allowed(knob: Knob, value: string): boolean {
  if (knob.type === 'choice') return knob.choices.includes(value);
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(value)) return false;
  const n = Number(value);
  return Number.isFinite(n) && n >= knob.min && n <= knob.max && (knob.type !== 'int' || Number.isInteger(n));
}

export class OfflineCoder implements EditWriter {
  readonly name = 'offline';

  async implement(idea: IdeaDraft, context: ResearchContext): Promise<AgentResult<Edit>> {
    const { knobs } = context.environment.config;
    const settings = planToSettings(idea.plan);
    const blocks: SearchReplace[] = [];
    const pending = new Map<string, string>();
    for (const [name, value] of Object.entries(settings)) {
      const knob = knobs.find((k) => k.name === name);
      if (!knob) throw new Error(`the plan sets "${name}", which is not a knob of this environment`);
      const text = pending.get(knob.file) ?? (await context.readFile(knob.file));
      if (text === null) throw new Error(`knob ${name}: ${knob.file} does not exist`);
      const block = knobEdit(knob, text, value);
      if (!block) throw new Error(`knob ${name}: /${knob.pattern}/ does not match ${knob.file}`);
      blocks.push(block);
      pending.set(knob.file, text.replace(block.search, block.replace));
    }
    if (blocks.length === 0) throw new Error('the idea changes no knob');
    return { value: { kind: 'search-replace', blocks }, usage: ZERO_USAGE };
  }
}

async function readAllKnobs(knobs: Knob[], read: (file: string) => Promise<string | null>): Promise<KnobValues> {
  const values: KnobValues = {};
  for (const knob of knobs) {
    const text = await read(knob.file);
    const value = text === null ? null : readKnob(knob, text);
    if (value === null) throw new ConfigError(`knob ${knob.name}: /${knob.pattern}/ does not match ${knob.file}`);
    values[knob.name] = value;
  }
  return values;
}

function describe(changes: Knob[], from: KnobValues, to: KnobValues): string {
  return changes
    .map((knob) => {
      const a = Number(from[knob.name]);
      const b = Number(to[knob.name]);
      if (knob.type === 'choice' || !Number.isFinite(a) || !Number.isFinite(b)) return `setting ${knob.name} to ${to[knob.name]}`;
      return `${b > a ? 'raising' : 'lowering'} ${knob.name} from ${from[knob.name]} to ${to[knob.name]}`;
    })
    .join(' and ');
}

function key(values: KnobValues): string {
  return JSON.stringify(Object.entries(values).sort());
}

function shuffle<T>(items: readonly T[], random: () => number): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy;
}
