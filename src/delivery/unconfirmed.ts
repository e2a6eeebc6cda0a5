/**
 * A send whose outcome stays unknown past WA_CONFIRM_TIMEOUT_MS is flagged `unconfirmed` (never sent
 * again on its own: an operator decides, `cicero-wa outbox resend`), and the governor hears of it as a
 * risk signal charged to that row's own session. The session's confirmer does it when its oldest unknown
 * hand-over reaches that age; the outbox maintenance once a minute for every session.
 */
import type pg from 'pg';
import type { Governor } from '../governor/governor.js';
import type { Logger } from '../lib/logger.js';
import { expireUnknown } from '../outbox/hand-overs.js';

/** A duration as an operator reads it: `10 min`, `1.5 s`, `250 ms`. */
export function describeDuration(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  if (ms >= 1000) return `${Math.round(ms / 100) / 10} s`;
  return `${ms} ms`;
}

/** Flags `session`'s expired unknown sends; returns how many were flagged. */
export async function expireUnconfirmed(options: { pool: pg.Pool; session: string; confirmTimeoutMs: number; logger: Logger; governor: Governor | null }): Promise<number> {
  const { pool, session, confirmTimeoutMs, logger, governor } = options;
  const within = describeDuration(confirmTimeoutMs);
  const flagged = await expireUnknown(pool, session, confirmTimeoutMs, (reason) => `unconfirmed: no receipt within ${within}${reason ? ` (${reason})` : ''}`);
  for (const row of flagged) {
    await governor?.signal(session, 'unconfirmed', `message ${row.outboxId}`);
    logger.warn({ id: row.outboxId, session, reason: row.reason }, 'send unconfirmed: not sent again; an operator can resend it (cicero-wa outbox resend)');
  }
  return flagged.length;
}
