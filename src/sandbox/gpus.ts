/**
 * Finding this machine's GPUs with `nvidia-smi`, for runs that need GPUs and were given no
 * `--gpus` list.
 */
import { execaSync } from 'execa';

/** Indexes of this machine's NVIDIA GPUs ("0", "1", …); empty when there is no nvidia-smi or no GPU. */
export function discoverGpus(nvidiaSmi = 'nvidia-smi'): string[] {
  try {
    const result = execaSync(nvidiaSmi, ['--query-gpu=index', '--format=csv,noheader,nounits'], {
      reject: false,
      timeout: 15_000,
      extendEnv: true,
    });
    if (result.failed || result.exitCode !== 0) return [];
    return parseGpuIndexes(String(result.stdout));
  } catch {
    return [];
  }
}

/** The indexes in `nvidia-smi --query-gpu=index --format=csv,noheader` output. */
export function parseGpuIndexes(output: string): string[] {
  return output
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => /^\d+$/.test(line));
}
