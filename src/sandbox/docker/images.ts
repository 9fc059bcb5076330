/**
 * Sandbox images: what an environment's `image:` means, and the recipes that build them.
 *
 * `image:` is either a tag (`python:3.12`, `ai-researcher/cpu:latest`) or the name of a recipe
 * folder under `sandboxes/` (`cpu`, `pytorch-gpu`). A recipe is a folder with a `Dockerfile`
 * (built through the Docker API) or a `build.sh` (run with DOCKER_HOST set, for images that need
 * more than a Dockerfile, like the offline CPU image). Recipe `NAME` builds `ai-researcher/NAME:latest`.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { SandboxError, UsageError } from '../../core/errors.ts';

/** The image an environment gets when it names none. */
export const DEFAULT_IMAGE = 'cpu';
const OUR_NAMESPACE = 'ai-researcher/';

export interface ImageRecipe {
  name: string;
  dir: string;
  kind: 'dockerfile' | 'script';
}

export interface ImageSpec {
  tag: string;
  /** How to build it when a host lacks it; null: it can only be pulled. */
  recipe: ImageRecipe | null;
}

/** Where recipes are looked for: ./sandboxes, then the sandboxes/ shipped with ai-researcher. */
export function sandboxesDirs(): string[] {
  const shipped = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../sandboxes');
  return [...new Set([path.resolve('sandboxes'), shipped])];
}

export function recipeTag(name: string): string {
  return `${OUR_NAMESPACE}${name}:latest`;
}

/** The recipe folder for `nameOrDir` (a recipe name, or a path to a folder), or null. */
export function findRecipe(nameOrDir: string, dirs: readonly string[] = sandboxesDirs()): ImageRecipe | null {
  const candidates = /^[a-z0-9][a-z0-9._-]*$/.test(nameOrDir) ? dirs.map((dir) => path.join(dir, nameOrDir)) : [];
  if (nameOrDir.includes('/') || nameOrDir.startsWith('.')) candidates.push(path.resolve(nameOrDir));
  for (const dir of candidates) {
    if (!existsSync(dir) || !statSync(dir).isDirectory()) continue;
    const name = path.basename(dir).toLowerCase();
    if (existsSync(path.join(dir, 'Dockerfile'))) return { name, dir, kind: 'dockerfile' };
    if (existsSync(path.join(dir, 'build.sh'))) return { name, dir, kind: 'script' };
  }
  return null;
}

/** What an environment's `image:` refers to. */
export function resolveImage(image: string | undefined, dirs: readonly string[] = sandboxesDirs()): ImageSpec {
  const wanted = image?.trim() || DEFAULT_IMAGE;
  if (/^[a-z0-9][a-z0-9._-]*$/.test(wanted)) {
    const recipe = findRecipe(wanted, dirs);
    if (recipe) return { tag: recipeTag(recipe.name), recipe };
  }
  // ai-researcher/NAME[:latest] is what recipe NAME builds.
  const ours = new RegExp(`^${OUR_NAMESPACE}([a-z0-9][a-z0-9._-]*)(:latest)?$`).exec(wanted);
  if (ours) return { tag: recipeTag(ours[1]), recipe: findRecipe(ours[1], dirs) };
  return { tag: wanted, recipe: null };
}

/** Whether a tag is one of ours (never in a registry, so never pulled). */
export function isOurTag(tag: string): boolean {
  return tag.startsWith(OUR_NAMESPACE);
}

/**
 * Runs a recipe's build.sh against one engine, with DOCKER_HOST set; its progress goes to this
 * process's stderr.
 */
export async function runBuildScript(
  recipe: ImageRecipe,
  dockerHost: string,
  tag: string,
  options: { force?: boolean } = {},
): Promise<void> {
  const script = path.join(recipe.dir, 'build.sh');
  const result = await execa('bash', [script, ...(options.force ? ['--force'] : [])], {
    // Recipe NAME's script reads the tag to build from AI_RESEARCHER_<NAME>_IMAGE (cpu: AI_RESEARCHER_CPU_IMAGE).
    env: { DOCKER_HOST: dockerHost, [`AI_RESEARCHER_${recipe.name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_IMAGE`]: tag },
    stdin: 'ignore',
    stdout: 'inherit',
    stderr: ['inherit', 'pipe'],
    reject: false,
  });
  if (result.exitCode !== 0) {
    const lastLine =
      String(result.stderr ?? '')
        .trim()
        .split('\n')
        .pop() ?? '';
    const root = process.getuid?.() === 0 ? '' : ` (it may need root: sudo ${path.relative(process.cwd(), script)})`;
    throw new SandboxError(
      `building ${tag} with ${path.relative(process.cwd(), script) || script} failed${root}: ${lastLine || `exit code ${result.exitCode}`}`,
    );
  }
}

/** The recipe for `researcher sandbox build NAME`, or a usage error listing the known ones. */
export function requireRecipe(nameOrDir: string, dirs: readonly string[] = sandboxesDirs()): ImageRecipe {
  const recipe = findRecipe(nameOrDir, dirs);
  if (recipe) return recipe;
  throw new UsageError(
    `no image recipe "${nameOrDir}": expected a folder with a Dockerfile or build.sh under ${dirs.map((dir) => path.relative(process.cwd(), dir) || '.').join(' or ')}`,
  );
}
