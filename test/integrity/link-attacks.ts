/**
 * Test helpers for the link attacks: an environment whose run leaves links in its outputs when a
 * coder's edit says so, a host file holding a marker that must never surface, and a scan of a
 * run folder for that marker.
 */
import { lstatSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Edit } from '../../src/core/types.ts';
import { tempDir } from '../helpers/sweep.ts';

/**
 * The quadratic task (reward 10 − (X − 3)²) with its own evaluator, whose hidden answer is
 * {"x": 3.0}: a prediction.json that is a link to the answer would score a perfect 10. The
 * evaluator also prints how many links it finds under $OUTPUT_DIR. Without `evaluator`, the
 * reward is read from the run's own metrics.json.
 */
export function linkEnvironment(options: { evaluator: boolean; image?: string }): string {
  const dir = path.join(tempDir('researcher-links-'), 'links');
  mkdirSync(path.join(dir, 'code'), { recursive: true });
  writeFileSync(path.join(dir, 'code', 'config.py'), 'X = 0.5\n');
  writeFileSync(
    path.join(dir, 'code', 'train.py'),
    [
      'import json, os',
      'from config import X',
      'out = os.environ["OUTPUT_DIR"]',
      'seed = int(os.environ.get("SEED", "0"))',
      'with open(os.path.join(out, "prediction.json"), "w") as f:',
      '    json.dump({"x": X, "seed": seed}, f)',
      'with open(os.path.join(out, "metrics.json"), "w") as f:',
      '    json.dump({"score": 10 - (X - 3) ** 2}, f)',
      '# end of training',
      '',
    ].join('\n'),
  );
  const yaml = [
    'name: links',
    'description: Maximise the score by choosing X.',
    ...(options.image ? [`image: ${options.image}`] : []),
    'code: { path: ./code }',
    'context: ["*.py"]',
    'editable: ["*.py"]',
    'run: { command: python3 train.py, timeout: 60s }',
  ];
  if (options.evaluator) {
    mkdirSync(path.join(dir, 'evaluator'));
    writeFileSync(path.join(dir, 'evaluator', 'answer.json'), '{"x": 3.0}');
    writeFileSync(
      path.join(dir, 'evaluator', 'score.py'),
      [
        'import json, os, sys',
        'out = os.environ["OUTPUT_DIR"]',
        'links = [os.path.join(r, n) for r, ds, fs in os.walk(out) for n in ds + fs if os.path.islink(os.path.join(r, n))]',
        'print(f"links under OUTPUT_DIR: {len(links)}", flush=True)',
        'try:',
        '    with open(os.path.join(out, "prediction.json")) as f:',
        '        prediction = json.load(f)',
        'except (OSError, ValueError) as error:',
        '    sys.exit(f"no usable prediction.json: {type(error).__name__}")',
        'with open("answer.json") as f:',
        '    answer = json.load(f)',
        'with open(os.path.join(os.environ["EVAL_DIR"], "metrics.json"), "w") as f:',
        '    json.dump({"score": 10 - (prediction["x"] - answer["x"]) ** 2}, f)',
        '',
      ].join('\n'),
    );
    yaml.push('evaluate: { command: python3 score.py, dir: ./evaluator, timeout: 60s }');
  }
  yaml.push('reward: { source: json, file: metrics.json, key: score, goal: maximize }', '');
  writeFileSync(path.join(dir, 'environment.yaml'), yaml.join('\n'));
  return dir;
}

/** Python lines a coder appends to train.py. */
export function trainPyAppends(...lines: string[]): Edit {
  return { kind: 'search-replace', blocks: [{ path: 'train.py', search: '# end of training', replace: lines.join('\n') }] };
}

/** The run replaces `name` in its outputs with a symbolic link to `target`. */
export function linkOutput(name: string, target: string): Edit {
  return trainPyAppends(
    `os.remove(os.path.join(out, ${JSON.stringify(name)}))`,
    `os.symlink(${JSON.stringify(target)}, os.path.join(out, ${JSON.stringify(name)}))`,
  );
}

/** The run replaces `name` in its outputs with a hard link to `target`. */
export function hardLinkOutput(name: string, target: string): Edit {
  return trainPyAppends(
    `os.remove(os.path.join(out, ${JSON.stringify(name)}))`,
    `os.link(${JSON.stringify(target)}, os.path.join(out, ${JSON.stringify(name)}))`,
  );
}

/** A host file shaped like /etc/passwd, holding a marker string nothing may ever copy. */
export function hostSecret(): { file: string; marker: string } {
  const marker = `MARKER-${Math.random().toString(36).slice(2, 10)}`;
  const file = path.join(tempDir('researcher-host-'), 'secret.txt');
  writeFileSync(file, `root:x:0:0:${marker}:/root:/bin/bash\n`);
  return { file, marker };
}

/** Regular files under `dir` (links are not followed) whose contents contain `marker`. */
export function filesContaining(dir: string, marker: string): string[] {
  const found: string[] = [];
  const visit = (folder: string) => {
    for (const name of readdirSync(folder)) {
      const file = path.join(folder, name);
      const stat = lstatSync(file);
      if (stat.isDirectory()) visit(file);
      else if (stat.isFile() && readFileSync(file).includes(marker)) found.push(path.relative(dir, file));
    }
  };
  visit(dir);
  return found;
}
