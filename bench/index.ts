/**
 * `npm run bench [-- --quick] [-- SECTION …]`: measures the framework against the floors it cannot
 * beat, side by side in one process run, prints a table and writes bench/results.json.
 *
 * Sections (all but `search` and `execution` by default):
 *   startup    `researcher --help` (compiled, and from the sources through tsx) vs `node -e 0`
 *   overhead   per-idea framework time vs `git worktree add` (and a no-op `docker run --rm`)
 *   scheduler  slot utilisation of the pipelined sweep vs the naive think → code → run loop
 *   patches    patch robustness: the project's applier vs git apply, git apply --3way, patch --fuzz=3
 *   store      a run of 10,000 ideas: show --json, report, resume to first dispatch
 *   prompts    prompt-prefix stability of the LLM agent over a serial sweep (loopback server)
 *   search     serial / parallel / evolve on environments/grpo-tiny, best reward at equal ideas
 *   early-stop a sweep replayed on recorded learning curves (bench/curves/) with the stopping rule off and on
 *   execution  share of coded ideas that run, debug rounds off / on (with and without a smoke step)
 *
 * Benchmarks are not tests: nothing here asserts a time. Figures are medians over repeats, with
 * min and max; ratios compare figures measured in the same run.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { executionBench, type ExecutionResult } from './execution.ts';
import { overheadBench, type OverheadResult } from './overhead.ts';
import { earlyStopBench, type EarlyStopResult } from './early-stop.ts';
import { cutOffLine, patchBench, type PatchResult } from './patches.ts';
import { promptBench, type PromptResult } from './prompts.ts';
import { schedulerBench, type SchedulerResult } from './scheduler.ts';
import { searchBench, type SearchResult } from './search.ts';
import { startupBench, type StartupResult } from './startup.ts';
import { fmt, fmtSummary, removeBenchDirs } from './stats.ts';
import { storeBench, type StoreResult } from './store-scale.ts';

type Options = { quick: boolean; log: (line: string) => void };

const SECTIONS = {
  startup: startupBench,
  overhead: overheadBench,
  scheduler: schedulerBench,
  patches: patchBench,
  store: storeBench,
  prompts: promptBench,
  search: searchBench,
  'early-stop': earlyStopBench,
  execution: executionBench,
} satisfies Record<string, (options: Options) => Promise<unknown>>;
type Section = keyof typeof SECTIONS;
const DEFAULT_SECTIONS: Section[] = ['startup', 'overhead', 'scheduler', 'patches', 'store', 'prompts', 'early-stop'];

export const RESULTS_FILE = path.resolve(import.meta.dirname, 'results.json');

interface SectionRecord {
  mode: 'quick' | 'full';
  at: string;
  seconds: number;
  machine: Machine;
  data: unknown;
}

interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  os: string;
  node: string;
  git: string;
  /** 1-minute load average when the section started: other work on the machine skews figures. */
  load: number;
}

