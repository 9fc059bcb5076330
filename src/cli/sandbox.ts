/**
 * `researcher sandbox build <name>`: build a sandbox image from its recipe under sandboxes/, on
 * the engine DOCKER_HOST names or on each --docker-host.
 * `researcher sandbox prune`: remove what killed sweeps left on the engines (stopped step
 * containers, per-run code images no container uses).
 */
import { UsageError } from '../core/errors.ts';
import { DockerEngine } from '../sandbox/docker/engine.ts';
import { defaultDockerHost, type DockerHostSpec } from '../sandbox/docker/hosts.ts';
import { recipeTag, requireRecipe } from '../sandbox/docker/images.ts';
import { parseCommand, requirePositional } from './args.ts';
import { parseDockerHosts } from './sandbox-flags.ts';

const HELP = `usage: researcher sandbox build <name|folder> [--docker-host URL]… [--force]
       researcher sandbox prune [--docker-host URL]…

  build    builds sandboxes/<name> (a Dockerfile, or a build.sh) into ai-researcher/<name>:latest
  prune    removes stopped ai-researcher containers and unused per-run code images

  --docker-host URL   engine to use (repeatable); default: DOCKER_HOST or /var/run/docker.sock
  --force             rebuild even when the image exists`;

export async function sandboxCommand(args: string[]): Promise<number> {
  const parsed = parseCommand(args, { 'docker-host': { type: 'string', multiple: true }, force: { type: 'boolean' } }, HELP);
  if (!parsed) return 0;
  const [action, ...rest] = parsed.positionals;
  const hosts: DockerHostSpec[] = parsed.values['docker-host']?.length
    ? parseDockerHosts(parsed.values['docker-host']).hosts
    : [defaultDockerHost()];
  const engines = hosts.map((spec) => new DockerEngine(spec));
  const reachable = async () => {
    for (const engine of engines) await engine.checkReachable();
  };

  if (action === 'build') {
    const recipe = requireRecipe(requirePositional(rest, 'image recipe name', HELP));
    const tag = recipeTag(recipe.name);
    await reachable();
    for (const engine of engines) {
      if (!parsed.values.force && (await engine.imageId(tag))) {
        console.log(`${tag} already exists on ${engine.label} (--force rebuilds)`);
        continue;
      }
      await engine.build(recipe, tag, { force: parsed.values.force });
      console.log(`built ${tag} on ${engine.label}`);
    }
    return 0;
  }
  if (action === 'prune') {
    if (rest.length) throw new UsageError(`sandbox prune takes no arguments\n${HELP}`);
    await reachable();
    for (const engine of engines) {
      const { containers, images } = await engine.prune();
      console.log(`${engine.label}: removed ${containers} container(s) and ${images} image(s)`);
    }
    return 0;
  }
  throw new UsageError(`${action ? `unknown sandbox action "${action}"` : 'expected an action'}\n${HELP}`);
}
