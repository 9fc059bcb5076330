/**
 * The coding session the sweep hands a coder: the idea's worktree, with edits applied through
 * the patch applier (which refuses paths outside the editable code) and changes read from git.
 * What the tree holds when the coder returns still goes through the change guard before commit.
 */
import { applyEdit } from '../../patch/apply.ts';
import type { CodingSession, SmokeOutcome, Workspace } from '../interfaces.ts';

/** `smoke`: runs the environment's smoke step on the tree (./smoke.ts sessionSmoke); absent when it declares none. */
export function worktreeSession(workspace: Workspace, dir: string, smoke?: () => Promise<SmokeOutcome | null>): CodingSession {
  return {
    ...(smoke ? { smoke } : {}),
    dir,
    async apply(edit) {
      const applied = await applyEdit(edit, dir);
      return applied.ok
        ? { ok: true, changedFiles: applied.changedFiles }
        : { ok: false, message: applied.message, refused: applied.refused === true };
    },
    changedPaths: async () => (await workspace.pendingChanges(dir)).map((change) => change.path),
    reset: () => workspace.reset(dir),
  };
}
