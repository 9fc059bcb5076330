/**
 * Loading an environment folder: read environment.yaml, validate it with zod, resolve its paths.
 * Every problem becomes a ConfigError naming the file, the field and what is expected.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../core/errors.ts';
import { resolveInterpreter, type Interpreter } from './interpreter.ts';
import { EnvironmentConfig } from './schema.ts';

export interface Environment {
  config: EnvironmentConfig;
  /** Absolute path of the environment folder. */
  dir: string;
  /** Absolute path of environment.yaml (for messages). */
  file: string;
  /** Where the code comes from: a local folder or git repo, or a git URL. */
  code: { kind: 'path'; path: string; ref?: string } | { kind: 'git'; url: string; ref: string };
  /** Absolute path of the evaluator folder, when the environment has an evaluate step. */
  evaluatorDir?: string;
  /** Absolute path of the test evaluator's folder, when the environment declares `test:`. */
  testEvaluatorDir?: string;
  /**
   * The Python local and Slurm runs use (see interpreter.ts); null when none was found. Unset
   * (an Environment built by hand): the sandbox falls back to the researcher's active venv/conda.
   */
  interpreter?: Interpreter | null;
}

export const ENVIRONMENT_FILE = 'environment.yaml';

/** Formats zod issues as "file: field.path: message" lines. */
export function formatIssues(file: string, error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const field = issue.path.length ? issue.path.join('.') : '(top level)';
      return `${file}: ${field}: ${issue.message}`;
    })
    .join('\n');
}

export function loadEnvironment(target: string): Environment {
  const resolved = path.resolve(target);
  const file = resolved.endsWith('.yaml') || resolved.endsWith('.yml') ? resolved : path.join(resolved, ENVIRONMENT_FILE);
  const dir = path.dirname(file);
  const shown = path.relative(process.cwd(), file) || file;
  if (!existsSync(file)) {
    throw new ConfigError(
      `${shown}: not found. An environment is a folder holding ${ENVIRONMENT_FILE} (see environments/README.md; \`researcher env init <repo>\` writes one).`,
    );
  }

  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(file, 'utf8'));
  } catch (error) {
    if (error instanceof YAMLParseError) {
      const where = error.linePos?.[0] ? `line ${error.linePos[0].line}` : 'YAML';
      throw new ConfigError(`${shown}: ${where}: ${error.message.split('\n')[0]}`);
    }
    throw error;
  }
  if (raw === null || typeof raw !== 'object') {
    throw new ConfigError(`${shown}: expected a YAML mapping with name, description, code, editable, run and reward`);
  }

  const parsed = EnvironmentConfig.safeParse(raw);
  if (!parsed.success) throw new ConfigError(formatIssues(shown, parsed.error));
  const config = parsed.data;

  let code: Environment['code'];
  if ('git' in config.code) {
    code = { kind: 'git', url: config.code.git, ref: config.code.ref };
  } else {
    const codePath = path.resolve(dir, config.code.path);
    if (!existsSync(codePath) || !statSync(codePath).isDirectory()) {
      throw new ConfigError(`${shown}: code.path: "${config.code.path}" is not a folder (resolved to ${codePath})`);
    }
    code = { kind: 'path', path: codePath, ref: config.code.ref };
  }

  // The evaluator and the test evaluator obey the same rules: outside the code, never readable by a run.
  const evaluatorDir = config.evaluate
    ? checkedEvaluatorDir(shown, dir, 'evaluate', config.evaluate.dir, config.run.readOnly, code)
    : undefined;
  const testEvaluatorDir = config.test ? checkedEvaluatorDir(shown, dir, 'test', config.test.dir, config.run.readOnly, code) : undefined;

  let interpreter: Interpreter | null;
  try {
    // A relative `python:` names a file of the researcher's checkout (a .venv beside the code), so
    // it is relative to the code folder; a git source has no checkout here, so the environment's.
    interpreter = resolveInterpreter({ python: config.python, baseDir: code.kind === 'path' ? code.path : dir });
  } catch (error) {
    if (error instanceof ConfigError) {
      throw new ConfigError(
        `${shown}: ${error.message} (python: is the host's interpreter for local and Slurm runs; Docker runs use the image's, so leave it out there)`,
      );
    }
    throw error;
  }

  return { config, dir, file, code, evaluatorDir, testEvaluatorDir, interpreter };
}

function checkedEvaluatorDir(
  shown: string,
  dir: string,
  field: 'evaluate' | 'test',
  relative: string,
  readOnly: readonly string[],
  code: Environment['code'],
): string {
  const evaluatorDir = path.resolve(dir, relative);
  if (!existsSync(evaluatorDir) || !statSync(evaluatorDir).isDirectory()) {
    throw new ConfigError(`${shown}: ${field}.dir: "${relative}" is not a folder (resolved to ${evaluatorDir})`);
  }
  for (const folder of readOnly) {
    if (isInside(evaluatorDir, path.resolve(folder)) || isInside(path.resolve(folder), evaluatorDir)) {
      throw new ConfigError(
        `${shown}: run.readOnly: "${folder}" holds the ${field === 'test' ? 'test evaluator' : 'evaluator'} (or lies inside it); a run may never read the evaluator or its answers`,
      );
    }
  }
  if (code.kind === 'path' && isInside(evaluatorDir, code.path)) {
    throw new ConfigError(
      `${shown}: ${field}.dir: the ${field === 'test' ? 'test evaluator' : 'evaluator'} must live outside the code folder, or a diff could change how it is scored`,
    );
  }
  return evaluatorDir;
}

function isInside(child: string, parent: string): boolean {
  const relative = path.relative(parent, child);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}
