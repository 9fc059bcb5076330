/**
 * Evaluating an idea: it takes a slot and its GPUs, runs under each seed in the sandbox, and is
 * scored by the frozen evaluator; a candidate best is confirmed with extra seeds before it
 * finishes. Code that fails when it runs (or fails its smoke step, ./smoke.ts) goes back to the
 * coder for a fix (debug rounds, ./debug-round.ts), and the fix is evaluated as the idea. One seed's run and score is `evaluateSeed` below: the one place an evaluation starts.
 */
import path from 'node:path';
import { mkdirSync } from 'node:fs';
import { scoreRun } from '../../reward/evaluate.ts';
import { attemptSeedDir, smokeDir } from '../../store/idea-files.ts';
import { isBetter } from '../ideas.ts';
import type { SandboxHandle, SandboxRequest } from '../interfaces.ts';
import { mean } from '../statistics.ts';
import type { Failure, IdeaRecord } from '../types.ts';
import { DebugRounds, type PendingFailure } from './debug-round.ts';
import type { SweepParts } from './dependencies.ts';
import { auditIfBest } from './audit.ts';
import { RunProgress } from './run-progress.ts';
import { DEBUGGABLE_SMOKE_FAILURES, feedbackLogTail } from './run-failure.ts';
import { runSmokeStep } from './smoke.ts';

/** How one seed's evaluation ended: recorded (and whether to go on with more seeds), or left in flight. */
type SeedOutcome = 'recorded' | 'crashed' | 'stopped';

export class IdeaEvaluator {
  /** Worktrees a seed has run in since they were checked out (reset before the next seed). */
  private readonly dirtied = new Set<string>();
  private readonly debug: DebugRounds;
  constructor(private readonly parts: SweepParts) {
    this.debug = new DebugRounds(parts);
  }

  /**
   * Runs and scores an idea under `seeds` seeds, then records its reward. An idea whose mean beats
   * the best so far is re-evaluated with the confirmation seeds before it finishes, so the best
   * idea is always chosen on a re-evaluated mean (a lucky seed is not a result).
   */
  async evaluate(idea: IdeaRecord, seeds: number, worktree?: string): Promise<void> {
    const { deps, scheduler, record } = this.parts;
    const { workspace, gpuPool } = deps;
    try {
      await scheduler.acquireSlot();
    } catch (error) {
      if (worktree) await workspace.release(worktree);
      throw error;
    }
    scheduler.running++;
    let holding = true;
    const runStarted = Date.now();
    record.reportStatus();
    scheduler.wakeUp(); // a prepared idea just started: the dispatcher may prepare the next one
    let gpus: string[] = [];
    let dir = worktree;
    try {
      gpus = await gpuPool.acquire(deps.environment.config.run.resources.gpus);
      dir ??= await workspace.checkout(idea.id, idea.commit!);
      deps.store.setIdeaStatus(idea.id, 'running');
      record.refresh(idea.id);
      // One pass per attempt: the coder's commit, then each debug round's fix (./debug-round.ts).
      let smokeFailure: Failure | null = null;
      for (;;) {
        const attempt = idea.id === 0 ? 0 : deps.store.currentAttempt(idea.id);
        const smoked = await this.smoke(idea, attempt, gpus, dir);
        if (smoked === 'stopped') return;
        // A failure already recorded for this attempt (a resumed run) is fixed, not run again.
        let failure = smoked?.pending ?? this.debug.runFailure(idea.id, attempt);
        // A seed stopped early ends the idea (a resumed run included): it runs no more seeds, and
        // a low result is not a failure to debug.
        const stoppedEarly = deps.store.evaluations(idea.id).some((e) => e.failureReason === 'stopped-early' && e.attempt === attempt);
        if (!failure && !stoppedEarly) {
          const done = new Set(
            deps.store
              .evaluations(idea.id)
              .filter((e) => e.status !== 'running' && e.attempt === attempt)
              .map((e) => e.seed),
          );
          if (!(await this.runSeeds(idea, 0, seeds, done, gpus, dir, attempt))) return;
          failure = this.debug.runFailure(idea.id, attempt);
          const extra = idea.id === 0 ? 0 : this.confirmationSeeds();
          if (!failure && extra > 0 && this.needsConfirmation(idea.id, seeds, done, attempt)) {
            if (!(await this.runSeeds(idea, seeds, seeds + extra, done, gpus, dir, attempt))) return;
            failure = this.debug.runFailure(idea.id, attempt);
          }
        }
        if (failure && this.debug.canDebug(idea.id) && (await this.debug.fix(idea, failure, dir, gpus))) {
          this.dirtied.delete(dir); // the round reset the tree and committed the fix in it
          idea = record.idea(idea.id)!;
          continue;
        }
        smokeFailure = smoked?.failure ?? null;
        break;
      }
      // A would-be best is reviewed before it is announced (a stop mid-review leaves it for resume).
      if (!(await auditIfBest(this.parts, idea.id))) return;
      // The runs are over: the idea no longer counts as running when its result is announced.
      scheduler.recordRunTime(Date.now() - runStarted);
      scheduler.running--;
      holding = false;
      // Code whose smoke step failed, and was not fixed, ends there: its full run is never spent.
      if (smokeFailure) record.finishFailed(idea.id, smokeFailure);
      else record.finishEvaluated(idea.id);
    } finally {
      // The slot and its GPUs go to the next idea first; removing the worktree (seconds for a
      // large repository) needs neither.
      gpuPool.release(gpus);
      if (holding) scheduler.running--;
      scheduler.releaseSlot();
      // Cleaning the worktree for reuse happens in the background; the sweep waits for it at the end.
      if (dir) {
        this.dirtied.delete(dir);
        scheduler.releaseInBackground(workspace.release(dir));
      }
    }
  }

