/**
 * The environment a run's command sees. Built from scratch rather than filtered from the host's,
 * so API keys and other secrets cannot leak into the code under test: only a minimal PATH/locale,
 * the step's own variables, host variables the environment names in `passEnv`, and the
 * researcher's variables (OUTPUT_DIR, SEED, …).
 */
import type { SandboxRequest } from '../core/interfaces.ts';
import { resolveInterpreter } from '../environment/interpreter.ts';

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Variables that would hand the code under test a credential; never passed, even when named. */
const SECRET_PATTERN = /(KEY|TOKEN|SECRET|PASSWORD|CREDENTIAL)/i;

export interface PathsInSandbox {
  workDir: string;
  outputDir: string;
  evalDir?: string;
  home: string;
}

export function sandboxEnvironment(
  request: SandboxRequest,
  paths: PathsInSandbox,
  host: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  // The interpreter the researcher means (python: in environment.yaml, or their active venv/conda)
  // comes first, so `python3` in a command is that one; only its folder is added, no other variable.
  const interpreter = request.interpreter === undefined ? resolveInterpreter({ host }) : request.interpreter;
  const basePath = host.PATH ?? DEFAULT_PATH;
  const env: Record<string, string> = {
    PATH: interpreter && interpreter.source !== 'PATH' ? `${interpreter.binDir}:${basePath}` : basePath,
    HOME: paths.home,
    LANG: 'C.UTF-8',
    LC_ALL: 'C.UTF-8',
    PYTHONUNBUFFERED: '1',
    PYTHONDONTWRITEBYTECODE: '1',
  };
  for (const name of request.step.passEnv) {
    const value = host[name];
    if (value !== undefined && !SECRET_PATTERN.test(name)) env[name] = value;
  }
  Object.assign(env, request.step.env);
  Object.assign(env, {
    OUTPUT_DIR: paths.outputDir,
    SEED: String(request.seed),
    IDEA_ID: String(request.ideaId),
    RUN_ID: request.runId,
    // Hide GPUs the run was not given: an empty list means "no GPU" to CUDA.
    CUDA_VISIBLE_DEVICES: request.gpus.join(','),
    NVIDIA_VISIBLE_DEVICES: request.gpus.length ? request.gpus.join(',') : 'void',
  });
  if (paths.evalDir) env.EVAL_DIR = paths.evalDir;
  return env;
}
