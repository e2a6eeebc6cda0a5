/**
 * Exponential backoff, the one way the service waits longer after each failure: after failure n the
 * ceiling is min(max, base · 2^(n-1)), and the delay is drawn from its top `jitter` fraction (0: the
 * ceiling itself; 0.5: uniformly from its upper half), so many waiters spread out but none comes back
 * sooner than (1 - jitter) of the ceiling.
 */
export interface Backoff {
  baseMs: number;
  maxMs: number;
  /** Fraction of the ceiling drawn at random (default 0: no jitter). */
  jitter?: number;
}

export function backoffDelay(failures: number, backoff: Backoff, random: () => number = Math.random): number {
  const ceiling = Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.min(Math.max(0, failures - 1), 40));
  const jitter = backoff.jitter ?? 0;
  return Math.round(ceiling * (1 - jitter) + random() * ceiling * jitter);
}

/** Retries of transient send failures: drawn from the upper half of the ceiling. */
export function retryDelayMs(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  return backoffDelay(attempt, { baseMs, maxMs, jitter: 0.5 }, random);
}
