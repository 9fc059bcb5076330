/**
 * The seams of the researcher loop. The loop only knows these interfaces; each implementation
 * (offline or LLM agents, local/Docker/Slurm sandboxes, git workspaces) lives in its own module
 * and imports whatever SDK it needs. Nothing here imports an SDK.
 */
import type { Environment } from '../environment/load.ts';
import type { Interpreter } from '../environment/interpreter.ts';
import type { Resources, StepConfig } from '../environment/schema.ts';
import type { BestKnown } from './reflection.ts';
import type { AuditVerdict, Edit, Failure, FailureReason, IdeaDraft, IdeaRecord, Usage } from './types.ts';
import type { EvaluationCurve } from '../store/tables.ts';

// ─── Agents ────────────────────────────────────────────────────────────────────────────────

/** One model call as the run records it. */
export interface ModelCall {
  role: 'thinker' | 'coder' | string;
  provider: string;
  model: string;
  /** Content address of the request (hash of model, settings and messages). */
  cacheKey: string | null;
  usage: Usage;
  latencyMs: number;
  /** The raw response text, kept so a resumed run never pays twice for the same prompt. */
  response: string | null;
  /** What was sent (system prompt and messages, parts joined), kept for `export`; absent when not known. */
  request?: ModelRequestText | null;
}

/** A model request as plain text: what `researcher export` gives as the prompt of a call. */
export interface ModelRequestText {
  system: string;
  messages: { role: 'user' | 'assistant'; content: string }[];
}

/** Where agents record their model calls and check the run's spending. Backed by the run store. */
export interface ModelCallLedger {
  /** A response already recorded for this content address, or null. */
  cached(cacheKey: string): string | null;
  record(call: ModelCall): void;
  /** Dollars spent on model calls in this run so far. */
  spentUsd(): number;
  /** The run's spending cap (`--max-cost`), or null. */
  readonly maxCostUsd: number | null;
}

/** Everything an agent may know when it proposes or implements an idea. */
export interface ResearchContext {
  /** The idea being proposed or implemented. */
  ideaId: number;
  environment: Environment;
  /** Every idea of the run so far, the baseline (id 0) first. */
  history: readonly IdeaRecord[];
  /** The idea this one builds on (null: the base commit). */
  parent: IdeaRecord | null;
  /**
   * In a debug round, the commit of the idea's failed attempt: what the coder's fix applies to
   * (readFile and listFiles then read it, not the parent). Absent on the first attempt.
   */
  attemptCommit?: string;
  /** Reads a file of the code the new edit is written against: the parent's (or, in a debug round, the failed attempt's). */
  readFile(relativePath: string): Promise<string | null>;
  /** Reads a file of the code as it is at any commit of the run (another idea's, the base). */
  readFileAt(commit: string, relativePath: string): Promise<string | null>;
  /** Files of the code readFile reads, relative paths. */
  listFiles(): Promise<string[]>;
  /** Extra guidance from the search strategy (e.g. "modify the parent's change"). */
  instruction?: string;
  /**
   * What the person running the sweep asked of the next ideas (the run folder's steer.md, written
   * with `researcher steer`), read afresh for each proposal; absent when there is none.
   */
  guidance?: string;
  /** The model the thinker is to propose this idea with (a model portfolio's choice); absent without a portfolio. */
  thinkerModel?: string;
  /**
   * The environment's lab notebook (src/store/notebook.ts) as it was when the run started, the
   * same for every idea of the run; absent when there was none or the run is `--fresh`.
   */
  notebook?: NotebookView;
  /** The run's latest reflection, "what we have learned so far" (src/core/reflection.ts); absent before the first. */
  learned?: { text: string; reflectionId: number; sha256: string };
  /**
   * The learning curves the runs reported so far (the run store's, every idea's, evaluations in
   * order); absent or empty when the environment declares no `progress:`.
   */
  curves?: readonly EvaluationCurve[];
  /** Reproducible randomness for this idea. */
  random: () => number;
  /** Cancels model calls when the sweep stops. */
  signal?: AbortSignal;
  /** Records model calls, answers from the run's response cache, enforces --max-cost. */
  ledger: ModelCallLedger;
}

