/**
 * Early stopping on recorded learning curves: a sweep is replayed on K slots from real runs'
 * curves (bench/curves/*.json: each run's points with the time they came, its duration and its
 * final reward), with the stopping rule off and on (the rule the sweep runs,
 * src/core/early-stopping.ts, called exactly as the sweep calls it), over many repeats with the
 * ideas in shuffled orders and, where an idea was recorded under several seeds, a random seed's
 * run standing for it.
 *
 * The replay: the baseline's seeds (the sweep's default 3, drawn afresh for each repeat where more
 * were recorded) run one after another in one slot (as in a sweep), ideas fill
 * the other slots in order, each freed slot starts the next idea at once (thinking and coding
 * time are left out: they need no slot). With the rule on, at each point of an idea's curve the
 * rule sees the curves of the runs finished by then (the baseline's seeds, the best finished
 * idea) and may stop the run there: its slot is free from that moment.
 *
 * Reported side by side: ideas finished (stopped ones included: they are results) per slot-hour
 * (a slot is a GPU in a GPU sweep; these runs were recorded on CPU cores), the baseline's runs
 * included; the same per slot-hour of ideas alone (the baseline's seeds are a fixed cost that no
 * rule may cut, so this is what the ratio tends to in an overnight sweep of hundreds of ideas,
 * where they are a vanishing share); slot-hours spent on
 * ideas other than the sweep's best, and how often the best idea with the rule on is the best
 * with it off (the true best of the ideas tried).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import {
  earlyStopDecision,
  formatEarlyStop,
  parseEarlyStop,
  windowMean,
  type CurvePoint,
  type EarlyStopRule,
} from '../src/core/early-stopping.ts';
import { isBetter, type Goal } from '../src/core/ideas.ts';
import { mixSeed, seededRandom } from '../src/core/random.ts';
import { summarize, type Summary } from './stats.ts';

export const CURVES_DIR = path.resolve(import.meta.dirname, 'curves');

/** One recorded run: a seed of the baseline or of an idea. */
const RecordedRun = z.object({
  /** Which configuration it ran ("baseline" or the idea's change, e.g. "learning_rate=0.003"). */
  label: z.string(),
  baseline: z.boolean().default(false),
  seed: z.number().int(),
  /** The frozen evaluator's reward; null when the run failed. */
  reward: z.number().nullable(),
  /** Wall time of the run step, ms. */
  durationMs: z.number().positive(),
  points: z.array(z.object({ step: z.number(), value: z.number(), atMs: z.number() })),
});
type RecordedRun = z.output<typeof RecordedRun>;

/** A file of bench/curves/: one environment's recorded runs. */
export const RecordedCurves = z.object({
  environment: z.string(),
  /** progress.steps and the direction of the progress value and of the reward. */
  steps: z.number().positive(),
  goal: z.enum(['maximize', 'minimize']),
  /** How the runs were recorded (machine, sandbox, commit): shown with the results. */
  recorded: z.string().default(''),
  runs: z.array(RecordedRun).min(1),
});
export type RecordedCurves = z.output<typeof RecordedCurves>;

/**
 * The knob recorder's format (bench/record-curves.ts: one run per knob setting, each alone),
 * read as recorded curves: a run with no settings is a baseline seed.
 */
const KnobRecording = z
  .object({
    environment: z.string(),
    progress: z.object({ steps: z.number().positive() }),
    goal: z.enum(['maximize', 'minimize']),
    recordedAt: z.string(),
    host: z.string().default(''),
    runs: z.array(
      z.object({
        name: z.string(),
        settings: z.record(z.string(), z.string()),
        seed: z.number().int(),
        points: z.array(z.object({ step: z.number(), value: z.number(), seconds: z.number() })),
        finalReward: z.number().nullable(),
        durationSeconds: z.number().positive(),
      }),
    ),
  })
  .transform((recording): RecordedCurves => ({
    environment: recording.environment,
    steps: recording.progress.steps,
    goal: recording.goal,
    recorded: `knob runs of ${recording.environment} (bench/record-curves.ts), ${recording.recordedAt}, ${recording.host}`,
    runs: recording.runs.map((run) => {
      const settings = Object.entries(run.settings).sort();
      return {
        label: settings.length === 0 ? 'baseline' : settings.map(([knob, value]) => `${knob}=${value}`).join(','),
        baseline: settings.length === 0,
        seed: run.seed,
        reward: run.finalReward,
        durationMs: run.durationSeconds * 1000,
        points: run.points.map((point) => ({ step: point.step, value: point.value, atMs: point.seconds * 1000 })),
      };
    }),
  }));

