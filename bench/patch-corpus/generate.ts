/**
 * Writes bench/patch-corpus/cases.json: model-style edits against real code (the files in
 * sources/, a snapshot of this project's own Python and TypeScript), each as a clean unified diff
 * and damaged the ways models damage diffs, with the file each case should produce (null: the
 * edit is incomplete and must be refused).
 *
 *   npx tsx bench/patch-corpus/generate.ts
 *
 * The output is committed, so the corpus stays the same as the code it was cut from moves on.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createTwoFilesPatch } from 'diff';

const HERE = import.meta.dirname;

export interface BaseEdit {
  name: string;
  file: string;
  /** (search, replace) pairs applied in order to the source: the intended change. */
  changes: [string, string][];
}

/** What a model might be asked to do to this code, written as the change it should make. */
export const EDITS: BaseEdit[] = [
  {
    name: 'clip-advantages',
    file: 'grpo.py',
    changes: [
      [
        '    std = math.sqrt(sum(c * c for c in centred) / len(centred))\n    return [c / (std + eps) for c in centred]\n',
        '    std = math.sqrt(sum(c * c for c in centred) / len(centred))\n    normalized = [c / (std + eps) for c in centred]\n    # Clip extreme advantages so one lucky answer cannot dominate the update.\n    return [max(-5.0, min(5.0, a)) for a in normalized]\n',
      ],
    ],
  },
  {
    name: 'temperature-floor',
    file: 'grpo.py',
    changes: [
      [
        '    scaled = [z / temperature for z in logits]\n',
        '    temperature = max(temperature, 1e-3)  # avoid dividing by zero at greedy decoding\n    scaled = [z / temperature for z in logits]\n',
      ],
    ],
  },
  {
    name: 'two-knobs',
    file: 'config.py',
    changes: [
      ['LEARNING_RATE = 0.2\n', 'LEARNING_RATE = 0.1\n'],
      ['NORMALIZE_ADVANTAGES = False\n', 'NORMALIZE_ADVANTAGES = True\n'],
    ],
  },
  {
    name: 'policy-entropy',
    file: 'policy.py',
    changes: [
      [
        '    def forward(self, question):\n',
        '    def entropy(self, question):\n        """Entropy of pi(. | question), for logging."""\n        row = self.logits[question]\n        top = max(row)\n        weights = [math.exp(z - top) for z in row]\n        total = sum(weights)\n        return -sum(w / total * math.log(w / total) for w in weights if w > 0)\n\n    def forward(self, question):\n',
      ],
      ['"""\n\n\nclass TablePolicy:', '"""\nimport math\n\n\nclass TablePolicy:'],
    ],
  },
  {
    name: 'reward-partial-credit',
    file: 'tasks.py',
    changes: [
      [
        '    return 1.0 if answer == a + b else 0.0\n',
        '    if answer == a + b:\n        return 1.0\n    # Partial credit for an answer off by one: a denser signal early in training.\n    return 0.1 if abs(answer - (a + b)) == 1 else 0.0\n',
      ],
    ],
  },
  {
    name: 'warmup-and-logging',
    file: 'train.py',
    changes: [
      [
        'def log(message):\n    print(message, flush=True)\n',
        'def log(message):\n    print(f"[{time.strftime(\'%H:%M:%S\')}] {message}", flush=True)\n',
      ],
      [
        '    log(f"final greedy_acc={greedy_accuracy(policy, problems):.3f}")\n',
        '    final_acc = greedy_accuracy(policy, problems)\n    log(f"final greedy_acc={final_acc:.3f}")\n    if final_acc < 0.05:\n        log("warning: the policy barely learned; try a larger LEARNING_RATE")\n',
      ],
    ],
  },
  {
    name: 'delete-comment-block',
    file: 'train.py',
    changes: [
      [
        "        # Each question has its own row of logits, so its row only receives its own group's\n        # gradient: the batch loss is the *sum* of the groups' losses, which makes the learning\n        # rate a per-question step size, independent of PROMPTS_PER_STEP.\n",
        '',
      ],
    ],
  },
  {
    name: 'gpu-pool-guard',
    file: 'gpu-pool.ts',
    changes: [
      [
        '  async acquire(count: number): Promise<string[]> {\n',
        '  async acquire(count: number): Promise<string[]> {\n    if (!Number.isInteger(count) || count < 0) throw new Error(`cannot acquire ${count} GPUs`);\n',
      ],
    ],
  },
  {
    name: 'random-uniform-int',
    file: 'random.ts',
    changes: [
      [
        '/** A standard normal sample (Box–Muller). */\n',
        '/** A whole number in [lo, hi], uniformly. */\nexport function uniformInt(random: () => number, lo: number, hi: number): number {\n  return lo + Math.floor(random() * (hi - lo + 1));\n}\n\n/** A standard normal sample (Box–Muller). */\n',
      ],
    ],
  },
  {
    name: 'metric-nan-message',
    file: 'metric.ts',
    changes: [
      [
        "import type { Reward } from '../environment/schema.ts';\n",
        "import type { Reward } from '../environment/schema.ts';\n\n/** Longest metric text quoted back in a failure message. */\nconst MAX_QUOTED = 80;\n",
      ],
    ],
  },
];