/** A lab notebook as an agent sees it: its text (whole, capped when read), where it is, and its best known configuration. */
export interface NotebookView {
  text: string;
  /** Relative to the runs folder (notebooks/<environment>.md). */
  path: string;
  sha256: string;
  best: BestKnown | null;
}

export interface AgentResult<T> {
  value: T;
  usage: Usage;
}

export interface Thinker {
  readonly name: string;
  propose(context: ResearchContext): Promise<AgentResult<IdeaDraft>>;
}

/** A failed attempt to apply an edit, as the coder should hear about it. */
export interface ApplyFeedback {
  edit: Edit;
  message: string;
}

/**
 * Writes one edit for an idea against the parent's files (a model asked once, the offline knob
 * coder). It does not touch a tree: `OneShotCoder` (src/agents/one-shot.ts) applies its edit and
 * sends back the failures (repair rounds), which makes it a `Coder`.
 */
export interface EditWriter {
  readonly name: string;
  /**
   * Turns the idea into edits. `feedback` lists earlier attempts that did not apply (repair
   * rounds); `failures` (debug rounds, CodingTask.failures) earlier commits that ran and failed,
   * whose code the context's files then are: the edit is a fix of the last one.
   */
  implement(
    idea: IdeaDraft,
    context: ResearchContext,
    feedback: readonly ApplyFeedback[],
    failures?: readonly RunFailureFeedback[],
  ): Promise<AgentResult<Edit>>;
}

/** What applying an edit to a coding session's tree did. Nothing changed when `ok` is false. */
export type EditOutcome = { ok: true; changedFiles: string[] } | { ok: false; message: string; refused: boolean };

/**
 * The idea's scratch tree, where a coder leaves its change: the parent's code (or, in a later
 * round, the idea's last attempt). The sweep commits whatever the tree holds when the coder
 * returns, through the change guard, whichever coder it was.
 */
export interface CodingSession {
  /**
   * The tree's folder. A coder may read it (never following its links: it holds model-written
   * code); a command coder works on a copy and takes the change back (src/agents/command-coder.ts).
   */
  readonly dir: string;
  /**
   * Applies an edit to the tree at once. Paths outside the tree, through a symlink or into .git
   * are refused (`refused: true`); the editable globs are the change guard's business when the
   * coder returns (src/patch/guard.ts), though a coder may check them sooner.
   */
  apply(edit: Edit): Promise<EditOutcome>;
  /** Paths changed in the tree since the session began (empty: the coder changed nothing). */
  changedPaths(): Promise<string[]>;
  /** Puts the tree back as it was when the session began. */
  reset(): Promise<void>;
  /**
   * Runs the environment's smoke step on the tree as it is now, in the idea's sandbox; absent
   * or null when the environment declares no `smoke:` step.
   */
  smoke?(): Promise<SmokeOutcome | null>;
}

/** What the smoke step did on a coding session's tree. */
export interface SmokeOutcome {
  ok: boolean;
  exitCode: number | null;
  timedOut: boolean;
  /** Why it failed, in a sentence ("exited with code 1"); empty when it passed. */
  message: string;
  /** The end of its log (the traceback, when it crashed). */
  logTail: string;
}

/**
 * An earlier attempt at this idea that was committed and then failed when it ran (a debug
 * round's input): what failed, and the end of its log with the traceback.
 */
export interface RunFailureFeedback {
  /** Which attempt failed: 0 is the coder's first commit, 1 its first fix, … */
  attempt: number;
  step: 'smoke' | 'run' | 'evaluate';
  reason: FailureReason;
  message: string;
  exitCode: number | null;
  logTail: string;
  /** The attempt's diff against the idea's parent. */
  diff: string;
}

