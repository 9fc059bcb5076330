/**
 * `researcher <command>`: dispatches to one file per command. User errors (ResearcherError) are
 * printed as one line with no stack trace; anything else is a bug and is printed in full.
 */
import { ResearcherError, UsageError } from '../core/errors.ts';
import { runCommand } from './run.ts';
import { resumeCommand } from './resume.ts';
import { showCommand } from './show.ts';
import { sandboxCommand } from './sandbox.ts';
import { patchCommand } from './patch.ts';
import { envCommand } from './env.ts';
import { reportCommand } from './report.ts';
import { watchCommand } from './watch.ts';
import { applyCommand } from './apply.ts';
import { compareCommand } from './compare.ts';

type Command = (args: string[]) => Promise<number>;

const COMMANDS: Record<string, { run: Command; summary: string }> = {
  run: { run: runCommand, summary: 'run <environment> [--ideas N] …   start a sweep' },
  resume: { run: resumeCommand, summary: 'resume <run-dir>                 continue a stopped sweep' },
  show: { run: showCommand, summary: 'show <run-dir> [--json]          the leaderboard of a run' },
  sandbox: { run: sandboxCommand, summary: 'sandbox build <name> | prune     build a sandbox image; clean up Docker leftovers' },
  env: { run: envCommand, summary: 'env init <repo> | env check <env>  define an environment; check it before a sweep' },
  patch: { run: patchCommand, summary: 'patch apply <repo-dir> <patch>    apply a model-written edit to a working tree' },
  report: { run: reportCommand, summary: 'report <run-dir>                 write report.html and summary.md' },
  watch: { run: watchCommand, summary: 'watch <run-dir> [--port N]       serve the report live on localhost' },
  apply: { run: applyCommand, summary: 'apply <run-dir> <idea-id|best>   put an idea on a branch (--patch: print it)' },
  compare: { run: compareCommand, summary: 'compare <run-a> <run-b>          best reward, reward at equal ideas, cost' },
};

export function usage(): string {
  return ['usage: researcher <command> [options]', '', ...Object.values(COMMANDS).map((c) => `  researcher ${c.summary}`), '', 'researcher <command> --help for its options'].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  try {
    if (!command) throw new UsageError(`unknown command "${name}"\n${usage()}`);
    return await command.run(rest);
  } catch (error) {
    if (error instanceof ResearcherError) {
      console.error(`error: ${error.message}`);
      return error.exitCode;
    }
    throw error;
  }
}
