/**
 * --docker-host: URLs, names, each host's GPUs, and the flags that do not go together.
 */
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/core/errors.ts';
import { enginesFromFlags, parseDockerHosts } from '../../src/cli/sandbox-flags.ts';
import { defaultDockerHost, displayUrl } from '../../src/sandbox/docker/hosts.ts';
import { dockerodeOptions } from '../../src/sandbox/docker/connection.ts';

describe('parseDockerHosts', () => {
  it('names each host and qualifies its GPUs with the name', () => {
    const { hosts, gpus } = parseDockerHosts([
      'ssh://me@gpu1#gpus=0-1',
      'tcp://10.0.0.2:2375#gpus=0,3&name=box2',
      'unix:///tmp/ai-researcher-docker/second/docker.sock',
      'ssh://me@gpu1:2222',
    ]);
    expect(hosts).toEqual([
      { url: 'ssh://me@gpu1', name: 'gpu1', transfer: 'copy' },
      { url: 'tcp://10.0.0.2:2375', name: 'box2', transfer: 'copy' },
      { url: 'unix:///tmp/ai-researcher-docker/second/docker.sock', name: 'second', transfer: 'copy' },
      { url: 'ssh://me@gpu1:2222', name: 'gpu1-2', transfer: 'copy' },
    ]);
    expect(gpus).toEqual(['gpu1/0', 'gpu1/1', 'box2/0', 'box2/3']);
  });

  it('refuses what it cannot use, saying what is expected', () => {
    expect(() => parseDockerHosts(['gpu1'])).toThrow(/expected unix:\/\/\/path\/docker.sock, tcp:\/\/host:port or ssh:\/\/user@host/);
    expect(() => parseDockerHosts(['ssh://a#cpus=2'])).toThrow(/unknown setting "cpus"/);
    expect(() => parseDockerHosts(['ssh://a#gpus=x'])).toThrow(/"x" is not a GPU id/);
    expect(() => parseDockerHosts(['ssh://a#name=x', 'ssh://b#name=x'])).toThrow(/two hosts are named "x"/);
  });
});

describe('enginesFromFlags', () => {
  it('keeps --gpus for one engine and takes GPUs per host with --docker-host', () => {
    expect(enginesFromFlags('docker', [], ['0', '1'], 1)).toEqual({ sandboxOptions: {}, gpus: ['0', '1'] });
    expect(enginesFromFlags('docker', ['ssh://me@a#gpus=0', 'ssh://me@b#gpus=0'], [], 1).gpus).toEqual(['a/0', 'b/0']);
  });

  it('refuses flags that do not go together', () => {
    expect(() => enginesFromFlags('local', ['ssh://a'], [], 0)).toThrow(UsageError);
    expect(() => enginesFromFlags('docker', ['ssh://a'], ['0'], 0)).toThrow(/give each host its own: --docker-host URL#gpus=0,1/);
    expect(() => enginesFromFlags('docker', ['ssh://a'], [], 1)).toThrow(/needs 1 GPU\(s\) per run: say which GPUs each Docker host has/);
  });
});

describe('Docker connections', () => {
  it('takes the engine from DOCKER_HOST, bind-mounting files only for a socket on this machine', () => {
    expect(defaultDockerHost({})).toEqual({ url: 'unix:///var/run/docker.sock', name: '', transfer: 'mount' });
    expect(defaultDockerHost({ DOCKER_HOST: 'tcp://10.0.0.2:2375' })).toMatchObject({ transfer: 'copy' });
  });

  it('turns URLs into dockerode options', () => {
    expect(dockerodeOptions('unix:///tmp/d.sock')).toEqual({ socketPath: '/tmp/d.sock' });
    expect(dockerodeOptions('tcp://10.0.0.2:2375')).toMatchObject({ protocol: 'http', host: '10.0.0.2', port: 2375 });
    expect(dockerodeOptions('ssh://me@gpu1:2222')).toMatchObject({ protocol: 'ssh', host: 'gpu1', port: 2222, username: 'me' });
  });

  it('keeps passwords out of what it shows', () => {
    expect(displayUrl('ssh://me:hunter2@gpu1')).toBe('ssh://me@gpu1');
    expect(displayUrl('unix:///var/run/docker.sock')).toBe('unix:///var/run/docker.sock');
  });
});
