/**
 * bubblewrap (`bwrap`, Debian's `bubblewrap`): the isolation of the local sandbox, and of Slurm
 * steps on nodes that have it. The same mechanism Flatpak and coding-agent sandboxes use; this
 * module only builds its command line and checks that it works here.
 *
 * What a step sees: the system folders read-only (/usr, /etc and the /bin-style links), the
 * folders the step is given (its code, its outputs, the evaluator's output folder) at fixed
 * paths under /sandbox, a private /tmp and HOME, its own /proc (only its own processes) and a
 * minimal /dev. Nothing else of the host: not the run folder, its database or repository, not
 * the evaluator (unless it is the evaluator step), not other ideas, not the researcher's HOME.
 * Its own PID namespace (every process it starts dies with it), its own network namespace
 * unless the environment asks for the network, and an unprivileged user.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { shellQuote } from '../core/format.ts';

/** Where things live inside the sandbox: the same layout as the Docker sandbox's containers. */
export const SANDBOX_PATHS = {
  code: '/sandbox/code',
  outputs: '/sandbox/outputs',
  eval: '/sandbox/eval',
  home: '/sandbox/home',
} as const;

/** The unprivileged user a step runs as (inside its user namespace). */
export const SANDBOX_UID = 1000;

export interface Mount {
  /** Path on this machine. */
  host: string;
  /** Path inside the sandbox. */
  inside: string;
  writable: boolean;
}

export interface BubblewrapLayout {
  mounts: Mount[];
  /** Folder the command starts in, inside the sandbox. */
  chdir: string;
  network: boolean;
  /** GPUs the step was given: their device files are bound in. */
  gpus: boolean;
  /** Host folders outside the system folders to show read-only at the same path (an interpreter's prefix). */
  readOnlyPaths?: string[];
}

