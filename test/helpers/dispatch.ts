import type { Config } from '../../src/config/index.js';

/** Dispatch settings for tests: no pacing, fast retries. */
export function fastDispatch(overrides: Partial<Config['dispatch']> = {}): Config['dispatch'] {
  return {
    sendIntervalMs: 0,
    sendJitterMs: 0,
    maxPerMinute: 100_000,
    maxAttempts: 4,
    retryBaseMs: 20,
    retryMaxMs: 100,
    batchSize: 10,
    leaseMs: 60_000,
    sendTimeoutMs: 5000,
    confirmTimeoutMs: 600_000,
    settleGraceMs: 120_000,
    resendChecked: true,
    documentMaxBytes: 16 * 1024 * 1024,
    failoverAfterMs: 300_000,
    ...overrides,
  };
}

export async function waitUntil(condition: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<number> {
  const started = performance.now();
  while (!(await condition())) {
    if (performance.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return performance.now() - started;
}
