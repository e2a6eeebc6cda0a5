/**
 * Exponential backoff with jitter for transient send failures: after attempt n the ceiling is
 * min(max, base · 2^(n-1)), and the delay is drawn uniformly from its upper half, so retries of many
 * rows spread out but never come sooner than half the ceiling.
 */
export function retryDelayMs(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
