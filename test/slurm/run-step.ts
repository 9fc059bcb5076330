/**
 * A researcher-in-miniature for kill tests: runs one sandbox request through the Slurm sandbox
 * in its own process and prints the job id as soon as the job exists, so a test can kill -9 this
 * process while its job is queued or running.
 *
 *   node --import tsx test/slurm/run-step.ts '<{"options":…,"request":…}>'
 */
import type { SandboxRequest } from '../../src/core/interfaces.ts';
import { SlurmSandbox } from '../../src/sandbox/slurm/sandbox.ts';

const { options, request } = JSON.parse(process.argv[2]) as { options: Record<string, unknown>; request: SandboxRequest };
const sandbox = new SlurmSandbox(options);
const result = await sandbox.run({
  ...request,
  onStarted: (handle) => console.log(JSON.stringify({ started: handle })),
});
console.log(JSON.stringify({ result }));
