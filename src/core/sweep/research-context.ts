/**
 * What an agent is told when it proposes or implements an idea: the run's history, the parent's
 * code, the lab notebook and the latest reflection (./memory.ts), reproducible randomness, and the ledger through which its model calls are recorded and
 * --max-cost is enforced.
 */
import type { ResearchContext } from '../interfaces.ts';
import { readGuidance } from '../../store/guidance.ts';
import { THINKER_MODEL_KEY } from '../../search/model-portfolio.ts';
import { mixSeed, seededRandom } from '../random.ts';
import type { SweepParts } from './dependencies.ts';

export async function researchContext(
  parts: SweepParts,
  ideaId: number,
  parentId: number | null,
  instruction?: string,
  attempt = 0,
  /** A debug round's failed attempt: the code the fix is written against (ResearchContext.attemptCommit). */
  attemptCommit?: string,
): Promise<ResearchContext> {
  const { store, workspace, environment } = parts.deps;
  const { record, scheduler, config, memory } = parts;
  const notebook = memory.view();
  const learned = memory.learned();
  const parent = parentId === null ? null : (record.idea(parentId) ?? null);
  const codeCommit = attemptCommit ?? parent?.commit ?? workspace.baseCommit;
  // Read afresh each time: the person may steer the sweep while it runs.
  const guidance = readGuidance(store.runDir);
  if (!guidance.ok) parts.deps.progress.report({ type: 'log', message: `the guidance is ignored: ${guidance.message}` });
  // Chosen when the idea was recorded, so a resumed idea is proposed by the same model.
  const thinkerModel = record.idea(ideaId)?.meta[THINKER_MODEL_KEY];
  return {
    ideaId,
    environment,
    history: record.history().filter((idea) => idea.id !== ideaId),
    parent,
    instruction,
    ...(guidance.ok && guidance.text !== null ? { guidance: guidance.text } : {}),
    ...(typeof thinkerModel === 'string' ? { thinkerModel } : {}),
    ...(notebook ? { notebook } : {}),
    ...(learned ? { learned } : {}),
    ...(attemptCommit ? { attemptCommit } : {}),
    readFile: (relativePath) => workspace.readFile(codeCommit, relativePath),
    readFileAt: (commit, relativePath) => workspace.readFile(commit, relativePath),
    listFiles: () => workspace.listFiles(codeCommit),
    curves: store.curves(),
    // A retried proposal gets fresh randomness, or a seeded thinker would repeat itself.
    random: seededRandom(attempt === 0 ? mixSeed(config.randomSeed, ideaId) : mixSeed(config.randomSeed, ideaId, attempt)),
    signal: scheduler.prepareSignal,
    ledger: {
      cached: (cacheKey) => store.cachedResponse(cacheKey),
      record: (call) => {
        store.recordModelCall({ ...call, ideaId });
        scheduler.spend(call.usage.costUsd);
      },
      spentUsd: () => scheduler.spentUsd,
      maxCostUsd: config.maxCostUsd,
    },
  };
}
