/**
 * Talking to a Docker engine: dockerode's connection options for each kind of URL, errors as one
 * line that says what to do, and the distinction the sandbox lives by: a host that went away
 * (not the idea's fault: run the step elsewhere) versus any other failure.
 */
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type Docker from 'dockerode';
import { SandboxError, describeError } from '../../core/errors.ts';
import { displayUrl, type DockerHostSpec } from './hosts.ts';

/** How long teardown calls (kill, remove, inspect) may take on a sick engine. */
export const SHORT_CALL_MS = 30_000;

/** A host stopped answering, or stopped the container itself: not the idea's fault. */
export class HostLostError extends Error {
  constructor(
    message: string,
    /** Whether the step's command had started (a started step counts towards the one retry). */
    readonly started: boolean,
  ) {
    super(message);
  }
}

/** dockerode connection options for unix://, tcp://, http(s):// and ssh:// URLs. */
export function dockerodeOptions(url: string): Docker.DockerOptions {
  if (url.startsWith('unix://')) return { socketPath: url.slice('unix://'.length) };
  const parsed = new URL(url);
  if (parsed.protocol === 'ssh:') {
    const privateKey = ['id_ed25519', 'id_ecdsa', 'id_rsa']
      .map((file) => path.join(os.homedir(), '.ssh', file))
      .find((file) => existsSync(file));
    return {
      protocol: 'ssh',
      host: parsed.hostname,
      port: parsed.port ? Number(parsed.port) : 22,
      username: decodeURIComponent(parsed.username) || os.userInfo().username,
      sshOptions: {
        agent: process.env.SSH_AUTH_SOCK,
        ...(privateKey && !process.env.SSH_AUTH_SOCK ? { privateKey: readFileSync(privateKey) } : {}),
      },
    };
  }
  const certDir = process.env.DOCKER_CERT_PATH || path.join(os.homedir(), '.docker');
  const tls = parsed.protocol === 'https:' || Boolean(process.env.DOCKER_TLS_VERIFY);
  return {
    protocol: tls ? 'https' : 'http',
    host: parsed.hostname,
    port: parsed.port ? Number(parsed.port) : tls ? 2376 : 2375,
    ...(tls && existsSync(path.join(certDir, 'ca.pem'))
      ? {
          ca: readFileSync(path.join(certDir, 'ca.pem')),
          cert: readFileSync(path.join(certDir, 'cert.pem')),
          key: readFileSync(path.join(certDir, 'key.pem')),
        }
      : {}),
  };
}

export function unreachableMessage(spec: DockerHostSpec, error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  const why =
    code === 'ENOENT'
      ? 'no socket there'
      : code === 'ECONNREFUSED'
        ? 'connection refused'
        : code === 'EACCES'
          ? 'permission denied on the socket: add your user to the docker group'
          : shortMessage(error);
  const from = spec.name
    ? '--docker-host'
    : process.env.DOCKER_HOST
      ? `DOCKER_HOST=${displayUrl(process.env.DOCKER_HOST)}`
      : 'DOCKER_HOST is not set';
  return `no Docker daemon answers at ${displayUrl(spec.url)} (${why}; ${from}): start dockerd (systemctl start docker, or scripts/docker-up.sh) or point DOCKER_HOST / --docker-host at a running engine`;
}

/** A Docker error as one line, naming disk exhaustion as such. */
export function engineMessage(engine: { label: string }, error: unknown): string {
  if (error instanceof SandboxError || error instanceof HostLostError) return error.message;
  const message = shortMessage(error);
  if (/no space left on device/i.test(message)) {
    return `the Docker host ${engine.label} is out of disk space (${message}); free space there (docker system prune, remove old images) and resume`;
  }
  return `Docker engine ${engine.label}: ${message}`;
}

export function shortMessage(error: unknown): string {
  return describeError(error)
    .replace(/^\(HTTP code \d+\) [\w ]+ - /, '')
    .trim()
    .split('\n')[0];
}

export function statusOf(error: unknown): number | undefined {
  return (error as { statusCode?: number }).statusCode;
}

export async function removeQuietly(container: Docker.Container): Promise<void> {
  try {
    await container.remove({ force: true, v: true, abortSignal: AbortSignal.timeout(SHORT_CALL_MS) } as object);
  } catch {
    // 404: already gone; 409: removal in progress; unreachable: `resume` removes it by id
  }
}
