/**
 * Whether the bubblewrap tests run: bubblewrap works on this machine, or CI is 'true' (where a
 * missing engine must fail the tests, never skip them). Warns, saying why, when they skip.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { bubblewrapStatus } from '../../src/sandbox/bubblewrap.ts';

export function bubblewrapTestsRun(what: string): boolean {
  const status = bubblewrapStatus();
  if (status.ok || process.env.CI === 'true') return true;
  console.warn(`skipping ${what}: ${status.reason} (apt-get install bubblewrap)`);
  return false;
}

/** The isolations the local sandbox can be tested with here. */
export function localIsolations(): ('bubblewrap' | 'none')[] {
  return bubblewrapTestsRun('the local sandbox under bubblewrap') ? ['bubblewrap', 'none'] : ['none'];
}

/** Host processes whose command line contains `marker` (the sandbox's own PID namespace hides nothing from the host). */
export function hostProcessesWith(marker: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ');
      const state = /^State:\s+(\S)/m.exec(readFileSync(`/proc/${entry}/status`, 'utf8'))?.[1];
      if (cmdline.includes(marker) && state !== 'Z' && Number(entry) !== process.pid) found.push(Number(entry));
    } catch {
      // exited while we looked
    }
  }
  return found;
}
