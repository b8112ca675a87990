/** Small helpers the soaks share: units, a sleep, and nearest-rank percentiles. */

/** Bytes in a MiB. */
export const MiB = 1024 * 1024;

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Nearest-rank percentile; 0 for no data. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return 0;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** The median (nearest rank); 0 for no data. */
export function median(xs: readonly number[]): number {
  return percentile(xs, 50);
}
