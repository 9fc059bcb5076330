/**
 * Which Docker engines a sweep runs on: the one DOCKER_HOST names (or the standard socket), or
 * the hosts given with `--docker-host URL[#gpus=0,1&name=NAME]` (parsed in cli/sandbox-flags.ts),
 * each with its own GPUs.
 */
import { z } from 'zod';

export const DEFAULT_DOCKER_SOCKET = 'unix:///var/run/docker.sock';

export const DockerHostSpec = z.object({
  /** unix:///path, tcp://host:port, http(s)://…, or ssh://user@host[:port]. */
  url: z.string(),
  /** Short name used in GPU ids ("gpu1/0"), logs and reports. Empty for the single default host. */
  name: z.string(),
  /**
   * How files reach containers: bind mounts of the run folder (an engine on this machine), or
   * tar archives through the Docker API (a remote host; no shared file system needed).
   */
  transfer: z.enum(['mount', 'copy']),
});
export type DockerHostSpec = z.output<typeof DockerHostSpec>;

/** The engine DOCKER_HOST points at; files are bind-mounted when it is a local socket. */
export function defaultDockerHost(env: NodeJS.ProcessEnv = process.env): DockerHostSpec {
  const url = env.DOCKER_HOST?.trim() || DEFAULT_DOCKER_SOCKET;
  return { url, name: '', transfer: url.startsWith('unix://') ? 'mount' : 'copy' };
}

/** A URL fit for logs and the run record: no password. */
export function displayUrl(url: string): string {
  return url.replace(/^(\w+:\/\/[^:/@]+):[^@/]*@/, '$1@');
}
