/**
 * Sandbox images: what `image:` means, `researcher sandbox build`, and `run` building a recipe's
 * image when the engine lacks it (on a real engine, offline: the recipe starts from the CPU image).
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DockerSandbox } from '../../src/sandbox/docker/sandbox.ts';
import { DEFAULT_IMAGE, findRecipe, requireRecipe, resolveImage, sandboxesDirs } from '../../src/sandbox/docker/images.ts';
import { CLI, DOCKER_HOST, MOUNT_HOST, client, dockerTestsRun, request, runInspected } from '../docker/engine.ts';
import { REPO_ROOT } from '../helpers/sweep.ts';

const FIXTURES = path.join(REPO_ROOT, 'test/fixtures');
const SHIPPED = path.join(REPO_ROOT, 'sandboxes');

describe('resolveImage', () => {
  it('reads a recipe name, our tag for it, or any other tag', () => {
    expect(resolveImage('cpu', [SHIPPED])).toEqual({
      tag: 'ai-researcher/cpu:latest',
      recipe: { name: 'cpu', dir: path.join(SHIPPED, 'cpu'), kind: 'script' },
    });
    expect(resolveImage(undefined, [SHIPPED]).tag).toBe(`ai-researcher/${DEFAULT_IMAGE}:latest`);
    expect(resolveImage('ai-researcher/cpu:latest', [SHIPPED]).recipe?.name).toBe('cpu');
    expect(resolveImage('pytorch-gpu', [SHIPPED]).recipe).toMatchObject({ name: 'pytorch-gpu', kind: 'dockerfile' });
    expect(resolveImage('python:3.12-slim', [SHIPPED])).toEqual({ tag: 'python:3.12-slim', recipe: null });
    expect(resolveImage('ai-researcher/nothing-like-it', [SHIPPED])).toEqual({ tag: 'ai-researcher/nothing-like-it:latest', recipe: null });
  });

  it('finds recipes in ./sandboxes and the shipped folder, or by path', () => {
    expect(sandboxesDirs()).toContain(SHIPPED);
    expect(findRecipe(path.join(FIXTURES, 'docker-recipe'))).toMatchObject({ name: 'docker-recipe', kind: 'dockerfile' });
    expect(() => requireRecipe('no-such-recipe')).toThrow(
      /no image recipe "no-such-recipe": expected a folder with a Dockerfile or build.sh/,
    );
  });

  it('`researcher sandbox build` of an unknown recipe is a one-line error, before any engine is asked', () => {
    let stderr = '';
    try {
      execFileSync(process.execPath, [CLI, 'sandbox', 'build', 'no-such-recipe'], {
        encoding: 'utf8',
        env: { ...process.env, DOCKER_HOST: 'unix:///nonexistent/docker.sock' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (error) {
      stderr = (error as { stderr: string }).stderr;
    }
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/^error: no image recipe "no-such-recipe"/);
  });
});

const runs = await dockerTestsRun('the Docker image build tests');
const RECIPE_TAG = 'ai-researcher/docker-recipe:latest';

async function removeRecipeImage(): Promise<void> {
  try {
    await client().getImage(RECIPE_TAG).remove({ force: true });
  } catch {
    // not there
  }
}

describe.skipIf(!runs)('building sandbox images on a real engine', () => {
  afterAll(removeRecipeImage);

  it('builds a missing recipe image when a sweep needs it, then runs steps in it', async () => {
    await removeRecipeImage();
    const sandbox = new DockerSandbox({ hosts: [MOUNT_HOST], sandboxesDirs: [FIXTURES] });
    try {
      await sandbox.preflight({ resources: { gpus: 0, shareGpus: false }, gpus: [], image: 'docker-recipe' });
      const { result, log } = await runInspected(
        sandbox,
        request('cat /etc/recipe.txt; python3 -c "import numpy; print(\'numpy ok\')"', { image: 'docker-recipe' }),
      );
      expect(result.exitCode).toBe(0);
      expect(log).toContain('built from a recipe');
      expect(log).toContain('numpy ok');
    } finally {
      await sandbox.close();
    }
  });

  it('`researcher sandbox build` builds a recipe, and leaves an existing image alone', async () => {
    await removeRecipeImage();
    const build = () =>
      execFileSync(process.execPath, [CLI, 'sandbox', 'build', path.join(FIXTURES, 'docker-recipe')], {
        encoding: 'utf8',
        env: { ...process.env, DOCKER_HOST },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    expect(build()).toMatch(/built ai-researcher\/docker-recipe:latest on/);
    expect((await client().getImage(RECIPE_TAG).inspect()).Config.Labels?.['ai-researcher.recipe']).toBe('docker-recipe');
    expect(build()).toMatch(/already exists on .* \(--force rebuilds\)/);
  });
});
