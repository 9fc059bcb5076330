/**
 * The researcher never follows a link a run left. Each attack is a scripted coder's edit run
 * through a real sweep (real git repository, real processes, the local sandbox):
 * - `metrics.json -> /etc/passwd`, or -> a host file holding a marker: the idea fails with
 *   "metrics.json is a symbolic link; refused", and the marker is nowhere in the run folder
 *   (run.db included) nor in any prompt of an LLM-agent sweep;
 * - `prediction.json -> the evaluator's hidden answer` (a symlink or a hard link): the evaluator
 *   is given a copy of the outputs without it, sees no link at all, and the idea does not score.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { researcher, CLEAN_ENV } from '../agents/cli-harness.ts';
import { FakeOpenAIServer } from '../fakes/openai-server.ts';
import { byRole, idea, messagesOf, setX as setXReply } from '../fakes/researcher-replies.ts';
import { LocalSandbox } from '../../src/sandbox/local.ts';
import { createTestRun, scriptedCoder, scriptedThinker, tempDir } from '../helpers/sweep.ts';
import { filesContaining, hardLinkOutput, hostSecret, linkEnvironment, linkOutput } from './link-attacks.ts';

const SET_X_3 = { kind: 'search-replace' as const, blocks: [{ path: 'config.py', search: 'X = 0.5', replace: 'X = 3' }] };

describe('links a run leaves in its outputs, read on the host', () => {
  it('refuses a symlinked metrics.json (to /etc/passwd, to a host file) and never copies what it points at', async () => {
    const secret = hostSecret();
    const run = await createTestRun(linkEnvironment({ evaluator: false }), { ideas: 3, repairRounds: 0 });
    const summary = await run.sweep({
      thinker: scriptedThinker([{}]),
      coder: scriptedCoder([linkOutput('metrics.json', '/etc/passwd'), linkOutput('metrics.json', secret.file), SET_X_3]),
    });
    expect(summary.stoppedBy).toBe('budget');
    const ideas = run.store.ideas();
    expect(ideas.map((i) => [i.id, i.status, i.failureReason, i.error])).toEqual([
      [0, 'succeeded', null, null],
      [1, 'failed', 'bad-metric', 'metrics.json is a symbolic link; refused'],
      [2, 'failed', 'bad-metric', 'metrics.json is a symbolic link; refused'],
      [3, 'succeeded', null, null],
    ]);
    expect(run.store.idea(3)!.reward).toBe(10);
    run.store.close();
    expect(filesContaining(run.runDir, secret.marker)).toEqual([]);
    expect(filesContaining(run.runDir, 'root:x:0:0')).toEqual([]);
  });

  it('gives the evaluator outputs with no link in them: a symlink or hard link to the hidden answer scores nothing', async () => {
    const run = await createTestRun(linkEnvironment({ evaluator: true }), { ideas: 3, repairRounds: 0 });
    const answer = path.join(run.runDir, 'evaluator', 'answer.json'); // the frozen evaluator's hidden answer
    const summary = await run.sweep({
      // Unisolated, so the run can reach the answer and this checks the snapshot itself (under
      // bubblewrap the answer is not even visible: see test/integrity/sandbox-attacks.test.ts).
      sandbox: new LocalSandbox({ isolation: 'none' }),
      thinker: scriptedThinker([{}]),
      coder: scriptedCoder([linkOutput('prediction.json', answer), hardLinkOutput('prediction.json', answer), SET_X_3]),
    });
    expect(summary.stoppedBy).toBe('budget');
    const [baseline, symlinked, hardLinked, honest] = run.store.ideas();
    expect(baseline).toMatchObject({ status: 'succeeded', reward: 3.75 });
    expect(symlinked).toMatchObject({ status: 'failed', failureReason: 'no-metric' });
    expect(symlinked.error).toMatch(
      /no usable prediction\.json: FileNotFoundError.*left out of the outputs: prediction\.json \(a symbolic link\)/,
    );
    expect(hardLinked).toMatchObject({ status: 'failed', failureReason: 'no-metric' });
    expect(hardLinked.error).toMatch(/left out of the outputs: prediction\.json \(has 2 hard links/);
    expect(honest).toMatchObject({ status: 'succeeded', reward: 10 });
    for (const id of [0, 1, 2, 3]) {
      const log = readFileSync(path.join(run.runDir, `ideas/${id}/seed-0/eval/evaluate.log`), 'utf8');
      expect(log, `idea ${id}`).toContain('links under OUTPUT_DIR: 0');
    }
    run.store.close();
  });
});

describe('links a run leaves, in an LLM-agent sweep', () => {
  let server: FakeOpenAIServer | undefined;
  afterAll(async () => {
    await server?.close();
  });

  it('puts no byte of the linked host file into any prompt or into the run', async () => {
    const secret = hostSecret();
    server = await FakeOpenAIServer.start({ apiKey: 'sk-local', models: ['qwen-local'] });
    const linkReply = {
      text: [
        'I will report the metric from a better place.',
        '',
        'train.py',
        '<<<<<<< SEARCH',
        '# end of training',
        '=======',
        'os.remove(os.path.join(out, "metrics.json"))',
        `os.symlink(${JSON.stringify(secret.file)}, os.path.join(out, "metrics.json"))`,
        '>>>>>>> REPLACE',
        '',
      ].join('\n'),
    };
    // The link's failure goes back to the coder as a debug round (with the log's tail): its fix
    // takes the link out. That prompt, too, must carry nothing of the linked file.
    const fixReply = {
      text: [
        'train.py',
        '<<<<<<< SEARCH',
        'os.remove(os.path.join(out, "metrics.json"))',
        `os.symlink(${JSON.stringify(secret.file)}, os.path.join(out, "metrics.json"))`,
        '=======',
        '# end of training',
        '>>>>>>> REPLACE',
        '',
      ].join('\n'),
    };
    const scripted = byRole({ thinker: [idea(4), idea(3)], coder: [linkReply, setXReply(3)] });
    server.respond((request) => (messagesOf(request)[0]?.text.includes('## Your change ran and failed') ? fixReply : scripted(request)));
    const runsDir = tempDir('researcher-links-runs-');
    const result = await researcher(
      [
        'run',
        linkEnvironment({ evaluator: false }),
        '--agent',
        'agents/openai-compatible.yaml',
        '--ideas',
        '2',
        '--runs-dir',
        runsDir,
        '--run-id',
        'links',
      ],
      { ...CLEAN_ENV, OPENAI_BASE_URL: server.url, OPENAI_API_KEY: 'sk-local' },
    );
    expect(result.code, result.stderr).toBe(0);
    const shown = JSON.parse((await researcher(['show', path.join(runsDir, 'links'), '--json'])).stdout);
    expect(shown.ideas[1]).toMatchObject({ status: 'succeeded' });
    expect(shown.ideas[1].debugRounds).toMatchObject([
      { round: 1, status: 'committed', failure: { reason: 'bad-metric', message: 'metrics.json is a symbolic link; refused' } },
    ]);
    // The second thinker call saw the first idea's failure, and nothing of the file.
    const prompts = server.calls.map((call) => JSON.stringify(call.body));
    expect(prompts.length).toBeGreaterThanOrEqual(4);
    expect(prompts.some((prompt) => prompt.includes('metrics.json is a symbolic link; refused'))).toBe(true);
    for (const prompt of prompts) expect(prompt).not.toContain(secret.marker);
    expect(filesContaining(path.join(runsDir, 'links'), secret.marker)).toEqual([]);
  });
});
