/**
 * One evaluation's learning curve while its run runs: the points the run reports (its output
 * through the sandbox's `onOutput`, or its progress file in $OUTPUT_DIR, polled) are recorded in
 * the store as they come, so a crash keeps the partial curve, and after each batch the
 * early-stopping rule (../early-stopping.ts) is asked whether the run can still win. When it
 * cannot, `signal` aborts: the sweep stops that run's sandbox step alone, and records it as
 * `stopped-early` with the rule's reason.
 *
 * Never stopped: the baseline, and an idea's confirmation seeds (it is then a candidate best).
 */
import type { Progress } from '../../environment/schema.ts';
import { ProgressReader, type ParsedPoint } from '../../reward/progress.ts';
import {
  earlyStopDecision,
  parseEarlyStop,
  type CurvePoint,
  type EarlyStopRule,
  type StopDecision,
  type StopReferences,
} from '../early-stopping.ts';
import type { IdeaRecord } from '../types.ts';
import type { SweepParts } from './dependencies.ts';

/** How often the rule is asked, at most (it reads the references' curves from the store). */
const CHECK_EVERY_MS = 500;
/** How often a progress file in $OUTPUT_DIR is read while the run runs. */
const FILE_POLL_MS = 1000;

export type EarlyStop = Extract<StopDecision, { stop: true }>;

export class RunProgress {
  private readonly reader: ProgressReader;
  private readonly stopper = new AbortController();
  private readonly startedAt = Date.now();
  private readonly curve: CurvePoint[] = [];
  private readonly rule: EarlyStopRule | null;
  private lastCheck = 0;
  private poller: NodeJS.Timeout | null = null;
  /** The rule's decision, once it stopped the run. */
  stopped: EarlyStop | null = null;

  /** The tracker for one seed's run, or null when the environment declares no progress. */
  static start(parts: SweepParts, idea: IdeaRecord, seed: number, evaluationId: number, outputDir: string): RunProgress | null {
    const progress = parts.deps.environment.config.progress;
    if (!progress) return null;
    // Only an idea's own first seeds may be stopped: never the baseline, never a confirmation.
    const stoppable = idea.id !== 0 && seed < parts.config.seeds;
    return new RunProgress(parts, progress, evaluationId, outputDir, stoppable ? parseEarlyStop(parts.config.earlyStop) : null);
  }

  private constructor(
    private readonly parts: SweepParts,
    readonly progress: Progress,
    private readonly evaluationId: number,
    private readonly outputDir: string,
    rule: EarlyStopRule | null,
  ) {
    this.reader = new ProgressReader(progress);
    this.rule = rule;
    if (progress.file !== undefined) {
      this.poller = setInterval(() => this.take(this.reader.pollFile(this.outputDir)), FILE_POLL_MS);
      this.poller.unref();
    }
  }

  /** Aborted when the rule stops the run. */
  get signal(): AbortSignal {
    return this.stopper.signal;
  }

  /** For the sandbox request: output chunks in pattern mode; nothing in file mode. */
  readonly onOutput = (chunk: Buffer): void => {
    if (this.progress.pattern !== undefined) this.take(this.reader.push(chunk));
  };

  /** For the sandbox request: the progress file a staging sandbox should copy back as it grows (plain names only). */
  get progressFile(): string | undefined {
    const file = this.progress.file;
    return file !== undefined && /^[\w.-]+$/.test(file) && file !== '.' && file !== '..' ? file : undefined;
  }

  /** The run is over: its last points are read and recorded, the file is no longer polled. */
  finish(): void {
    if (this.poller) clearInterval(this.poller);
    this.poller = null;
    const rest = this.progress.pattern !== undefined ? this.reader.end() : [...this.reader.pollFile(this.outputDir), ...this.reader.end()];
    this.record(rest);
    if (this.reader.dropped > 0) {
      this.parts.deps.progress.report({
        type: 'log',
        message: `evaluation ${this.evaluationId}: ${this.reader.dropped} progress points past the ${this.curve.length}-point cap were not kept`,
      });
    }
  }

  private take(points: ParsedPoint[]): void {
    if (points.length === 0 || this.stopped) return;
    this.record(points);
    if (this.rule === null || Date.now() - this.lastCheck < CHECK_EVERY_MS) return;
    this.lastCheck = Date.now();
    const decision = earlyStopDecision(this.rule, { steps: this.progress.steps, goal: this.goal() }, this.curve, this.references());
    if (!decision.stop) return;
    this.stopped = decision;
    this.stopper.abort();
  }

  private record(points: ParsedPoint[]): void {
    if (points.length === 0) return;
    const atMs = Date.now() - this.startedAt;
    this.curve.push(...points);
    this.parts.deps.store.recordProgress(
      this.evaluationId,
      points.map((point) => ({ ...point, atMs })),
    );
  }

  private goal() {
    return this.progress.goal ?? this.parts.deps.environment.config.reward.goal;
  }

  /** The finished runs to compare with: the baseline's seeds and the best finished idea's. */
  private references(): StopReferences {
    const { record } = this.parts;
    const best = record.best();
    return {
      baseline: this.finishedCurves(0),
      leaders: best && best.id !== 0 ? [{ ideaId: best.id, curves: this.finishedCurves(best.id) }] : [],
    };
  }

  private finishedCurves(ideaId: number): CurvePoint[][] {
    const { store } = this.parts.deps;
    const succeeded = new Set(
      store
        .evaluations(ideaId)
        .filter((e) => e.status === 'succeeded')
        .map((e) => e.id),
    );
    return store
      .curves(ideaId)
      .filter((curve) => succeeded.has(curve.evaluationId))
      .map((curve) => curve.points);
  }
}
