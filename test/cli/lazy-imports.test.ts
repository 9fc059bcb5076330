/**
 * What a command loads before it runs: the static imports reachable from its module (dynamic
 * `import()`s are loaded only when taken, and type-only imports are erased). `--help` should load
 * next to nothing, and a sweep's shared path no SDK, Docker or Slurm client: those are loaded
 * when the run's agent file or sandbox asks for them.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const REPO_ROOT = path.resolve(import.meta.dirname, '../..');
const IMPORT = /^\s*(?:import|export)\s+(type\s+)?(?:([^'";]*?)\s+from\s+)?['"]([^'"]+)['"]/gm;

/** The modules (repository-relative) and packages a module loads with it, transitively. */
function staticGraph(entry: string): { modules: string[]; packages: string[] } {
  const modules = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    const relative = path.relative(REPO_ROOT, file);
    if (modules.has(relative)) return;
    modules.add(relative);
    for (const [, typeOnly, clause, specifier] of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      // `import { type A, type B } from` is erased as well as `import type`.
      const names = clause
        ?.trim()
        .match(/^\{([^}]*)\}$/)?.[1]
        .split(',')
        .map((name) => name.trim())
        .filter(Boolean);
      const onlyTypes = names !== undefined && names.every((name) => /^type\s/.test(name));
      if (typeOnly || onlyTypes) continue;
      if (specifier.startsWith('.')) visit(path.resolve(path.dirname(file), specifier));
      else if (!specifier.startsWith('node:'))
        packages.add(specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]);
    }
  };
  visit(path.join(REPO_ROOT, entry));
  return { modules: [...modules].sort(), packages: [...packages].sort() };
}

describe('what a command loads', () => {
  it('--help: the dispatcher, its flag parser ("did you mean") and the error types, no package', () => {
    expect(staticGraph('src/cli/main.ts')).toEqual({ modules: ['src/cli/args.ts', 'src/cli/main.ts', 'src/core/errors.ts'], packages: [] });
  });

  it('resume (and run): no model SDK, no Docker or Slurm code until the run asks for it', () => {
    for (const command of ['src/cli/resume.ts', 'src/cli/sweep-session.ts']) {
      const { modules, packages } = staticGraph(command);

      expect(packages).not.toContain('openai');
      expect(packages).not.toContain('@anthropic-ai/sdk');
      expect(packages).not.toContain('dockerode');

      expect(modules.filter((m) => /^src\/(models\/(openai|anthropic)|sandbox\/(docker|slurm|local))/.test(m))).toEqual([]);
    }
  });
});