  /** Extra seeds for a candidate best: --confirm-seeds, by default as many again as --seeds when that is above 1. */
  private confirmationSeeds(): number {
    const { config } = this.parts;
    return config.confirmSeeds ?? (config.seeds > 1 ? config.seeds : 0);
  }

  /**
   * Runs the environment's smoke step on the attempt's code before its full run (./smoke.ts),
   * once per attempt: a resumed run takes the recorded result instead of running it again.
   * Null when there is none to run (the baseline, no `smoke:`) or it passed; `pending` is the
   * failure for a debug round, `failure` what the idea fails with when no round fixes it.
   */
  private async smoke(
    idea: IdeaRecord,
    attempt: number,
    gpus: string[],
    dir: string,
  ): Promise<{ pending: PendingFailure; failure: Failure } | 'stopped' | null> {
    const { deps } = this.parts;
    const { store, progress } = deps;
    if (idea.id === 0 || !deps.environment.config.smoke) return null;
    const previous = store.smokeRuns(idea.id).filter((run) => run.attempt === attempt && run.status !== 'running');
    const last = previous[previous.length - 1];
    let ran: { reason: Failure['reason']; message: string; exitCode: number | null; logPath: string } | null = null;
    if (last) {
      if (last.status === 'passed') return null;
      ran = {
        reason: last.timedOut ? 'timed-out' : 'crashed',
        message: last.message ?? 'the smoke step failed',
        exitCode: last.exitCode,
        logPath: last.logPath,
      };
    } else {
      if (this.dirtied.has(dir)) await deps.workspace.reset(dir);
      this.dirtied.add(dir);
      const folder = smokeDir(store.runDir, idea.id, attempt);
      const smokeId = store.startSmokeRun(idea.id, attempt, path.join(folder, 'smoke.log'));
      const result = await runSmokeStep(this.parts, {
        ideaId: idea.id,
        dir,
        gpus,
        folder,
        onStarted: (handle) => store.setSmokeHandle(smokeId, handle),
      });
      if (result === 'stopped') return 'stopped'; // its row is dropped when the idea is requeued
      if (result === null) return null;
      const engineFailed = result.failure !== null && !DEBUGGABLE_SMOKE_FAILURES.includes(result.failure.reason);
      store.finishSmokeRun(smokeId, {
        passed: result.failure === null || engineFailed,
        exitCode: result.outcome.exitCode,
        timedOut: result.outcome.timedOut,
        durationMs: result.durationMs,
        message: result.failure?.message ?? null,
      });
      if (engineFailed) {
        // The engine failed, not the code: the full run says whether the code works.
        progress.report({
          type: 'log',
          message: `idea ${idea.id}: the smoke step could not run (${result.failure!.message}); going on with the full run`,
        });
        return null;
      }
      if (!result.failure) return null;
      ran = { ...result.failure, exitCode: result.outcome.exitCode, logPath: result.logPath };
    }
    const failure: Failure = { reason: ran.reason, message: ran.message };
    return {
      failure,
      pending: {
        attempt,
        step: 'smoke',
        ...failure,
        exitCode: ran.exitCode,
        logTail: feedbackLogTail(ran.logPath),
        seed: null,
        logPath: ran.logPath,
      },
    };
  }

