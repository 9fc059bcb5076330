/**
 * `researcher accept <run-dir> <idea> [--by NAME]`: a person overrules the auditor. An idea the
 * auditor flagged is kept out of the best; once accepted (who and when are recorded) it counts
 * like any other idea: in `show`, the report, summary.md, `apply best` and a resumed sweep's
 * search. The report files are rewritten so they say so at once.
 */
import { userInfo } from 'node:os';
import path from 'node:path';
import { UsageError } from '../core/errors.ts';
import { writeReport } from '../report/write-report.ts';
import { RunStore } from '../store/run-store.ts';
import { parseCommand } from './args.ts';

const HELP = `usage: researcher accept <run-dir> <idea> [--by NAME]

  Accepts an idea the auditor flagged: it may be the best from now on. Records who accepted it
  (--by, else your user name) and when. A sweep that is running sees it when it is resumed.`;

export async function acceptCommand(args: string[]): Promise<number> {
  const parsed = parseCommand(args, { by: { type: 'string' } }, HELP);
  if (!parsed) return 0;
  const [shownDir, shownIdea, ...extra] = parsed.positionals;
  if (shownDir === undefined || shownIdea === undefined || extra.length)
    throw new UsageError(`expected a run folder and one idea id\n${HELP}`);
  if (!/^[1-9]\d*$/.test(shownIdea))
    throw new UsageError(`"${shownIdea}" is not an idea id (a positive whole number, as \`researcher show\` lists them)`);
  const by = (parsed.values.by ?? whoAmI()).trim();
  if (!by) throw new UsageError('--by: say who accepts the idea');
  const store = RunStore.open(path.resolve(shownDir));
  try {
    const ideaId = Number(shownIdea);
    const idea = store.idea(ideaId);
    if (!idea) throw new UsageError(`${shownDir} has no idea ${ideaId}`);
    const audit = idea.audit;
    if (!audit || audit.verdict !== 'flagged') {
      const what = !audit
        ? 'was not reviewed by the auditor'
        : audit.verdict === 'ok'
          ? 'was judged ok by the auditor'
          : 'got no verdict (auditor reply unreadable)';
      throw new UsageError(`idea ${ideaId} ${what}: there is nothing to accept (only flagged ideas are held back)`);
    }
    if (audit.acceptedAt) {
      console.log(`idea ${ideaId} was already accepted by ${audit.acceptedBy} at ${audit.acceptedAt}`);
      return 0;
    }
    store.acceptAudit(ideaId, by);
    writeReport(store);
    console.log(`idea ${ideaId} "${idea.title}" accepted by ${by}: it may be the best from now on (the auditor said: ${audit.reason})`);
  } finally {
    store.close();
  }
  return 0;
}

function whoAmI(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? '';
  }
}