/** Everything a coder gets for one idea: the idea, what it may know, its tree and its limits. */
export interface CodingTask {
  idea: IdeaDraft;
  context: ResearchContext;
  session: CodingSession;
  /** Times a one-shot coder may rewrite an edit that did not apply (the run's repairRounds). */
  repairRounds: number;
  /**
   * Earlier attempts at this idea that ran and failed, oldest first (debug rounds): the session's
   * tree then holds the last attempt, and the coder is asked to fix it. Empty on the first attempt.
   */
  failures: readonly RunFailureFeedback[];
}

/**
 * How a coding session ended. The change itself is in the session's tree. `agent-error`: the
 * coder itself failed (a coding-agent command that crashed or passed its time limit).
 */
export type CodingOutcome =
  /** `edit`: the last edit the coder wrote, kept in the record (null for a coder that edits the tree itself). */
  { ok: true; edit: Edit | null } | { ok: false; reason: 'patch-failed' | 'refused' | 'agent-error'; message: string; edit?: Edit };

/**
 * Turns an idea into a change of its tree. One-shot, agentic and command coders implement it;
 * the sweep does not know which it has.
 */
export interface Coder {
  readonly name: string;
  code(task: CodingTask): Promise<AgentResult<CodingOutcome>>;
}

/**
 * What the auditor reviews: an idea whose reward would make it the best, its diff, and the
 * environment's rules (environment.yaml `rules:`). It reads the change, not the run.
 */
export interface AuditRequest {
  idea: IdeaRecord;
  /** The idea's mean reward, which would make it the best. */
  reward: number;
  /** The idea it would displace as the best (the baseline at first). */
  best: { id: number; title: string; reward: number } | null;
  environment: Environment;
  /** Records the auditor's model call (priced, cached for resume), enforces --max-cost. */
  ledger: ModelCallLedger;
  signal?: AbortSignal;
}

/** The auditor's verdict: `unreadable` when its reply held none (the reason says why). */
export interface AuditOutcome {
  verdict: AuditVerdict;
  reason: string;
  /** Who answered, when more is known than the auditor's name (the model a server chose). */
  reviewer?: string;
}

/**
 * The optional review role (the agent file's `auditor:`): judges whether a would-be best idea
 * won by research or by a shortcut the rules forbid. A flagged idea is kept out of the best
 * until a person accepts it. An unusable reply is an `unreadable` outcome, not an exception;
 * it throws only when the sweep stops or --max-cost would be passed.
 */
export interface Auditor {
  /** Shown with each verdict: the agent's name and model. */
  readonly name: string;
  review(request: AuditRequest): Promise<AgentResult<AuditOutcome>>;
}

// ─── Workspace (git) ───────────────────────────────────────────────────────────────────────

export interface CommitResult {
  commit: string;
  /** `git diff` of the commit against its parent: the canonical diff of the idea. */
  diff: string;
  changedFiles: string[];
  /** Content address of the committed code (git's tree id): equal exactly when the code is. */
  tree?: string;
}

/** The run's own git repository: base commit, one commit per idea, worktrees to run them in. */
export interface Workspace {
  readonly repoDir: string;
  readonly baseCommit: string;
  /** A fresh working tree at `commit` for idea `ideaId`. */
  checkout(ideaId: number, commit: string): Promise<string>;
  /** Commits everything changed in the working tree, on the idea's branch. */
  commit(dir: string, ideaId: number, message: string): Promise<CommitResult>;
  /**
   * Changed paths in a working tree (untracked and git-ignored included), and whether each is a
   * symlink or ignored (an ignored file would run without being committed).
   */
  pendingChanges(dir: string): Promise<{ path: string; symlink: boolean; deleted: boolean; ignored?: boolean }[]>;
  /** Throws away uncommitted changes in a working tree (before a repair attempt). */
  reset(dir: string): Promise<void>;
  /** Removes a working tree (its commit stays). */
  release(dir: string): Promise<void>;
  readFile(commit: string, relativePath: string): Promise<string | null>;
  /** `git diff from to`: an idea's change against its parent after a debug round added commits. */
  diff(from: string, to: string): Promise<string>;
  /** Content addresses (CommitResult.tree) of commits, for telling identical code apart; optional. */
  treesOf?(commits: string[]): Promise<Map<string, string>>;
  listFiles(commit: string): Promise<string[]>;
  /** Removes worktrees a killed process left behind. */
  cleanup(): Promise<void>;
}

