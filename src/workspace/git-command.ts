/**
 * How the researcher runs git on a run's repository and its worktrees: git that runs nothing it
 * did not write.
 *
 * Git executes programs named by configuration (`core.fsmonitor`, hooks, filters, pagers,
 * credential helpers) and finds its repository by walking up from the working folder, trusting
 * any `.git` file it meets. A run step that could write a hook, a config file or a `.git` file
 * would otherwise get its code executed by the researcher's own git — with the researcher's
 * environment, API keys included. So every command here:
 * - disables hooks and fsmonitor on the command line (command-line `-c` beats every config file);
 * - ignores the system and global configuration (`GIT_CONFIG_NOSYSTEM`, `GIT_CONFIG_GLOBAL`),
 *   which an unisolated run could have written under the researcher's HOME;
 * - runs with a scrubbed environment: no API key or other host variable reaches git or anything
 *   it might start;
 * - names the repository explicitly where the caller knows it (`--git-dir`/`--work-tree`), so a
 *   `.git` file planted in a worktree is never followed.
 */
import { execa, type ResultPromise } from 'execa';

/** Identity for commits the researcher makes; set per command so no global git config is needed. */
export const GIT_IDENTITY = ['user.name=ai-researcher', 'user.email=ai-researcher@localhost', 'commit.gpgsign=false'];

/** Settings that stop git from executing anything a run could have configured. */
export const GIT_SAFETY = [
  'core.hooksPath=/dev/null',
  'core.fsmonitor=false',
  'core.untrackedCache=false',
  'core.pager=cat',
  'core.editor=false',
  'core.sshCommand=false',
  'credential.helper=',
  'diff.external=',
  'protocol.ext.allow=never',
];

/** `-c` arguments for identity and safety, to put before the git subcommand. */
export function safeGitOptions(): string[] {
  return [...GIT_IDENTITY, ...GIT_SAFETY].flatMap((setting) => ['-c', setting]);
}

/**
 * The whole environment git gets: enough to run, nothing of the host's. `PATH` is kept (git
 * must be found, and finds its own helpers through it); `HOME` points nowhere useful.
 */
export function safeGitEnvironment(host: NodeJS.ProcessEnv = process.env): Record<string, string> {
  return {
    PATH: host.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: '/nonexistent',
    LANG: 'C.UTF-8',
    LC_ALL: 'C.UTF-8',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_TERMINAL_PROMPT: '0',
    GIT_OPTIONAL_LOCKS: '0',
  };
}

export interface GitLocation {
  /** Folder git runs in. */
  cwd: string;
  /** The repository's git dir, given explicitly so no `.git` file in `cwd` is consulted. */
  gitDir?: string;
  /** The working tree, with `gitDir`. */
  workTree?: string;
}

function locationOptions(where: GitLocation): string[] {
  const options: string[] = [];
  if (where.gitDir) options.push(`--git-dir=${where.gitDir}`);
  if (where.workTree) options.push(`--work-tree=${where.workTree}`);
  return options;
}

/** Starts one hardened git command; stdout and stderr are text. */
export function spawnGit(where: GitLocation, args: string[], options: { stdoutToStream?: boolean } = {}): ResultPromise {
  return execa('git', [...safeGitOptions(), ...locationOptions(where), ...args], {
    cwd: where.cwd,
    env: safeGitEnvironment(),
    extendEnv: false,
    stdin: 'ignore',
    reject: false,
    stripFinalNewline: false,
    encoding: options.stdoutToStream ? 'buffer' : 'utf8',
    buffer: options.stdoutToStream ? { stdout: false, stderr: true } : true,
  });
}

/** Runs one hardened git command and returns its stdout; throws with git's message on failure. */
export async function runGit(where: GitLocation | string, args: string[]): Promise<string> {
  const location = typeof where === 'string' ? { cwd: where } : where;
  const result = await spawnGit(location, args);
  if (result.exitCode !== 0) {
    throw new Error(`git ${args[0]} failed: ${String(result.stderr || result.stdout || result.message).trim()}`);
  }
  return String(result.stdout);
}

/** Runs a hardened git query whose answer is its exit status. */
export async function gitSucceeds(where: GitLocation | string, args: string[]): Promise<boolean> {
  const location = typeof where === 'string' ? { cwd: where } : where;
  return (await spawnGit(location, args)).exitCode === 0;
}
