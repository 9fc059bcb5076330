/**
 * `researcher <command>`: dispatches to one file per command. User errors (ResearcherError) are
 * printed as one line with no stack trace; anything else is a bug and is printed in full.
 */
import { ResearcherError, UsageError } from '../core/errors.ts';
import { closest } from './args.ts';

type Command = (args: string[]) => Promise<number>;

/**
 * Each command's module is loaded only when that command runs: importing all of them (SDKs,
 * Docker and Slurm clients, the report) made every command, `show` included, pay seconds of
 * start-up.
 */
const COMMANDS: Record<string, { load: () => Promise<Command>; summary: string }> = {
  run: { load: async () => (await import('./run.ts')).runCommand, summary: 'run <environment> [--ideas N] …   start a sweep' },
  resume: {
    load: async () => (await import('./resume.ts')).resumeCommand,
    summary: 'resume <run-dir>                 continue a stopped sweep',
  },
  steer: {
    load: async () => (await import('./steer.ts')).steerCommand,
    summary: 'steer <run-dir> ["guidance"]     tell a running sweep what to try next (no text: show it)',
  },
  show: { load: async () => (await import('./show.ts')).showCommand, summary: 'show <run-dir> [--json]          the leaderboard of a run' },
  sandbox: {
    load: async () => (await import('./sandbox.ts')).sandboxCommand,
    summary: 'sandbox build <name> | prune     build a sandbox image; clean up Docker leftovers',
  },
  env: {
    load: async () => (await import('./env.ts')).envCommand,
    summary: 'env init <repo> | env check <env>  define an environment; check it before a sweep',
  },
  patch: {
    load: async () => (await import('./patch.ts')).patchCommand,
    summary: 'patch apply <repo-dir> <patch>    apply a model-written edit to a working tree',
  },
  report: {
    load: async () => (await import('./report.ts')).reportCommand,
    summary: 'report <run-dir>                 write report.html and summary.md',
  },
  watch: {
    load: async () => (await import('./watch.ts')).watchCommand,
    summary: 'watch <run-dir> [--port N]       serve the report live on localhost',
  },
  apply: {
    load: async () => (await import('./apply.ts')).applyCommand,
    summary: 'apply <run-dir> <idea-id|best>   put an idea on a branch (--patch: print it)',
  },
  accept: {
    load: async () => (await import('./accept.ts')).acceptCommand,
    summary: 'accept <run-dir> <idea>          let an idea the auditor flagged be the best (records who, when)',
  },
  confirm: {
    load: async () => (await import('./confirm.ts')).confirmCommand,
    summary: 'confirm <run-dir> [idea…]        score the top ideas on the test split (fresh seeds)',
  },
  compare: {
    load: async () => (await import('./compare.ts')).compareCommand,
    summary: 'compare <run-a> <run-b>          best reward, reward at equal ideas, cost',
  },
  export: {
    load: async () => (await import('./export.ts')).exportCommand,
    summary: 'export <run-dir> … [--out FILE]  one record per idea (prompts, diffs, rewards): JSON lines or Parquet',
  },
};

export function usage(): string {
  return [
    'usage: researcher <command> [options]',
    '',
    ...Object.values(COMMANDS).map((c) => `  researcher ${c.summary}`),
    '',
    'researcher <command> --help for its options',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  try {
    if (!command) {
      const guess = closest(name, Object.keys(COMMANDS));
      throw new UsageError(`unknown command "${name}"${guess ? `; did you mean \`researcher ${guess}\`?` : ''}\n${usage()}`);
    }
    return await (
      await command.load()
    )(rest);
  } catch (error) {
    if (error instanceof ResearcherError) {
      console.error(`error: ${error.message}`);
      return error.exitCode;
    }
    throw error;
  }
}