function machine(): Machine {
  let git = '?';
  try {
    git = execFileSync('git', ['--version'], { encoding: 'utf8' }).trim().replace('git version ', '');
  } catch {
    // no git: the overhead section will say so
  }
  return {
    cpu: os.cpus()[0]?.model.trim() ?? '?',
    cores: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    git,
    load: Number(os.loadavg()[0].toFixed(2)),
  };
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function formatSection(name: string, record: SectionRecord): string {
  const title = `${name} (${record.mode}, ${fmt(record.seconds)} s, load ${record.machine.load})`;
  switch (name as Section) {
    case 'startup': {
      const data = record.data as StartupResult;
      const rows = [
        ['node -e 0', fmtSummary(data.node), '1×'],
        ['researcher --help (dist/)', fmtSummary(data.compiled), `${fmt(data.ratio, 2)}×`],
        ['researcher --help (sources, tsx)', fmtSummary(data.sources), `${fmt(data.sourcesRatio, 2)}×`],
      ];
      return `${title}\nstart-up to exit, ms (median (min–max)), ${data.repeats} interleaved repeats (tsx: every third); target: dist/ ≤ 2× node\n${table(['command', 'ms', 'vs node'], rows)}`;
    }
    case 'overhead': {
      const data = record.data as OverheadResult;
      const rows = data.rows.map((r) => [
        `${r.repo} (${r.files} files, ${fmt(r.megabytes)} MB)`,
        r.sandbox,
        fmtSummary(r.diffToReward),
        fmtSummary(r.perIdea),
        `${r.floorName} ${fmtSummary(r.floor)}`,
        `${fmt(r.ratio, 2)}× / ${fmt(r.ratioAll, 2)}×`,
      ]);
      return `${title}\nframework time per idea, ms (median (min–max)); run time excluded\n${table(['repository', 'sandbox', 'diff→reward', 'per idea, all', 'floor, ms', 'vs floor'], rows)}${data.docker.startsWith('DOCKER_HOST') || data.docker.includes('no image') ? `\nDocker not measured: ${data.docker}` : ''}`;
    }
    case 'scheduler': {
      const data = record.data as SchedulerResult;
      const s = data.settings;
      const rows = [1, 8, 64].map((k) => {
        const p = data.rows.find((r) => r.slots === k && r.scheduler === 'pipelined')!;
        const n = data.rows.find((r) => r.slots === k && r.scheduler === 'naive')!;
        return [
          String(k),
          fmtSummary(p.utilisation),
          fmtSummary(n.utilisation),
          `${fmt(p.utilisation.median / n.utilisation.median, 3)}×`,
          `${fmt(p.ideasFinished.median)} / ${fmt(n.ideasFinished.median)}`,
          p.loopMsPerIdea ? fmtSummary(p.loopMsPerIdea) : '—',
        ];
      });
      return `${title}\nslot utilisation = busy / (K × makespan); runs log-normal (median ${s.runMedianSeconds} s, σ ${s.runSigma}, cut at ${s.runTimeoutSeconds} s), thinker ${s.thinkerSeconds} s, coder ${s.coderSeconds} s, time ×${s.timeScale}; time box ${Object.entries(
        s.timeBoxSeconds,
      )
        .map(([k, v]) => `K=${k}: ${v} s`)
        .join(
          ', ',
        )}; ${s.repeats} repeat(s)\n${table(['K', 'pipelined', 'naive', 'ratio', 'ideas done (p / n)', 'event loop ms/idea'], rows)}`;
    }
    case 'patches': {
      const data = record.data as PatchResult;
      const rows = data.tools.map((t) => [
        t.tool,
        String(t.correct),
        String(t.refused),
        String(t.wrong),
        t.wrongCases.slice(0, 3).join(', ') + (t.wrongCases.length > 3 ? ', …' : ''),
      ]);
      const damage = Object.entries(data.byDamage).map(([kind, counts]) => [
        kind,
        String(counts.cases),
        ...data.tools.map((t) => String(counts[t.tool])),
      ]);
      return `${title}\n${data.cases} cases (${data.mustRefuse} must be refused: truncated edits)\n${table(['applier', 'correct', 'refused', 'wrong', 'wrong cases'], rows)}\n\ncorrect per damage kind\n${table(['damage', 'cases', ...data.tools.map((t) => t.tool)], damage)}\n${cutOffLine(data)}`;
    }
    case 'store': {
      const data = record.data as StoreResult;
      return `${title}\n${data.ideas} ideas, run.db ${fmt(data.databaseMegabytes)} MB\n${table(
        ['command', 'ms'],
        data.commands.map((c) => [c.command, fmtSummary(c.ms)]),
      )}`;
    }
    case 'prompts': {
      const data = record.data as PromptResult;
      const rows = data.roles.map((r) => [r.role, String(r.calls), fmtSummary(r.share), fmt(r.meanPromptBytes)]);
      return `${title}\nshare of each prompt equal to the previous prompt's prefix (same role), ideas ${data.warmup + 2}…${data.ideas}; server-billed cached share of input tokens: ${fmt(data.cachedTokenShare)}\n${table(['role', 'calls', 'prefix share', 'mean bytes'], rows)}`;
    }
    case 'search': {
      const data = record.data as SearchResult;
      const rows = data.rows.map((r) => [
        r.strategy,
        fmt(r.best.mean, 4),
        r.bestBySeed.map((b) => fmt(b, 3)).join(' '),
        fmt(r.curve[Math.floor(data.ideas / 2) - 1], 3),
        fmt(r.evaluations),
        fmt(r.failed),
      ]);
      return `${title}\n${data.environment}, offline agent, ${data.ideas} ideas each, researcher seeds ${data.seeds.join(', ')}; baseline ${fmt(data.rows[0]?.baseline ?? NaN, 3)}\n${table(['strategy', 'mean best', 'best per seed', `mean best @${Math.floor(data.ideas / 2)}`, 'evaluations', 'failed'], rows)}`;
    }
    case 'early-stop': {
      const data = record.data as EarlyStopResult;
      if (data.missing) return `${title}\nnot measured: ${data.missing}`;
      const rows = data.rows.map((r) => [
        `${r.environment} K=${r.slots}`,
        r.rule,
        `${fmt(r.ideasPerHourOff.median)} → ${fmt(r.ideasPerHourOn.median)}`,
        `${fmt(r.ratio.median, 3)}× (${fmt(r.ratio.min, 3)}–${fmt(r.ratio.max, 3)})`,
        `${fmt(r.ideasOnlyRatio.median, 3)}×`,
        `${fmt(r.wastedHoursOff.median)} → ${fmt(r.wastedHoursOn.median)}`,
        fmt(r.stopped.median),
        `${fmt(100 * r.sameBest, 3)} %`,
      ]);
      const sources = data.sources.map(
        (s) =>
          `${s.file}: ${s.environment}, ${s.ideas} ideas, ${s.baselineRuns} baseline seeds recorded (3 replayed), ${s.runs} runs${s.recorded ? ` (${s.recorded})` : ''}`,
      );
      const skipped = data.skipped.length ? `\nskipped: ${data.skipped.join('; ')}` : '';
      return `${title}${skipped}\nsweeps replayed on recorded curves, rule off → on, medians over ${data.repeats} shuffled orders; target ≥ 2× ideas per slot-hour with the same best in ≥ 95 %\n${sources.join('\n')}\n${table(['sweep', 'rule', 'ideas / slot-hour', 'ratio', 'ideas only', 'slot-h not on the best', 'stopped', 'same best'], rows)}`;
    }
    case 'execution': {
      const data = record.data as ExecutionResult;
      const percent = (x: number | null) => (x === null ? '—' : `${Math.round(x * 100)}%`);
      const rows = data.rows.map((r) => [
        r.setup,
        `${r.execution.executed}/${r.execution.coded}`,
        percent(r.execution.rate),
        percent(r.execution.rateWithoutDebugRounds),
        `${r.execution.fixesCommitted}/${r.execution.debugRounds}`,
        fmt(r.runSeconds),
        r.runSecondsPerExecuted === null ? '—' : fmt(r.runSecondsPerExecuted),
        r.bestReward === null ? '—' : fmt(r.bestReward, 3),
      ]);
      return `${title}
${data.environment}, offline thinker, a coder whose change fails at run time (NameError) on every second idea and that fixes it when shown the traceback; ${data.ideas} ideas, seed ${data.seed}; run s = full runs + smoke steps (evaluator excluded)
${table(['setup', 'ran', 'rate', 'first attempt', 'fixes/rounds', 'run s', 'run s / idea ran', 'best'], rows)}`;
    }
  }
  return title;
}

export async function main(argv: string[]): Promise<number> {
  const quick = argv.includes('--quick');
  const unknown = argv.filter((a) => a.startsWith('--') && a !== '--quick');
  const named = argv.filter((a) => !a.startsWith('--'));
  const bad = named.filter((n) => !(n in SECTIONS));
  if (unknown.length || bad.length) {
    console.error(`usage: npm run bench [-- --quick] [-- ${Object.keys(SECTIONS).join(' | ')} …]`);
    return 2;
  }
  const sections = (named.length ? named : DEFAULT_SECTIONS) as Section[];
  const saved: Record<string, SectionRecord> = existsSync(RESULTS_FILE)
    ? (JSON.parse(readFileSync(RESULTS_FILE, 'utf8')).sections ?? {})
    : {};
  const started = performance.now();
  const log = (line: string) => console.error(`[bench +${Math.round((performance.now() - started) / 1000)}s] ${line}`);
  try {
    for (const name of sections) {
      const at = new Date().toISOString();
      const before = machine();
      const sectionStart = performance.now();
      log(`${name}…`);
      const data = await SECTIONS[name]({ quick, log });
      const record: SectionRecord = {
        mode: quick ? 'quick' : 'full',
        at,
        seconds: (performance.now() - sectionStart) / 1000,
        machine: before,
        data,
      };
      saved[name] = record;
      // Written after every section, so a long run interrupted late keeps what it measured.
      writeFileSync(RESULTS_FILE, `${JSON.stringify({ updated: new Date().toISOString(), sections: saved }, null, 1)}\n`);
      const text = formatSection(name, record);
      console.log(`\n${text}`);
    }
  } finally {
    removeBenchDirs();
  }
  const m = machine();
  console.log(
    `\n${sections.length} section(s) in ${fmt((performance.now() - started) / 1000)} s on ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}, node ${m.node}, git ${m.git}; results in ${path.relative(process.cwd(), RESULTS_FILE)}`,
  );
  return 0;
}
