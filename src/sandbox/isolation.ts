/**
 * Choosing how a new run's local steps are isolated: code written by a model never runs
 * unisolated without the user saying so.
 *
 * - bubblewrap works here: every step runs under it (even the offline agent's).
 * - `--unisolated`: steps run as plain processes, recorded in the run and shown by `show`.
 * - no bubblewrap, offline agent: its knob edits are written by the framework itself, from the
 *   environment's own patterns, so they may run unisolated (and `npm start` stays a two-command
 *   set-up on a machine without bubblewrap); the run records it.
 * - no bubblewrap, a model writes the code: the run refuses to start, saying how to install it.
 */
import { UsageError } from '../core/errors.ts';
import { INSTALL_BUBBLEWRAP, bubblewrapStatus } from './bubblewrap.ts';
import type { LocalIsolation } from './local.ts';

export interface IsolationChoice {
  isolation: LocalIsolation;
  /** A line to print when the run starts unisolated; null when isolated. */
  notice: string | null;
}

export function chooseLocalIsolation(options: { agent: string; unisolated: boolean }): IsolationChoice {
  if (options.unisolated) {
    return {
      isolation: 'none',
      notice: "unisolated (--unisolated): run steps have your file system, network and processes; see the README's threat model",
    };
  }
  const status = bubblewrapStatus();
  if (status.ok) return { isolation: 'bubblewrap', notice: null };
  if (options.agent === 'offline') {
    return {
      isolation: 'none',
      notice: `unisolated: ${status.reason}; the offline agent's knob edits run as plain processes (to isolate them, ${INSTALL_BUBBLEWRAP})`,
    };
  }
  throw new UsageError(
    `${status.reason}, and code written by a model must not run with your powers: ${INSTALL_BUBBLEWRAP}; or pass --unisolated to run it unisolated anyway (recorded in the run)`,
  );
}