export interface PatchCase {
  name: string;
  edit: string;
  damage: string;
  file: string;
  original: string;
  diff: string;
  /** The file the edit should produce; null when the diff is incomplete and must be refused. */
  expected: string | null;
}

interface Hunk {
  oldStart: number;
  oldCount: number;
  newStart: number;
  newCount: number;
  lines: string[];
}

function parse(diff: string): { header: string[]; hunks: Hunk[] } {
  const header: string[] = [];
  const hunks: Hunk[] = [];
  for (const line of diff.split('\n')) {
    const m = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/.exec(line);
    if (m)
      hunks.push({
        oldStart: +m[1],
        oldCount: m[2] === undefined ? 1 : +m[2],
        newStart: +m[3],
        newCount: m[4] === undefined ? 1 : +m[4],
        lines: [],
      });
    else if (hunks.length) {
      if (line !== '') hunks[hunks.length - 1].lines.push(line);
    } else header.push(line);
  }
  return { header, hunks };
}

function render(header: string[], hunks: Hunk[]): string {
  const out = [...header];
  for (const h of hunks) out.push(`@@ -${h.oldStart},${h.oldCount} +${h.newStart},${h.newCount} @@`, ...h.lines);
  return `${out.join('\n')}\n`;
}

const clone = (hunks: Hunk[]) => hunks.map((h) => ({ ...h, lines: [...h.lines] }));