export interface EarlyStopRow {
  environment: string;
  slots: number;
  rule: string;
  /** Ideas finished per slot-hour, off and on, per repeat. */
  ideasPerHourOff: Summary;
  ideasPerHourOn: Summary;
  /** Median over repeats of on / off. */
  ratio: Summary;
  /** The same, per slot-hour of ideas alone (the baseline's runs left out). */
  ideasOnlyRatio: Summary;
  /** Slot-hours spent on ideas other than the sweep's best, off and on. */
  wastedHoursOff: Summary;
  wastedHoursOn: Summary;
  /** Ideas stopped early per sweep. */
  stopped: Summary;
  /** Share of repeats whose best idea with the rule on is the best with it off. */
  sameBest: number;
}

export interface EarlyStopResult {
  sources: { file: string; environment: string; recorded: string; baselineRuns: number; ideas: number; runs: number }[];
  repeats: number;
  rows: EarlyStopRow[];
  /** Files of bench/curves/ that are not recorded curves, with why. */
  skipped: string[];
  /** Why nothing was measured (no recorded curves), else null. */
  missing: string | null;
}

/** The rules compared: the default first, then stricter and looser margins. */
const RULES = [
  'on',
  'margin:k=1,grace=0.25,window=0.1',
  'margin:k=3,grace=0.25,window=0.1',
  'margin:k=2,grace=0.15,window=0.1',
  'margin:k=2,grace=0.5,window=0.1',
];
const SLOTS = [2, 4];

/**
 * Successive halving, asynchronous (ASHA-style), measured beside the sweep's rule (the issue's
 * "measure, then choose"; the sweep does not run it): at each rung (a fraction of the steps) a
 * running idea goes on only if its value there (the same window mean) is among the top 1/eta of
 * the finished runs' values at that rung, the baseline's seeds and every finished idea; with
 * fewer than eta of them it goes on.
 */
interface HalvingRule {
  kind: 'halving';
  eta: number;
  rungs: number[];
  window: number;
}
const HALVING_RULES: HalvingRule[] = [
  { kind: 'halving', eta: 2, rungs: [0.25, 0.5], window: 0.1 },
  { kind: 'halving', eta: 3, rungs: [0.25, 0.5], window: 0.1 },
];
type ReplayRule = EarlyStopRule | HalvingRule;

function formatRule(rule: ReplayRule): string {
  return rule.kind === 'halving' ? `halving:eta=${rule.eta},rungs=${rule.rungs.join('+')}` : formatEarlyStop(rule);
}

/** Whether the halving rule stops a run whose latest point is `run`'s last, against finished curves. */
function halvingStops(
  rule: HalvingRule,
  steps: number,
  goal: Goal,
  run: readonly CurvePoint[],
  finished: readonly (readonly CurvePoint[])[],
): boolean {
  const last = run[run.length - 1];
  const previous = run.length > 1 ? run[run.length - 2].step : -Infinity;
  // The rung this point reaches first (a run is judged once per rung).
  const rung = rule.rungs.map((r) => r * steps).find((at) => last.step >= at && previous < at);
  if (rung === undefined) return false;
  const width = rule.window * steps;
  const value = windowMean(run, last.step, width);
  const others = finished.map((curve) => windowMean(curve, last.step, width)).filter((v): v is number => v !== null);
  if (value === null || others.length < rule.eta) return false;
  const sign = goal === 'maximize' ? 1 : -1;
  const better = others.filter((v) => sign * (v - value) > 0).length;
  // Among the top 1/eta of all (the run included) goes on.
  return better >= Math.ceil((others.length + 1) / rule.eta);
}
/** The sweep's default number of baseline seeds (src/cli/run.ts). */
const BASELINE_SEEDS = 3;