  /** Whether the idea's mean over its first seeds beats the best finished idea (or confirmation already began). */
  private needsConfirmation(ideaId: number, seeds: number, done: Set<number>, attempt: number): boolean {
    const { deps, record } = this.parts;
    if ([...done].some((seed) => seed >= seeds)) return true; // started before a restart: carry on
    const evaluations = deps.store.evaluations(ideaId).filter((e) => e.attempt === attempt);
    if (evaluations.some((e) => e.status === 'failed')) return false;
    const rewards = evaluations.filter((e) => e.status === 'succeeded').map((e) => e.reward as number);
    if (rewards.length === 0) return false;
    const best = record.best();
    const candidate = mean(rewards);
    if (best && !isBetter(candidate, best.reward!, deps.environment.config.reward.goal)) return false;
    deps.progress.report({
      type: 'confirming',
      ideaId,
      reward: candidate,
      seeds: this.confirmationSeeds(),
      best: best ? { id: best.id, reward: best.reward! } : null,
    });
    return true;
  }

  /** Runs seeds [from, to) not yet done. False when the sweep stopped mid-way (the idea stays for resume). */
  private async runSeeds(
    idea: IdeaRecord,
    from: number,
    to: number,
    done: Set<number>,
    gpus: string[],
    dir: string,
    attempt: number,
  ): Promise<boolean> {
    const { scheduler } = this.parts;
    for (let seed = from; seed < to; seed++) {
      if (done.has(seed)) continue;
      // Between seeds, a stopping sweep lets the idea go: its finished seeds are kept for resume.
      if (scheduler.runSignal.aborted || scheduler.draining) return false;
      // Each seed starts from the idea's commit: nothing an earlier seed wrote next to the code stays.
      if (this.dirtied.has(dir)) await this.parts.deps.workspace.reset(dir);
      this.dirtied.add(dir);
      const outcome = await this.evaluateSeed(idea, seed, gpus, dir, attempt);
      if (outcome === 'stopped') return false; // left in flight for resume
      done.add(seed);
      // A crash under one seed is a crash: do not spend more GPU time on it.
      if (outcome === 'crashed') break;
    }
    return true;
  }

  /** Runs the idea's code under one seed in the sandbox, scores it with the frozen evaluator, records it. */
  private async evaluateSeed(idea: IdeaRecord, seed: number, gpus: string[], dir: string, attempt: number): Promise<SeedOutcome> {
    const { deps, config, scheduler } = this.parts;
    const { store, sandbox, environment, progress } = deps;
    const { run } = environment.config;
    const signal = scheduler.runSignal;
    const folder = attemptSeedDir(store.runDir, idea.id, seed, attempt);
    const outputDir = path.join(folder, 'outputs');
    const logPath = path.join(folder, 'run.log');
    mkdirSync(outputDir, { recursive: true });
    const evaluationId = store.startEvaluation(idea.id, seed, sandbox.name, logPath, gpus, attempt);
    progress.report({ type: 'evaluation-started', ideaId: idea.id, seed, gpus });
    // The learning curve, recorded as it comes; the early-stopping rule may stop this run alone.
    const curve = RunProgress.start(this.parts, idea, seed, evaluationId, outputDir);
    const request: SandboxRequest = {
      runId: config.runId,
      ideaId: idea.id,
      seed,
      kind: 'run',
      step: run,
      resources: run.resources,
      network: run.network,
      readOnly: run.readOnly,
      workDir: dir,
      outputDir,
      logPath,
      gpus,
      image: environment.config.image,
      signal: curve ? AbortSignal.any([signal, curve.signal]) : signal,
      onStarted: (handle: SandboxHandle) => store.setEvaluationHandle(evaluationId, handle),
      onOutput: curve?.onOutput,
      progressFile: curve?.progressFile,
    };
    const result = await sandbox.run(request);
    curve?.finish();
    if (curve?.stopped) {
      // A low result, not a crash: no score, no more seeds, and the slot goes to the next idea now.
      store.finishEvaluation(evaluationId, {
        reward: null,
        failure: { reason: 'stopped-early', message: curve.stopped.reason },
        exitCode: result.exitCode,
        timedOut: false,
        oomKilled: false,
        durationMs: result.durationMs,
      });
      progress.report({ type: 'log', message: `idea ${idea.id} seed ${seed}: ${curve.stopped.reason}` });
      return 'crashed';
    }
    if (result.interrupted || signal.aborted) return 'stopped';
    const scored = await scoreRun({
      config: environment.config,
      sandbox,
      run: request,
      runResult: result,
      evaluatorDir: deps.evaluatorDir,
      evaluatorHash: config.evaluatorHash,
      evalDir: path.join(folder, 'eval'),
      signal,
    });
    if (!scored.ok && scored.failure.reason === 'interrupted') return 'stopped';
    store.finishEvaluation(evaluationId, {
      reward: scored.ok ? scored.reward : null,
      failure: scored.ok ? null : scored.failure,
      exitCode: result.exitCode,
      timedOut: result.timedOut,
      oomKilled: result.oomKilled,
      durationMs: result.durationMs,
    });
    return !scored.ok && scored.failure.reason !== 'infrastructure' ? 'crashed' : 'recorded';
  }
}
