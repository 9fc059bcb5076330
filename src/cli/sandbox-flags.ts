/**
 * The sandbox flags of `researcher run`, turned into what the run stores: `--docker-host`
 * (engines and their GPUs), `--gpus`, and `--shared-dir` / `--slurm-*`. Each refuses a flag that
 * does not fit the chosen `--sandbox`, with a one-line usage error.
 */
import path from 'node:path';
import { UsageError } from '../core/errors.ts';
import { defaultDockerHost, type DockerHostSpec } from '../sandbox/docker/hosts.ts';
import { parseGpuList, qualifyGpu } from '../sandbox/gpu-pool.ts';
import { discoverGpus } from '../sandbox/gpus.ts';

/**
 * Parses the `--docker-host` values. Each is a URL with optional settings after `#`:
 * `gpus=0,1,2` (this host's GPUs) and `name=gpu1`. Returns the hosts and their GPUs as qualified
 * ids ("gpu1/0"). Hosts given this way always receive files as archives (they may be remote).
 */
export function parseDockerHosts(values: readonly string[]): { hosts: DockerHostSpec[]; gpus: string[] } {
  const hosts: DockerHostSpec[] = [];
  const gpus: string[] = [];
  for (const value of values) {
    const hash = value.indexOf('#');
    const url = (hash === -1 ? value : value.slice(0, hash)).trim();
    const settings = new URLSearchParams(hash === -1 ? '' : value.slice(hash + 1));
    checkUrl(url);
    for (const key of settings.keys()) {
      if (key !== 'gpus' && key !== 'name')
        throw new UsageError(`--docker-host ${value}: unknown setting "${key}" (expected gpus=LIST or name=NAME)`);
    }
    let name = settings.get('name') ?? defaultName(url);
    if (!/^[A-Za-z0-9][\w.-]*$/.test(name))
      throw new UsageError(`--docker-host ${value}: name "${name}" may only hold letters, digits, ".", "_" and "-"`);
    if (!settings.has('name')) {
      const base = name;
      for (let i = 2; hosts.some((host) => host.name === name); i++) name = `${base}-${i}`;
    } else if (hosts.some((host) => host.name === name)) {
      throw new UsageError(`--docker-host: two hosts are named "${name}"`);
    }
    hosts.push({ url, name, transfer: 'copy' });
    const list = settings.get('gpus');
    if (list) {
      try {
        gpus.push(...parseGpuList(list).map((id) => qualifyGpu(name, id)));
      } catch (error) {
        throw new UsageError(`--docker-host ${value}: ${(error as Error).message}`);
      }
    }
  }
  return { hosts, gpus };
}

function checkUrl(url: string): void {
  if (/^unix:\/\/\/./.test(url)) return;
  if (/^(tcp|http|https|ssh):\/\/[^/]+/.test(url)) return;
  throw new UsageError(`--docker-host "${url}": expected unix:///path/docker.sock, tcp://host:port or ssh://user@host`);
}

/** "ssh://me@gpu1" → "gpu1"; "unix:///tmp/x/second/docker.sock" → "second". */
function defaultName(url: string): string {
  if (url.startsWith('unix://')) {
    const socket = url.slice('unix://'.length);
    const file = path.basename(socket).replace(/\.sock$/, '');
    const name = file === 'docker' ? path.basename(path.dirname(socket)) : file;
    return sanitize(name) || 'local';
  }
  return sanitize(new URL(url).hostname) || 'host';
}

function sanitize(name: string): string {
  return name.replace(/[^\w.-]/g, '-').replace(/^[^A-Za-z0-9]+/, '');
}

/**
 * The engines and GPUs of a new run, from `run`'s flags: `--docker-host` values (with
 * `--sandbox docker`), `--gpus`, or, for an environment that needs GPUs and was given none,
 * the GPUs nvidia-smi lists on this machine. Returns what goes into the run's sandboxOptions
 * and its GPU ids.
 */
export function enginesFromFlags(
  sandbox: string,
  dockerHosts: readonly string[],
  gpus: string[],
  gpusPerRun: number,
): { sandboxOptions: Record<string, unknown>; gpus: string[] } {
  if (dockerHosts.length === 0) {
    const local = sandbox === 'local' || (sandbox === 'docker' && defaultDockerHost().transfer === 'mount');
    return { sandboxOptions: {}, gpus: gpus.length === 0 && gpusPerRun > 0 && local ? discoverGpus() : gpus };
  }
  if (sandbox !== 'docker') throw new UsageError('--docker-host needs --sandbox docker');
  if (gpus.length)
    throw new UsageError('--gpus names GPUs of one machine; with --docker-host give each host its own: --docker-host URL#gpus=0,1');
  const parsed = parseDockerHosts(dockerHosts);
  if (gpusPerRun > 0 && parsed.gpus.length === 0) {
    throw new UsageError(
      `the environment needs ${gpusPerRun} GPU(s) per run: say which GPUs each Docker host has, e.g. --docker-host ssh://me@gpu1#gpus=0-3`,
    );
  }
  return { sandboxOptions: { dockerHosts: parsed.hosts }, gpus: parsed.gpus };
}

/** `--shared-dir`, `--slurm-partition`, `--slurm-account`, `--slurm-qos` → the run's sandboxOptions. */
export function slurmOptionsFromFlags(
  sandbox: string,
  flags: { sharedDir?: string; partition?: string; account?: string; qos?: string; isolation?: string },
): Record<string, string> {
  const given = Object.entries(flags).filter((entry): entry is [string, string] => entry[1] !== undefined);
  if (given.length && sandbox !== 'slurm') {
    throw new UsageError('--shared-dir and --slurm-* only apply to --sandbox slurm');
  }
  if (flags.isolation !== undefined && !['auto', 'required', 'off'].includes(flags.isolation)) {
    throw new UsageError(`--slurm-isolation expects auto, required or off, got "${flags.isolation}"`);
  }
  return Object.fromEntries(given.map(([name, value]) => [name, name === 'sharedDir' ? path.resolve(value) : value]));
}