/** Top-level system folders: bound read-only, or re-created as the links they are on this machine. */
const SYSTEM_DIRS = ['/usr', '/etc', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32'];

function systemArgs(): string[] {
  const args: string[] = [];
  for (const dir of SYSTEM_DIRS) {
    let stat;
    try {
      stat = lstatSync(dir);
    } catch {
      continue;
    }
    if (stat.isSymbolicLink()) args.push('--symlink', readlinkSync(dir), dir);
    else if (stat.isDirectory()) args.push('--ro-bind', dir, dir);
  }
  return args;
}

function gpuDeviceArgs(): string[] {
  const args: string[] = [];
  let entries: string[] = [];
  try {
    entries = readdirSync('/dev');
  } catch {
    return args;
  }
  for (const entry of entries) {
    if (/^nvidia/.test(entry)) args.push('--dev-bind', `/dev/${entry}`, `/dev/${entry}`);
  }
  if (existsSync('/dev/dri')) args.push('--dev-bind', '/dev/dri', '/dev/dri');
  // CUDA reads the PCI topology from /sys; it holds no secrets of the researcher.
  if (args.length) args.push('--ro-bind', '/sys', '/sys');
  return args;
}

/** The bwrap arguments (without the `bwrap` itself) for a layout, ending with `--`. */
export function bubblewrapArgs(layout: BubblewrapLayout): string[] {
  const args = [...systemArgs(), '--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp', '--tmpfs', '/sandbox', '--dir', SANDBOX_PATHS.home];
  for (const dir of layout.readOnlyPaths ?? []) {
    if (SYSTEM_DIRS.some((system) => dir === system || dir.startsWith(`${system}/`))) continue;
    if (existsSync(dir)) args.push('--ro-bind', dir, dir);
  }
  for (const mount of layout.mounts) args.push(mount.writable ? '--bind' : '--ro-bind', mount.host, mount.inside);
  if (layout.gpus) args.push(...gpuDeviceArgs());
  args.push(
    '--unshare-all',
    '--unshare-user',
    ...(layout.network ? ['--share-net'] : []),
    '--uid',
    String(SANDBOX_UID),
    '--gid',
    String(SANDBOX_UID),
    '--hostname',
    'sandbox',
    '--die-with-parent',
    '--new-session',
    '--cap-drop',
    'ALL',
    '--chdir',
    layout.chdir,
    '--',
  );
  return args;
}

export type BubblewrapStatus = { ok: true; path: string } | { ok: false; reason: string };

const statusByBinary = new Map<string, BubblewrapStatus>();

/** The bwrap binary: AI_RESEARCHER_BWRAP when set, else the first on PATH (or in the usual places). */
function findBwrap(): string | null {
  const chosen = process.env.AI_RESEARCHER_BWRAP;
  if (chosen) return existsSync(chosen) ? chosen : null;
  for (const dir of [...(process.env.PATH ?? '').split(path.delimiter), '/usr/bin', '/usr/local/bin', '/bin']) {
    if (!dir) continue;
    const candidate = path.join(dir, 'bwrap');
    if (existsSync(candidate)) return candidate;
  }
  return null;
}

/**
 * Whether bubblewrap is installed and actually works here (it needs user namespaces: some
 * kernels and containers disable them). Checked once per process by running `true` inside it.
 */
export function bubblewrapStatus(): BubblewrapStatus {
  const key = process.env.AI_RESEARCHER_BWRAP ?? '';
  const known = statusByBinary.get(key);
  if (known) return known;
  const status = probe();
  statusByBinary.set(key, status);
  return status;
}

function probe(): BubblewrapStatus {
  if (process.platform !== 'linux') return { ok: false, reason: `bubblewrap isolation needs Linux (this is ${process.platform})` };
  const bwrap = findBwrap();
  if (!bwrap) return { ok: false, reason: 'bubblewrap (bwrap) is not installed' };
  try {
    execFileSync(bwrap, [...bubblewrapArgs({ mounts: [], chdir: '/', network: false, gpus: false }), 'true'], {
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: 20_000,
    });
    return { ok: true, path: bwrap };
  } catch (error) {
    const stderr = String((error as { stderr?: Buffer }).stderr ?? '').trim();
    return { ok: false, reason: `bubblewrap is installed but cannot create a sandbox here: ${stderr || (error as Error).message}` };
  }
}

/** The one line that tells a user how to get bubblewrap. */
export const INSTALL_BUBBLEWRAP =
  'install bubblewrap (Debian/Ubuntu: sudo apt-get install bubblewrap; Fedora: sudo dnf install bubblewrap; Arch: sudo pacman -S bubblewrap)';

/**
 * The same isolation as bash lines, for a step that starts on another machine (a Slurm node):
 * the system folders and GPU devices are found there, when the step starts, and bubblewrap is
 * used if the node has it (`required`: the step fails, saying so, if it does not). Folders on
 * the step's PATH outside /usr (a cluster's `module load` software) are shown read-only.
 * The last line execs the command.
 */
export function bubblewrapShellLines(
  layout: Omit<BubblewrapLayout, 'readOnlyPaths'>,
  command: string,
  options: {
    required: boolean;
    /** Variables whose values differ inside the sandbox and outside it (OUTPUT_DIR, HOME, …). */
    paths: { isolated: Record<string, string>; unisolated: Record<string, string> };
  },
): string[] {
  const q = shellQuote;
  const exports = (vars: Record<string, string>) => Object.entries(vars).map(([name, value]) => `  export ${name}=${q(value)}`);
  const mounts = layout.mounts.map((m) => `  ${m.writable ? '--bind' : '--ro-bind'} ${q(m.host)} ${q(m.inside)} \\`);
  return [
    'if command -v bwrap >/dev/null 2>&1; then',
    ...exports(options.paths.isolated),
    '  sandbox=(--proc /proc --dev /dev --tmpfs /tmp --tmpfs /sandbox --dir ' + q(SANDBOX_PATHS.home) + ')',
    `  for dir in ${SYSTEM_DIRS.join(' ')}; do`,
    '    if [ -L "$dir" ]; then sandbox+=(--symlink "$(readlink "$dir")" "$dir"); elif [ -d "$dir" ]; then sandbox+=(--ro-bind "$dir" "$dir"); fi',
    '  done',
    // PATH entries outside /usr stay only when they are an interpreter's (a venv, conda, pyenv
    // version): that prefix is shown read-only. Never a whole HOME, a shim folder or a toolchain's
    // credentials next to its bin/.
    '  IFS=: read -r -a path_dirs <<< "$PATH"',
    '  inside_path=()',
    '  for dir in "${path_dirs[@]}"; do',
    '    case "$dir" in',
    '      /usr|/usr/*|/bin|/sbin) inside_path+=("$dir") ;;',
    '      /*) prefix="${dir%/*}"',
    '        if [ -e "$prefix/pyvenv.cfg" ] || [ -d "$prefix/conda-meta" ] || [[ "$prefix" == */versions/* ]]; then',
    '          sandbox+=(--ro-bind "$prefix" "$prefix"); inside_path+=("$dir")',
    '          base_home="$(sed -n \'s/^home *= *//p\' "$prefix/pyvenv.cfg" 2>/dev/null)"',
    '          case "$base_home" in ""|/usr|/usr/*) ;; *) [ -d "${base_home%/bin}" ] && sandbox+=(--ro-bind "${base_home%/bin}" "${base_home%/bin}") ;; esac',
    '        fi ;;',
    '    esac',
    '  done',
    '  PATH="$(IFS=:; echo "${inside_path[*]}")"; export PATH',
    ...(layout.gpus
      ? [
          '  for dev in /dev/nvidia* /dev/dri; do [ -e "$dev" ] && sandbox+=(--dev-bind "$dev" "$dev"); done',
          '  sandbox+=(--ro-bind /sys /sys)',
        ]
      : []),
    '  exec bwrap "${sandbox[@]}" \\',
    ...mounts,
    `  --unshare-all --unshare-user ${layout.network ? '--share-net ' : ''}--uid ${SANDBOX_UID} --gid ${SANDBOX_UID} --hostname sandbox --die-with-parent --new-session --cap-drop ALL \\`,
    `  --chdir ${q(layout.chdir)} -- /bin/bash -c ${q(command)}`,
    'fi',
    ...(options.required
      ? [
          `echo "ai-researcher: this step must run under bubblewrap, but bwrap is not on PATH on $(hostname): ${INSTALL_BUBBLEWRAP}" >&2`,
          'exit 126',
        ]
      : [...exports(options.paths.unisolated).map((line) => line.trim()), `exec /bin/bash -c ${q(command)}`]),
  ];
}