export async function earlyStopBench(options: { quick: boolean; log: (line: string) => void }): Promise<EarlyStopResult> {
  const repeats = options.quick ? 200 : 2000;
  const files = existsSync(CURVES_DIR) ? readdirSync(CURVES_DIR).filter((f) => f.endsWith('.json')) : [];
  const result: EarlyStopResult = { sources: [], repeats, rows: [], skipped: [], missing: null };
  if (files.length === 0) {
    result.missing = `no recorded curves in ${path.relative(process.cwd(), CURVES_DIR)}/`;
    return result;
  }
  for (const file of files.sort()) {
    let parsed;
    try {
      const json: unknown = JSON.parse(readFileSync(path.join(CURVES_DIR, file), 'utf8'));
      parsed = RecordedCurves.safeParse(json);
      if (!parsed.success) {
        const recording = KnobRecording.safeParse(json);
        if (recording.success) parsed = recording;
      }
    } catch (error) {
      parsed = { success: false as const, error: error as Error };
    }
    if (!parsed.success) {
      // Another kind of file in the folder (notes, raw recordings): said, not fatal.
      const why = parsed.error instanceof z.ZodError ? z.prettifyError(parsed.error).split('\n')[0] : parsed.error.message;
      result.skipped.push(`${file}: not a recorded-curves file (${why})`);
      continue;
    }
    const curves = parsed.data;
    const baselineRuns = curves.runs.filter((run) => run.baseline);
    const ideas = groupIdeas(curves.runs.filter((run) => !run.baseline));
    result.sources.push({
      file,
      environment: curves.environment,
      recorded: curves.recorded,
      baselineRuns: baselineRuns.length,
      ideas: ideas.length,
      runs: curves.runs.length,
    });
    for (const slots of SLOTS) {
      for (const rule of [...RULES.map((text) => parseEarlyStop(text)!), ...HALVING_RULES]) {
        options.log(`early-stop: ${curves.environment}, K=${slots}, ${formatRule(rule)}`);
        result.rows.push(replayMany(curves, baselineRuns, ideas, slots, rule, repeats));
      }
    }
  }
  if (result.sources.length === 0) result.missing = `no recorded-curves file in ${path.relative(process.cwd(), CURVES_DIR)}/`;
  return result;
}

/** An idea's recorded seeds, grouped by label. */
function groupIdeas(runs: RecordedRun[]): RecordedRun[][] {
  const byLabel = new Map<string, RecordedRun[]>();
  for (const run of runs) byLabel.set(run.label, [...(byLabel.get(run.label) ?? []), run]);
  return [...byLabel.values()];
}

function replayMany(
  curves: RecordedCurves,
  baselineRuns: RecordedRun[],
  ideas: RecordedRun[][],
  slots: number,
  rule: ReplayRule,
  repeats: number,
): EarlyStopRow {
  const perHourOff: number[] = [];
  const perHourOn: number[] = [];
  const ratios: number[] = [];
  const ideasOnlyRatios: number[] = [];
  const wastedOff: number[] = [];
  const wastedOn: number[] = [];
  const stopped: number[] = [];
  let same = 0;
  for (let repeat = 0; repeat < repeats; repeat++) {
    const random = seededRandom(mixSeed(repeat, slots, 0xe5));
    const order = shuffle(
      ideas.map((seeds) => seeds[Math.floor(random() * seeds.length)]),
      random,
    );
    const baseline = shuffle(baselineRuns, random).slice(0, BASELINE_SEEDS);
    const off = replay(curves, baseline, order, slots, null);
    const on = replay(curves, baseline, order, slots, rule);
    perHourOff.push(off.ideas / (off.slotMs / 3.6e6));
    perHourOn.push(on.ideas / (on.slotMs / 3.6e6));
    ratios.push(perHourOn.at(-1)! / perHourOff.at(-1)!);
    const ideaMs = (replayed: Replayed) => replayed.msByIdea.reduce((sum, ms) => sum + ms, 0);
    ideasOnlyRatios.push(ideaMs(off) / ideaMs(on));
    // "Not the final best" is judged by the true best (the rule off): what the sweep should find.
    wastedOff.push(off.msByIdea.reduce((sum, ms, i) => (i === off.best ? sum : sum + ms), 0) / 3.6e6);
    wastedOn.push(on.msByIdea.reduce((sum, ms, i) => (i === off.best ? sum : sum + ms), 0) / 3.6e6);
    stopped.push(on.stopped);
    // Found when the best reward is the same (ideas of equal reward are equally good finds).
    if (on.best !== -1 && off.best !== -1 && order[on.best].reward === order[off.best].reward) same++;
  }
  return {
    environment: curves.environment,
    slots,
    rule: formatRule(rule),
    ideasPerHourOff: summarize(perHourOff),
    ideasPerHourOn: summarize(perHourOn),
    ratio: summarize(ratios),
    ideasOnlyRatio: summarize(ideasOnlyRatios),
    wastedHoursOff: summarize(wastedOff),
    wastedHoursOn: summarize(wastedOn),
    stopped: summarize(stopped),
    sameBest: same / repeats,
  };
}

