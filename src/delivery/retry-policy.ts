/**
 * How a row that goes back to the retry path after its send (an ack -1, a message missing from its chat)
 * is retried: the dispatch settings' attempts and backoff, and the process's outcome hooks run in the
 * transaction that fails a row out of attempts. The dispatcher applies the same rule to a failure before
 * the hand-over (vocabulary.ts, retryOrFail).
 */
import type { Config } from '../config/index.js';
import { retryDelayMs } from '../lib/backoff.js';
import type { Logger } from '../lib/logger.js';
import type { OutcomeHooks } from '../outbox/outcomes.js';
import type { RetryPolicy } from '../outbox/row-status.js';

export function retryPolicy(dispatch: Config['dispatch'], hooks: OutcomeHooks, logger: Logger, random?: () => number): RetryPolicy {
  return {
    maxAttempts: dispatch.maxAttempts,
    delayMs: (attempts) => retryDelayMs(attempts, dispatch.retryBaseMs, dispatch.retryMaxMs, random),
    onFailed: (tx, row, reason) => hooks.run(tx, { row, status: 'failed', reason, sentAt: null }, logger),
  };
}
