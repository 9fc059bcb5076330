/**
 * `researcher steer <run-dir> ["guidance"]`: tells a running sweep what to try next. The text is
 * appended, with the time, to the run's steer.md, which the sweep reads before each proposal;
 * without text, prints the guidance the next proposal will see.
 */
import path from 'node:path';
import { UsageError } from '../core/errors.ts';
import { appendGuidance, GUIDANCE_FILE, guidanceFile, readGuidance, requireRunDir } from '../store/guidance.ts';
import { parseCommand } from './args.ts';

const HELP = `usage: researcher steer <run-dir> ["guidance"]

  Appends the guidance, with the time, to <run-dir>/${GUIDANCE_FILE} (plain Markdown: edit it by hand
  as you like). Every idea proposed from then on sees all of it, and records which guidance it saw.
  Without guidance: prints what the next proposal will see.`;

export async function steerCommand(args: string[]): Promise<number> {
  const parsed = parseCommand(args, {}, HELP);
  if (!parsed) return 0;
  const [shown, ...words] = parsed.positionals;
  if (shown === undefined) throw new UsageError(`expected a run folder\n${HELP}`);
  const runDir = path.resolve(shown);
  requireRunDir(runDir);
  if (words.length === 0) {
    const current = readGuidance(runDir);
    if (!current.ok) throw new UsageError(current.message);
    console.log(current.text ?? `no guidance yet (write some with \`researcher steer ${shown} "…"\`)`);
    return 0;
  }
  appendGuidance(runDir, words.join(' '));
  console.log(`added to ${guidanceFile(runDir)}; the next idea proposed will see it`);
  return 0;
}
