/**
 * `npx tsx bench/curves-from-run.ts RUN_DIR OUT.json [NOTE]`: writes a finished run's learning
 * curves in the format the early-stopping benchmark replays (bench/early-stop.ts, bench/curves/):
 * every evaluation that ran to its end (a run stopped early is no recording of where it would
 * have gone), with its points, its duration and its reward. Record with `--early-stop off`.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadEnvironment } from '../src/environment/load.ts';
import { RunStore } from '../src/store/run-store.ts';
import { RecordedCurves } from './early-stop.ts';

export function curvesFromRun(runDir: string, note = ''): RecordedCurves {
  const store = RunStore.open(path.resolve(runDir));
  try {
    const config = store.config;
    const environment = loadEnvironment(config.environmentDir);
    const progress = environment.config.progress;
    if (!progress) throw new Error(`${config.environmentName} declares no progress: nothing to replay`);
    const curves = new Map(store.curves().map((curve) => [curve.evaluationId, curve.points]));
    const titles = new Map(store.ideas().map((idea) => [idea.id, idea.title]));
    const runs = store
      .evaluations()
      .filter((e) => e.status !== 'running' && e.failureReason !== 'stopped-early' && e.durationMs !== null && e.durationMs > 0)
      .map((e) => ({
        label: e.ideaId === 0 ? 'baseline' : `${e.ideaId}: ${titles.get(e.ideaId) ?? ''}`,
        baseline: e.ideaId === 0,
        seed: e.seed,
        reward: e.status === 'succeeded' ? e.reward : null,
        durationMs: e.durationMs!,
        points: curves.get(e.id) ?? [],
      }));
    return RecordedCurves.parse({
      environment: config.environmentName,
      steps: progress.steps,
      goal: progress.goal ?? environment.config.reward.goal,
      recorded: [note, `run ${config.runId}, ${config.sandbox} sandbox, --parallel ${config.parallel}`].filter(Boolean).join('; '),
      runs,
    });
  } finally {
    store.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [runDir, out, note] = process.argv.slice(2);
  if (!runDir || !out) {
    console.error('usage: npx tsx bench/curves-from-run.ts RUN_DIR OUT.json [NOTE]');
    process.exit(2);
  }
  const curves = curvesFromRun(runDir, note);
  writeFileSync(out, `${JSON.stringify(curves)}\n`);
  console.log(`${out}: ${curves.runs.length} runs of ${curves.environment}`);
}
