/** The parts a sweep is built from: each is one of the core's seams, or the run's store. */
import type { Environment } from '../../environment/load.ts';
import type { GpuPool } from '../../sandbox/gpu-pool.ts';
import type { SearchStrategy } from '../../search/strategy.ts';
import type { RunStore } from '../../store/run-store.ts';
import type { Auditor, Coder, Sandbox, Thinker, Workspace } from '../interfaces.ts';
import type { ReflectionSettings, Reflector } from '../reflection.ts';
import type { ProgressReporter } from '../progress.ts';
import type { RunConfig } from '../run-config.ts';
import type { SweepMemory } from './memory.ts';
import type { RunRecord } from './run-record.ts';
import type { Scheduler } from './scheduler.ts';

export interface SweepDependencies {
  store: RunStore;
  environment: Environment;
  workspace: Workspace;
  sandbox: Sandbox;
  thinker: Thinker;
  coder: Coder;
  /** Reviews each idea that would become the best (./audit.ts); absent: no review. */
  auditor?: Auditor;
  /**
   * Times an idea whose committed code failed when it ran goes back to the coder with the
   * failure (debug rounds, ./debug-round.ts): the agent file's coder.debugRounds. Default 0.
   */
  debugRounds?: number;
  strategy: SearchStrategy;
  /** Reflects on the run when it ends and every `reflection.every` ideas, writing the lab notebook (src/core/sweep/memory.ts); none: no reflection. */
  reflector?: Reflector;
  reflection?: ReflectionSettings;
  gpuPool: GpuPool;
  /** The evaluator frozen when the run was created. */
  evaluatorDir?: string;
  /** The test evaluator frozen with it (environments with `test:`): scores the final top ideas. */
  testEvaluatorDir?: string;
  progress: ProgressReporter;
  /** Aborted on Ctrl-C: no new idea starts, running ones are stopped and left for `resume`. */
  signal: AbortSignal;
}

/** What the parts of one sweep share: its dependencies, the run's config, its ideas and its scheduler. */
export interface SweepParts {
  deps: SweepDependencies;
  config: RunConfig;
  record: RunRecord;
  scheduler: Scheduler;
  /** The lab notebook the run started from, and its reflections. */
  memory: SweepMemory;
}
