/**
 * Which Python a run step uses. A researcher's code usually runs in a venv or conda environment
 * that holds its packages (torch, numpy); the run's clean environment must find that interpreter,
 * not whatever `python3` comes first on a system PATH, or every run dies of `No module named …`.
 *
 * In order: `python:` in environment.yaml (a path relative to the code, an absolute path, or a
 * name looked up on PATH); else the venv or conda environment active where the researcher was
 * started (VIRTUAL_ENV, CONDA_PREFIX); else the first python3 on the researcher's PATH. Only the
 * interpreter's folder is put on the run's PATH: none of the researcher's other variables are
 * passed through. Docker runs use the image's interpreter instead.
 */
import { accessSync, constants, existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { ConfigError } from '../core/errors.ts';

export type InterpreterSource = 'environment.yaml' | 'VIRTUAL_ENV' | 'CONDA_PREFIX' | 'PATH';

export interface Interpreter {
  /** The executable, absolute (as named: a venv's python is a symlink and must stay one). */
  bin: string;
  /** Its folder, put first on the run's PATH: `python3`, `pip` and the environment's scripts resolve there. */
  binDir: string;
  /** The environment's root: the venv, the conda prefix, or e.g. /usr for a system Python. */
  prefix: string;
  /**
   * Folders the interpreter needs to run, for a sandbox that hides the host (bind them read-only):
   * the prefix and, for a venv, the installation its python links to. No folder nested in another.
   */
  readOnlyDirs: string[];
  source: InterpreterSource;
}

export interface InterpreterOptions {
  /** `python:` from environment.yaml, if any. */
  python?: string;
  /** What a relative `python:` is relative to: the code folder. */
  baseDir?: string;
  /** The researcher's own environment (only VIRTUAL_ENV, CONDA_PREFIX and PATH are read). */
  host?: NodeJS.ProcessEnv;
}

/** The interpreter a run uses, or null when there is none to find (no python3 on PATH). */
export function resolveInterpreter(options: InterpreterOptions = {}): Interpreter | null {
  const host = options.host ?? process.env;
  if (options.python) return explicit(options.python, options.baseDir ?? process.cwd(), host);
  for (const source of ['VIRTUAL_ENV', 'CONDA_PREFIX'] as const) {
    const prefix = host[source];
    if (!prefix) continue;
    const bin = ['python', 'python3'].map((name) => path.join(prefix, 'bin', name)).find(isExecutable);
    if (bin) return describe(bin, source, prefix);
  }
  const bin = findOnPath('python3', host.PATH) ?? findOnPath('python', host.PATH);
  return bin ? describe(bin, 'PATH', path.dirname(path.dirname(bin))) : null;
}

/** "…/.venv/bin/python (python: in environment.yaml)", for messages. */
export function describeInterpreter(interpreter: Interpreter | null | undefined): string {
  if (!interpreter) return 'no python3 on PATH';
  const why: Record<InterpreterSource, string> = {
    'environment.yaml': 'python: in environment.yaml',
    VIRTUAL_ENV: 'the active venv, VIRTUAL_ENV',
    CONDA_PREFIX: 'the active conda environment, CONDA_PREFIX',
    PATH: 'the first python3 on PATH; no venv or conda environment was active',
  };
  return `${interpreter.bin} (${why[interpreter.source]})`;
}

function explicit(python: string, baseDir: string, host: NodeJS.ProcessEnv): Interpreter {
  // A bare name ("python3.11") is looked up on PATH, as a shell would; anything with a slash is a path.
  const bin = python.includes('/') ? path.resolve(baseDir, python) : findOnPath(python, host.PATH);
  if (!bin || !isExecutable(bin)) {
    const where = python.includes('/') ? `resolved to ${bin}` : 'looked up on PATH';
    throw new ConfigError(
      `python: "${python}" is not an executable (${where}); name the interpreter whose packages the code needs, e.g. python: .venv/bin/python`,
    );
  }
  const binDir = path.dirname(bin);
  // .venv/bin/python → .venv; /opt/conda/envs/x/bin/python → /opt/conda/envs/x; /usr/bin/python3 → /usr.
  const prefix = path.basename(binDir) === 'bin' ? path.dirname(binDir) : binDir;
  return describe(bin, 'environment.yaml', prefix);
}

function describe(bin: string, source: InterpreterSource, prefix: string): Interpreter {
  const dirs = [prefix];
  // A venv's python is a symlink to a base installation (pyvenv.cfg's `home`): that must be visible too.
  const config = path.join(prefix, 'pyvenv.cfg');
  if (existsSync(config)) {
    const home = /^home\s*=\s*(.+)$/m.exec(readFileSync(config, 'utf8'))?.[1]?.trim();
    if (home) dirs.push(path.basename(home) === 'bin' ? path.dirname(home) : home);
  }
  try {
    const real = realpathSync(bin);
    const realDir = path.dirname(real);
    dirs.push(path.basename(realDir) === 'bin' ? path.dirname(realDir) : realDir);
  } catch {
    // unreadable link: the prefix is all we know
  }
  return { bin, binDir: path.dirname(bin), prefix, readOnlyDirs: outermost(dirs), source };
}

function findOnPath(name: string, searchPath: string | undefined): string | null {
  for (const dir of (searchPath ?? '').split(':')) {
    if (!dir || !path.isAbsolute(dir)) continue;
    const candidate = path.join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return null;
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** Distinct folders, dropping any that lies inside another. */
function outermost(dirs: string[]): string[] {
  const unique = [...new Set(dirs.map((d) => path.resolve(d)))];
  return unique.filter(
    (dir) => !unique.some((other) => other !== dir && (dir === other || dir.startsWith(other.endsWith('/') ? other : `${other}/`))),
  );
}

/**
 * What a sandbox that hides the host must show for `interpreter` to run: its bin folder and the
 * folders it needs, read-only. An explicit, venv or conda interpreter is taken as described; one
 * found on PATH is resolved to the real installation behind it, so an isolated run uses the same
 * Python, with the same packages, as the user's shell. Null: the sandbox's system python3.
 */
export function sandboxInterpreter(interpreter: Interpreter | null): Pick<Interpreter, 'binDir' | 'readOnlyDirs'> | null {
  if (!interpreter) return null;
  return interpreter.source === 'PATH' ? realInstallation(interpreter) : interpreter;
}

const realInstallations = new Map<string, Pick<Interpreter, 'binDir' | 'readOnlyDirs'> | null>();

/**
 * The interpreter a PATH lookup really runs, when it lives outside the system folders (pyenv's
 * shims, a python3 under /opt): asked once, from the host, for its executable and installation.
 * Null for a system interpreter or one that cannot be asked.
 */
function realInstallation(interpreter: Interpreter): Pick<Interpreter, 'binDir' | 'readOnlyDirs'> | null {
  if (realInstallations.has(interpreter.bin)) return realInstallations.get(interpreter.bin)!;
  let found: Pick<Interpreter, 'binDir' | 'readOnlyDirs'> | null = null;
  if (!interpreter.bin.startsWith('/usr/') && !interpreter.bin.startsWith('/bin/')) {
    try {
      const [executable, prefix, basePrefix] = execFileSync(
        interpreter.bin,
        ['-c', 'import sys; print(sys.executable); print(sys.prefix); print(sys.base_prefix)'],
        {
          encoding: 'utf8',
          timeout: 20_000,
          env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/' },
          stdio: ['ignore', 'pipe', 'ignore'],
        },
      )
        .trim()
        .split('\n');
      if (executable && prefix)
        found = { binDir: path.dirname(executable), readOnlyDirs: [...new Set([prefix, basePrefix].filter(Boolean))] };
    } catch {
      // not a Python that answers: the sandbox's system python3 is used
    }
  }
  realInstallations.set(interpreter.bin, found);
  return found;
}