// ─── Sandboxes ─────────────────────────────────────────────────────────────────────────────

export interface SandboxRequest {
  runId: string;
  ideaId: number;
  seed: number;
  /** Which step this is: the idea's run, or the frozen evaluator scoring it. */
  kind: 'run' | 'evaluate';
  step: StepConfig;
  resources: Resources;
  network: boolean;
  /** Host folders the step may read, shown read-only at the same path (isolated local sandbox). */
  readOnly?: string[];
  /** Folder the command runs in: the idea's worktree, or the frozen evaluator. */
  workDir: string;
  /** Folder for the run's outputs ($OUTPUT_DIR). Read-only for the evaluate step. */
  outputDir: string;
  /** Folder the evaluator writes its metrics to ($EVAL_DIR); evaluate step only. */
  evalDir?: string;
  logPath: string;
  /** GPU ids handed to this run by the pool. */
  gpus: string[];
  image?: string;
  /**
   * The environment's interpreter (Environment.interpreter): local and Slurm runs put its folder
   * first on PATH. Unset: the venv/conda active where the researcher started, if any.
   */
  interpreter?: Interpreter | null;
  signal?: AbortSignal;
  /** Called once the process/container/job exists, so the store can find it after a crash. */
  onStarted?(handle: SandboxHandle): void;
  /**
   * Called with the step's output (stdout and stderr) as it comes, before any log cap: the sweep
   * reads the run's learning curve from it. Hostile bytes, in chunks of any size.
   */
  onOutput?(chunk: Buffer): void;
  /**
   * A file (a plain name) the run appends its progress to in $OUTPUT_DIR: a sandbox whose outputs
   * folder is not the host's while the step runs (Slurm's staging) copies it there as it grows.
   */
  progressFile?: string;
}

/** Enough to find (and kill) what a sandbox started, from another process after a crash. */
export interface SandboxHandle {
  sandbox: string;
  pid?: number;
  pidStart?: string;
  containerId?: string;
  jobId?: string;
  host?: string;
}

/** Expected outcomes are flags, not exceptions. */
export interface SandboxResult {
  exitCode: number | null;
  timedOut: boolean;
  oomKilled: boolean;
  /** Killed because the sweep was stopped. */
  interrupted: boolean;
  durationMs: number;
  logPath: string;
  /** Set when the engine itself failed (not the idea's code). */
  infrastructureError?: string;
}

export interface Sandbox {
  readonly name: string;
  /** Checks up front that the engine can run this environment (daemon reachable, GPU runtime, …). */
  preflight(request: { resources: Resources; gpus: string[]; image?: string }): Promise<void>;
  run(request: SandboxRequest): Promise<SandboxResult>;
  /**
   * Called on resume with what a crashed researcher left running (processes, containers, jobs):
   * stops it. A sandbox that can re-attach (Slurm) keeps what `run` will be asked for again —
   * the same step re-attaches instead of starting twice — and stops the rest at `close`.
   */
  reap(handles: SandboxHandle[]): Promise<void>;
  /** The engine places GPUs itself (Slurm's --gres): the loop's pool should hand out no device ids. */
  readonly allocatesGpus?: boolean;
  close?(): Promise<void>;
}

// ─── Reward ────────────────────────────────────────────────────────────────────────────────

export type Scored = { ok: true; reward: number } | { ok: false; failure: Failure };
