/**
 * What the Docker sandbox ships: the base commit once (owned by the container's user), then per
 * idea only its changed files; and outputs coming back with nothing that escapes the folder.
 */
import { mkdirSync, readFileSync, readdirSync, existsSync, lstatSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import tar from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { loadEnvironment } from '../../src/environment/load.ts';
import {
  baseCommitArchive,
  changedFilesArchive,
  extractArchive,
  readOnlyOutputsArchive,
  snapshotCode,
} from '../../src/sandbox/code-transfer.ts';
import { GitWorkspace } from '../../src/workspace/git.ts';
import { tempDir } from '../helpers/sweep.ts';

const USER = { uid: 1234, gid: 5678 };

/** Reads a tar stream into { name: { header, text } }. */
async function readArchive(stream: Readable): Promise<Map<string, { header: tar.Headers; text: string }>> {
  const entries = new Map<string, { header: tar.Headers; text: string }>();
  const extract = tar.extract();
  extract.on('entry', (header, body, next) => {
    const chunks: Buffer[] = [];
    body.on('data', (chunk: Buffer) => chunks.push(chunk));
    body.on('end', () => {
      entries.set(header.name, { header, text: Buffer.concat(chunks).toString() });
      next();
    });
  });
  await new Promise<void>((resolve, reject) => {
    extract.on('finish', resolve);
    extract.on('error', reject);
    stream.on('error', reject);
    stream.pipe(extract);
  });
  return entries;
}

/** A run repository of a plain folder with `files` files, and a worktree for idea 1. */
async function runRepository(files: number) {
  const envDir = tempDir('researcher-transfer-env-');
  const code = path.join(envDir, 'code');
  mkdirSync(path.join(code, 'pkg'), { recursive: true });
  for (let i = 0; i < files; i++) writeFileSync(path.join(code, 'pkg', `module_${i}.py`), `VALUE = ${i}\n`);
  writeFileSync(path.join(code, 'train.py'), 'print("train")\n');
  writeFileSync(path.join(code, 'run.sh'), '#!/bin/sh\necho run\n', { mode: 0o755 });
  writeFileSync(
    path.join(envDir, 'environment.yaml'),
    'name: transfer\ndescription: d\ncode: { path: ./code }\neditable: ["**"]\nrun: { command: "true", timeout: 10s }\nreward: { source: regex, pattern: "(\\\\d+)", goal: maximize }\n',
  );
  const runDir = path.join(tempDir('researcher-transfer-run-'), 'run');
  const workspace = await GitWorkspace.create(loadEnvironment(envDir), runDir);
  return { workspace, runDir };
}

describe('snapshotCode', () => {
  it('describes an idea as its changes over the base commit, however large the repository', async () => {
    const { workspace } = await runRepository(2000);
    const dir = await workspace.checkout(1, workspace.baseCommit);
    writeFileSync(path.join(dir, 'train.py'), 'print("changed")\n');
    rmSync(path.join(dir, 'pkg', 'module_7.py'));
    mkdirSync(path.join(dir, 'newpkg'));
    writeFileSync(path.join(dir, 'newpkg', 'extra.py'), 'EXTRA = 1\n');
    await workspace.commit(dir, 1, 'an idea');
    writeFileSync(path.join(dir, 'untracked.txt'), 'not committed yet\n');

    const snapshot = await snapshotCode(dir);
    expect(snapshot).toEqual({
      kind: 'git',
      gitDir: path.resolve(dir),
      baseCommit: workspace.baseCommit,
      changed: ['newpkg/extra.py', 'train.py', 'untracked.txt'],
      deleted: ['pkg/module_7.py'],
    });

    // The per-idea archive holds those files (and their new folder), nothing of the other 2000.
    const overlay = await readArchive(changedFilesArchive(dir, (snapshot as { changed: string[] }).changed, USER));
    expect([...overlay.keys()].sort()).toEqual([
      'sandbox/code/newpkg/',
      'sandbox/code/newpkg/extra.py',
      'sandbox/code/train.py',
      'sandbox/code/untracked.txt',
    ]);
    expect(overlay.get('sandbox/code/train.py')).toMatchObject({ text: 'print("changed")\n', header: { uid: 1234, gid: 5678 } });
  });

  it('describes the baseline worktree as the base commit with no changes', async () => {
    const { workspace } = await runRepository(3);
    const dir = await workspace.checkout(0, workspace.baseCommit);
    expect(await snapshotCode(dir)).toMatchObject({ kind: 'git', changed: [], deleted: [] });
  });

  it('describes a folder outside any run repository (the frozen evaluator) by a fingerprint of its files', async () => {
    const dir = tempDir('researcher-evaluator-');
    writeFileSync(path.join(dir, 'score.py'), 'print(1)\n');
    const first = await snapshotCode(dir);
    expect(first).toMatchObject({ kind: 'folder', dir });
    expect(await snapshotCode(dir)).toEqual(first);
    writeFileSync(path.join(dir, 'answer.json'), '{}\n');
    expect((await snapshotCode(dir)) as { fingerprint: string }).not.toEqual(first);
  });
});

describe('baseCommitArchive', () => {
  it('lays the base commit out under /sandbox/code, owned by the container user, with the empty sandbox folders', async () => {
    const { workspace } = await runRepository(3);
    const entries = await readArchive(baseCommitArchive(workspace.repoDir, workspace.baseCommit, USER));
    expect(entries.get('sandbox/')?.header).toMatchObject({ type: 'directory', uid: 0 });
    for (const folder of ['code', 'outputs', 'eval', 'home'])
      expect(entries.get(`sandbox/${folder}/`)?.header).toMatchObject({ type: 'directory', uid: 1234, gid: 5678 });
    expect(entries.get('sandbox/code/pkg/module_2.py')).toMatchObject({
      text: 'VALUE = 2\n',
      header: { uid: 1234, gid: 5678, mode: 0o644 },
    });
    expect(entries.get('sandbox/code/run.sh')?.header.mode).toBe(0o755);
    expect([...entries.keys()].filter((name) => name.startsWith('sandbox/code/') && !name.endsWith('/'))).toHaveLength(5);
  });

  it('makes the outputs read-only to the evaluator', async () => {
    const outputs = tempDir('researcher-outputs-');
    writeFileSync(path.join(outputs, 'prediction.json'), '{}');
    const entries = await readArchive(readOnlyOutputsArchive(outputs));
    expect(entries.get('sandbox/outputs/')?.header).toMatchObject({ uid: 0, mode: 0o555 });
    expect(entries.get('sandbox/outputs/prediction.json')?.header).toMatchObject({ uid: 0, mode: 0o444 });
  });
});

describe('extractArchive', () => {
  it('writes plain files and folders, and nothing that is a link or escapes the destination', async () => {
    const pack = tar.pack();
    pack.entry({ name: 'outputs/', type: 'directory' });
    pack.entry({ name: 'outputs/metrics.json' }, '{"score": 1}');
    pack.entry({ name: 'outputs/sub/deep.txt' }, 'deep');
    pack.entry({ name: 'outputs/../../escaped.txt' }, 'escaped');
    pack.entry({ name: 'outputs/link', type: 'symlink', linkname: '/etc/passwd' });
    pack.entry({ name: 'outputs/hard', type: 'link', linkname: 'outputs/metrics.json' });
    pack.finalize();
    const parent = tempDir('researcher-extract-');
    const dest = path.join(parent, 'a', 'b');
    const result = await extractArchive(pack, dest);
    expect(result).toMatchObject({ files: 2, skipped: 3 });
    expect(readFileSync(path.join(dest, 'metrics.json'), 'utf8')).toBe('{"score": 1}');
    expect(readFileSync(path.join(dest, 'sub', 'deep.txt'), 'utf8')).toBe('deep');
    expect(existsSync(path.join(parent, 'escaped.txt'))).toBe(false);
    expect(existsSync(path.join(parent, 'a', 'escaped.txt'))).toBe(false);
    expect(existsSync(path.join(dest, 'link'))).toBe(false);
    expect(existsSync(path.join(dest, 'hard'))).toBe(false);
  });

  it('replaces a symlink in the destination instead of writing through it', async () => {
    const dest = tempDir('researcher-extract-');
    const outside = path.join(tempDir('researcher-outside-'), 'target.txt');
    writeFileSync(outside, 'untouched');
    symlinkSync(outside, path.join(dest, 'metrics.json'));
    const pack = tar.pack();
    pack.entry({ name: 'outputs/metrics.json' }, 'new');
    pack.finalize();
    await extractArchive(pack, dest);
    expect(readFileSync(outside, 'utf8')).toBe('untouched');
    expect(lstatSync(path.join(dest, 'metrics.json')).isSymbolicLink()).toBe(false);
    expect(readFileSync(path.join(dest, 'metrics.json'), 'utf8')).toBe('new');
  });
});

describe('extractArchive against a hostile archive', () => {
  it('never writes through a folder that is a link, and skips clashes instead of failing', async () => {
    const dest = tempDir('researcher-extract-');
    const outside = tempDir('researcher-outside-');
    symlinkSync(outside, path.join(dest, 'linked')); // left by an earlier extraction's destination, say
    const pack = tar.pack();
    pack.entry({ name: 'outputs/linked/escaped.txt' }, 'escaped');
    pack.entry({ name: 'outputs/a' }, 'a file');
    pack.entry({ name: 'outputs/a/b.txt' }, 'under a file');
    pack.entry({ name: 'outputs/dir/', type: 'directory' });
    pack.entry({ name: 'outputs/dir' }, 'a file over a folder');
    pack.entry({ name: 'outputs/fine.txt' }, 'fine');
    pack.finalize();
    const result = await extractArchive(pack, dest);
    expect(result).toMatchObject({ files: 2, skipped: 3, capped: false });
    expect(readdirSync(outside)).toEqual([]);
    expect(readFileSync(path.join(dest, 'a'), 'utf8')).toBe('a file');
    expect(lstatSync(path.join(dest, 'dir')).isDirectory()).toBe(true);
    expect(readFileSync(path.join(dest, 'fine.txt'), 'utf8')).toBe('fine');
  });

  it('stops writing at the byte and entry caps', async () => {
    const archive = () => {
      const pack = tar.pack();
      for (let i = 0; i < 5; i++) pack.entry({ name: `outputs/f${i}.txt` }, 'x'.repeat(100));
      pack.finalize();
      return pack;
    };
    const bytes = await extractArchive(archive(), tempDir('researcher-extract-'), 1, { maxBytes: 250, maxEntries: 100 });
    expect(bytes).toMatchObject({ files: 2, bytes: 200, skipped: 3, capped: true });
    const entries = await extractArchive(archive(), tempDir('researcher-extract-'), 1, { maxBytes: 10_000, maxEntries: 3 });
    expect(entries).toMatchObject({ files: 3, skipped: 2, capped: true });
  });
});

describe('archives from streams', () => {
  it('reports a git failure as an error of the archive stream', async () => {
    const { workspace } = await runRepository(1);
    const archive = baseCommitArchive(workspace.repoDir, 'no-such-commit', USER);
    await expect(readArchive(archive)).rejects.toThrow(/git archive failed: .*no-such-commit/);
  });
});
