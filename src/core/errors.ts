/**
 * The error hierarchy. Every error a user can cause or fix is a ResearcherError whose message
 * says what is wrong and what to do; the CLI prints it as one line and exits non-zero without a
 * stack trace. Anything else escaping to the CLI is a bug and is printed in full.
 *
 * Expected outcomes of an idea (a crash, a timeout, a diff that does not apply) are NOT errors:
 * they are results with flags and a failure reason, recorded in the run.
 */
export class ResearcherError extends Error {
  /** Process exit code the CLI uses for this error. */
  readonly exitCode: number = 1;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** environment.yaml or agent file is missing, malformed or inconsistent. */
export class ConfigError extends ResearcherError {}

/** The user asked for something the CLI cannot do (bad flag, unknown run). */
export class UsageError extends ResearcherError {
  override readonly exitCode = 2;
}

/** A git operation failed in a way the user must fix (not a git repo, bad ref). */
export class WorkspaceError extends ResearcherError {}

/** The sandbox engine itself is unusable (Docker daemon down, no GPU runtime, Slurm missing). */
export class SandboxError extends ResearcherError {}

/** A model provider refused the call for a reason retries cannot fix (bad key, unknown model). */
export class ModelError extends ResearcherError {}

/** The unmodified code does not produce a reward: no idea can be compared with it. */
export class BaselineFailed extends ResearcherError {}

/**
 * The run's frozen evaluator no longer matches the hash recorded when the run was created:
 * something changed how ideas are scored. The sweep stops; no later reward could be trusted.
 */
export class EvaluatorChanged extends ResearcherError {}

/** A budget (ideas, hours, dollars) was reached; the sweep stops cleanly. */
export class BudgetExceeded extends ResearcherError {}

/** Turns an unknown thrown value into a short message for a record or a log line. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