interface Replayed {
  ideas: number;
  /** Busy slot time of every run, the baseline's included. */
  slotMs: number;
  /** Slot time of each idea, by its place in the order. */
  msByIdea: number[];
  /** Place in the order of the best finished idea (-1: none finished). */
  best: number;
  stopped: number;
}

/** One replayed sweep. Runs are indexed: -1 - i for the baseline's seed i, i ≥ 0 for the order's ideas. */
function replay(
  curves: RecordedCurves,
  baselineRuns: RecordedRun[],
  order: RecordedRun[],
  slots: number,
  rule: ReplayRule | null,
): Replayed {
  const goal: Goal = curves.goal;
  const msByIdea = order.map(() => 0);
  let slotMs = 0;
  let stoppedCount = 0;
  // Finished runs the rule may compare with: the baseline's seeds, and ideas with their reward.
  const finishedBaseline: RecordedRun[] = [];
  const finishedIdeas: { index: number; run: RecordedRun }[] = [];
  interface Running {
    index: number;
    run: RecordedRun;
    start: number;
    /** Next point to reveal. */
    next: number;
  }
  const running: Running[] = [];
  let nextIdea = 0;
  let nextBaseline = 0;
  let baselineSlotBusy = false;
  const start = (index: number, run: RecordedRun, at: number) => running.push({ index, run, start: at, next: 0 });
  const fill = (at: number) => {
    if (!baselineSlotBusy && nextBaseline < baselineRuns.length) {
      baselineSlotBusy = true;
      start(-1 - nextBaseline, baselineRuns[nextBaseline], at);
      nextBaseline++;
    }
    while (running.length < slots && nextIdea < order.length) {
      start(nextIdea, order[nextIdea], at);
      nextIdea++;
    }
  };
  const bestFinished = () => {
    let best: { index: number; run: RecordedRun } | null = null;
    for (const done of finishedIdeas)
      if (done.run.reward !== null && (!best || isBetter(done.run.reward, best.run.reward!, goal))) best = done;
    return best;
  };
  const end = (entry: Running, at: number, stoppedEarly: boolean) => {
    running.splice(running.indexOf(entry), 1);
    const ms = at - entry.start;
    slotMs += ms;
    if (entry.index < 0) {
      finishedBaseline.push(entry.run);
      baselineSlotBusy = false;
    } else {
      msByIdea[entry.index] = ms;
      if (stoppedEarly) stoppedCount++;
      else finishedIdeas.push({ index: entry.index, run: entry.run });
    }
  };

  fill(0);
  while (running.length > 0) {
    // The next event: a run's next point, or its end, whichever comes first across runs.
    let soonest: Running | null = null;
    let soonestAt = Infinity;
    for (const entry of running) {
      const pointAt = entry.next < entry.run.points.length ? entry.start + entry.run.points[entry.next].atMs : Infinity;
      const at = Math.min(pointAt, entry.start + entry.run.durationMs);
      if (at < soonestAt) {
        soonest = entry;
        soonestAt = at;
      }
    }
    const entry = soonest!;
    const pointAt = entry.next < entry.run.points.length ? entry.start + entry.run.points[entry.next].atMs : Infinity;
    if (pointAt <= entry.start + entry.run.durationMs && pointAt === soonestAt) {
      entry.next++;
      if (rule !== null && entry.index >= 0) {
        const points = entry.run.points.slice(0, entry.next);
        const baselineCurves = finishedBaseline.filter((run) => run.reward !== null).map((run) => run.points);
        let stop: boolean;
        if (rule.kind === 'halving') {
          const finished = [...baselineCurves, ...finishedIdeas.filter((done) => done.run.reward !== null).map((done) => done.run.points)];
          stop = halvingStops(rule, curves.steps, goal, points, finished);
        } else {
          const leader = bestFinished();
          stop = earlyStopDecision(rule, { steps: curves.steps, goal }, points, {
            baseline: baselineCurves,
            leaders: leader ? [{ ideaId: leader.index + 1, curves: [leader.run.points] }] : [],
          }).stop;
        }
        if (stop) {
          end(entry, soonestAt, true);
          fill(soonestAt);
        }
      }
      continue;
    }
    end(entry, soonestAt, false);
    fill(soonestAt);
  }
  const best = bestFinished();
  return { ideas: order.length, slotMs, msByIdea, best: best ? best.index : -1, stopped: stoppedCount };
}

function shuffle<T>(items: T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}
