/**
 * A write that records what happened to a send (a hand-over, an outcome, a hold) is tried again until it
 * succeeds while the database is away, so the outcome of a send is never lost. While the service stops,
 * or for an error that is not the database being away, it gives up after a few tries (the row's lease
 * then settles it).
 */
import { isRetryableDatabaseError } from '../db/pool.js';
import { backoffDelay, type Backoff } from '../lib/backoff.js';
import type { Logger } from '../lib/logger.js';
import { sleep } from '../lib/sleep.js';

/** The backoff between tries of such a write. */
const WRITE_RETRY: Backoff = { baseMs: 250, maxMs: 5000 };

export type Persist = <T>(write: () => Promise<T>) => Promise<T>;

/** A `persist` for one dispatcher: `stopping` says whether it is stopping (then it gives up sooner). */
export function persistent(logger: Logger, stopping: () => boolean): Persist {
  return async <T>(write: () => Promise<T>): Promise<T> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await write();
      } catch (err) {
        // Only a lost database (or a lock conflict) is worth waiting for; any other error is given up after a few tries.
        if ((stopping() || !isRetryableDatabaseError(err)) && attempt >= 3) throw err;
        const delay = backoffDelay(attempt, WRITE_RETRY);
        logger.warn({ err: (err as Error).message, retryInMs: delay }, 'recording a send outcome failed; retrying');
        await sleep(delay);
      }
    }
  };
}
