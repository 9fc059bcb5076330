/**
 * Summaries of a handful of seeds' rewards, and differences between rewards.
 *
 * A reward is any finite double, so a hostile or broken run can report ±1.79e308: the naive sum,
 * square or difference of such values overflows to Infinity (stored as such, printed as `null`
 * by JSON, and turning later arithmetic into NaN). These stay finite: the mean is computed on
 * values scaled by a power of two (exact), and results that truly do not fit a double (the
 * spread of −1.79e308 and 1.79e308) are clamped to the largest finite one.
 */

/** Above this, squaring or summing two values could overflow: work on scaled-down values. */
const LARGE = 2 ** 960;
/** A power of two, so scaling loses no bits (except in the subnormal range, invisible here). */
const SCALE = 2 ** -64;

export function mean(values: number[]): number {
  if (values.length === 0) return NaN;
  const scale = values.some((v) => Math.abs(v) > LARGE) ? SCALE : 1;
  return clampFinite(values.reduce((a, b) => a + b * scale, 0) / values.length / scale);
}

/** Sample standard deviation; 0 for a single value. */
export function std(values: number[]): number {
  if (values.length < 2) return 0;
  const scale = values.some((v) => Math.abs(v) > LARGE) ? SCALE : 1;
  const scaled = values.map((v) => v * scale);
  const m = scaled.reduce((a, b) => a + b, 0) / scaled.length;
  // Dividing the deviations by the largest one keeps their squares ≤ 1 (no overflow, no underflow to 0).
  const largest = Math.max(...scaled.map((v) => Math.abs(v - m)));
  if (largest === 0) return 0;
  const sum = scaled.reduce((a, v) => a + ((v - m) / largest) ** 2, 0);
  return clampFinite((largest * Math.sqrt(sum / (values.length - 1))) / scale);
}

/** a − b, clamped to the finite doubles (the gap between two huge rewards of opposite sign does not fit one). */
export function difference(a: number, b: number): number {
  return clampFinite(a - b);
}

/** (value − lo) / (hi − lo) without overflowing when hi − lo does not fit a double. */
export function fraction(value: number, lo: number, hi: number): number {
  return (value / 2 - lo / 2) / (hi / 2 - lo / 2);
}

function clampFinite(x: number): number {
  if (x === Infinity) return Number.MAX_VALUE;
  if (x === -Infinity) return -Number.MAX_VALUE;
  return x;
}
