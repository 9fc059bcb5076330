/**
 * Reflection: the researcher stepping back from its ideas to say what they established. It
 * happens when a sweep ends (and every N finished ideas, when the agent file asks for it): the
 * reflector reads the run's records and the environment's lab notebook, and answers with what
 * was learned. The sweep (./sweep/memory.ts) records each reflection, shows its summary to the
 * thinker from then on, and writes it into the notebook (src/store/notebook.ts).
 *
 * The reflector is an agent like the thinker: the LLM one asks a model (its reply is checked
 * against `Reflection`, so a garbage reply changes nothing), the offline one computes the same
 * shape from the results (which knobs moved the reward, by how much).
 */
import { z } from 'zod';
import type { Environment } from '../environment/load.ts';
import type { AgentResult, ModelCallLedger } from './interfaces.ts';
import type { IdeaRecord } from './types.ts';

const line = z.string().trim().min(1);
const list = z.union([z.array(line), line.transform((item) => [item])]).default([]);

/** What a reflection says. Lenient where models vary harmlessly (one string for a list), strict where it matters. */
export const Reflection = z.object({
  /** A short "what we have learned so far", shown to the thinker until the next reflection. */
  summary: line,
  /** What the ideas established, each with its evidence (idea ids, rewards with their spread). */
  findings: z
    .array(
      z.union([z.object({ claim: line, evidence: z.string().trim().default('') }), line.transform((claim) => ({ claim, evidence: '' }))]),
    )
    .default([]),
  /** What did not work and should not be tried again as it was. */
  deadEnds: list,
  /** What the ideas so far could not settle. */
  openQuestions: list,
});
export type Reflection = z.output<typeof Reflection>;

/** The best configuration a notebook knows of (the machine-read line of its section, src/store/notebook.ts). */
export const BestKnown = z.object({
  run: z.string().max(200),
  idea: z.number().int(),
  title: z.string().max(400),
  reward: z.number(),
  rewardStd: z.number().nullable(),
  rewardCount: z.number().int(),
  /** Knob settings of that idea's code, when the environment has knobs. */
  settings: z.record(z.string().max(100), z.string().max(100)).nullable(),
});
export type BestKnown = z.output<typeof BestKnown>;

/** When a reflection happens: every N finished ideas inside a sweep, or once the sweep ends. */
export type ReflectionKind = 'periodic' | 'final';

/** Everything a reflector may know. */
export interface ReflectionInput {
  kind: ReflectionKind;
  runId: string;
  environment: Environment;
  /** Every idea of the run so far, the baseline (id 0) first. */
  history: readonly IdeaRecord[];
  /** Finished ideas (the baseline not counted) when the reflection was asked for. */
  afterIdeas: number;
  /** The environment's lab notebook as it is now (the person's notes included), or null. */
  notebook: string | null;
  /** This run's previous reflection's summary, or null. */
  previous: string | null;
  /** Reads a file of the code at a commit of the run (an idea's, the base). */
  readFileAt(commit: string, relativePath: string): Promise<string | null>;
  /** Records model calls and enforces --max-cost, as for the thinker. */
  ledger: ModelCallLedger;
  signal?: AbortSignal;
}

/** What a reflector answers: the reflection, and the knob settings of the run's best idea when the environment has knobs. */
export interface ReflectionOutcome {
  reflection: Reflection;
  bestSettings: Record<string, string> | null;
}

export interface Reflector {
  readonly name: string;
  reflect(input: ReflectionInput): Promise<AgentResult<ReflectionOutcome>>;
}

/** How often a sweep reflects: every `every` finished ideas (0: only when it ends), and how much of the notebook the thinker sees. */
export interface ReflectionSettings {
  every: number;
  notebookTokens: number;
}

export const DEFAULT_REFLECTION: ReflectionSettings = { every: 0, notebookTokens: 2_000 };

/**
 * Text from the run's records (ideas' titles, a model's reply) made safe to put in Markdown: one
 * line, no HTML (so it cannot forge the notebook's markers or hide text in a comment), no link
 * syntax, at most `max` characters.
 */
export function plainText(text: string, max: number): string {
  const oneLine = text
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/[[\]]/g, (bracket) => `\\${bracket}`);
  return oneLine.length > max ? `${oneLine.slice(0, max - 1)}…` : oneLine;
}

/** The most findings, dead ends and open questions a reflection keeps (a long reply is cut, not refused). */
export const REFLECTION_ITEMS = { findings: 8, deadEnds: 6, openQuestions: 5 } as const;

/** "What we have learned so far", as the thinker sees it until the next reflection: short, plain, bounded. */
export function learnedText(reflection: Reflection): string {
  const lines = [plainText(reflection.summary, 800)];
  const findings = reflection.findings.slice(0, REFLECTION_ITEMS.findings);
  if (findings.length)
    lines.push(
      '',
      'Findings:',
      ...findings.map((f) => `- ${plainText(f.claim, 240)}${f.evidence ? ` (${plainText(f.evidence, 160)})` : ''}`),
    );
  const deadEnds = reflection.deadEnds.slice(0, REFLECTION_ITEMS.deadEnds);
  if (deadEnds.length) lines.push('', 'Dead ends (do not repeat them as they were):', ...deadEnds.map((d) => `- ${plainText(d, 200)}`));
  const questions = reflection.openQuestions.slice(0, REFLECTION_ITEMS.openQuestions);
  if (questions.length) lines.push('', 'Open questions:', ...questions.map((q) => `- ${plainText(q, 200)}`));
  return lines.join('\n');
}