/** Each damage: the diff as a model might write it, and whether the intended file is still knowable. */
const DAMAGES: Record<string, (diff: string) => { diff: string; complete: boolean } | null> = {
  correct: (diff) => ({ diff, complete: true }),
  'shifted-line-numbers': (diff) => {
    const { header, hunks } = parse(diff);
    const shifted = clone(hunks).map((h) => ({ ...h, oldStart: h.oldStart + 7, newStart: h.newStart + 7 }));
    return { diff: render(header, shifted), complete: true };
  },
  'wrong-hunk-counts': (diff) => {
    const { header, hunks } = parse(diff);
    return {
      diff: render(
        header,
        clone(hunks).map((h) => ({ ...h, oldCount: h.oldCount + 2, newCount: Math.max(1, h.newCount - 1) })),
      ),
      complete: true,
    };
  },
  'lost-indentation': (diff) => {
    const { header, hunks } = parse(diff);
    const out = clone(hunks).map((h) => {
      const indents = h.lines.filter((l) => l.slice(1).trim()).map((l) => /^\s*/.exec(l.slice(1))![0].length);
      const common = Math.min(...indents);
      return { ...h, lines: h.lines.map((l) => l[0] + l.slice(1 + Math.min(common, /^\s*/.exec(l.slice(1))![0].length))) };
    });
    if (out.every((h, i) => h.lines.join() === hunks[i].lines.join())) return null; // nothing was indented
    return { diff: render(header, out), complete: true };
  },
  'missing-context-line': (diff) => {
    const { header, hunks } = parse(diff);
    const out = clone(hunks);
    const h = out[0];
    const firstChange = h.lines.findIndex((l) => l[0] !== ' ');
    if (firstChange < 2) return null;
    h.lines.splice(firstChange - 2, 1); // a context line just above the change goes missing (counts left as they were)
    return { diff: render(header, out), complete: true };
  },
  'invented-context-line': (diff) => {
    const { header, hunks } = parse(diff);
    const out = clone(hunks);
    const h = out[0];
    const firstChange = h.lines.findIndex((l) => l[0] !== ' ');
    if (firstChange < 1) return null;
    const indent = /^\s*/.exec(h.lines[firstChange].slice(1))![0];
    h.lines.splice(
      firstChange,
      0,
      ` ${indent}${h.lines[firstChange].slice(1).trim().startsWith('//') || /\.ts$/.test(header.join()) ? '// (unchanged)' : '# (unchanged)'}`,
    );
    h.oldCount++;
    h.newCount++;
    return { diff: render(header, out), complete: true };
  },
  'markdown-fences': (diff) => ({ diff: `Here is the change:\n\n\`\`\`diff\n${diff}\`\`\`\n`, complete: true }),
  'no-path-prefixes': (diff) => ({ diff: diff.replace(/^--- a\//m, '--- ').replace(/^\+\+\+ b\//m, '+++ '), complete: true }),
  'extra-path-prefix': (diff) => ({
    diff: diff.replace(/^--- a\//m, '--- a/code/').replace(/^\+\+\+ b\//m, '+++ b/code/'),
    complete: true,
  }),
  'truncated-last-hunk': (diff) => {
    const { header, hunks } = parse(diff);
    const out = clone(hunks);
    const last = out[out.length - 1];
    const keep = Math.max(1, Math.floor(last.lines.length / 2));
    const lost = last.lines.slice(keep);
    last.lines = last.lines.slice(0, keep);
    const text = render(header, out);
    return { diff: text.slice(0, -1), complete: !lost.some((l) => l[0] === '+' || l[0] === '-') };
  },
  crlf: (diff) => ({ diff: diff.replace(/\n/g, '\r\n'), complete: true }),
};

function applyChanges(text: string, changes: [string, string][], edit: string): string {
  let out = text;
  for (const [search, replace] of changes) {
    const at = out.indexOf(search);
    if (at === -1 || out.indexOf(search, at + 1) !== -1) throw new Error(`${edit}: the search text is not found exactly once`);
    out = out.slice(0, at) + replace + out.slice(at + search.length);
  }
  return out;
}

export function generateCases(): PatchCase[] {
  const cases: PatchCase[] = [];
  for (const edit of EDITS) {
    // TypeScript sources are kept as .ts.txt so that the project's typecheck leaves them alone.
    const original = readFileSync(path.join(HERE, 'sources', edit.file.endsWith('.ts') ? `${edit.file}.txt` : edit.file), 'utf8');
    const expected = applyChanges(original, edit.changes, edit.name);
    const clean = createTwoFilesPatch(`a/${edit.file}`, `b/${edit.file}`, original, expected, undefined, undefined, { context: 3 })
      .split('\n')
      .filter((line) => !line.startsWith('====') && !line.startsWith('Index:'))
      .join('\n')
      .replace(/^(---|\+\+\+) (\S+)\t.*$/gm, '$1 $2');
    for (const [damage, make] of Object.entries(DAMAGES)) {
      const made = make(clean);
      if (!made) continue;
      cases.push({
        name: `${edit.name}/${damage}`,
        edit: edit.name,
        damage,
        file: edit.file,
        original,
        diff: made.diff,
        expected: made.complete ? expected : null,
      });
    }
  }
  return cases;
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(HERE, 'generate.ts')) {
  const cases = generateCases();
  writeFileSync(path.join(HERE, 'cases.json'), `${JSON.stringify(cases, null, 1)}\n`);
  console.log(`wrote ${cases.length} cases to ${path.relative(process.cwd(), path.join(HERE, 'cases.json'))}`);
}
