/**
 * What the log says about the WhatsApp transport: each state change once, and an outage explained in
 * plain words once (what is wrong, what to check, when it tries again) rather than a warning at every
 * retry. While the retries are close together each one gets a short line (attempt, next try as a time);
 * once they are minutes apart, a line at most every few minutes; the rest is at debug level. The way
 * back to `ready` is logged.
 */
import type { Logger } from '../lib/logger.js';
import { formatZoned } from '../lib/zoned-time.js';
import { outageOf } from './outage.js';
import type { Transport, TransportStatus } from './transport.js';

/** Retries closer together than this are each logged. */
const EACH_RETRY_BELOW_MS = 60_000;
/** Otherwise a line about the outage at most this often. */
const OUTAGE_LINE_EVERY_MS = 5 * 60_000;


/** `at 05:24:21 WIB (in 4 s)`, or `at once`. */
function nextTryWords(since: Date, delayMs: number, timeZone: string): string {
  const seconds = Math.round(delayMs / 1000);
  if (seconds < 1) return 'at once';
  const wait = seconds < 120 ? `${seconds} s` : `${Math.round(seconds / 60)} min`;
  return `at ${formatZoned(new Date(since.getTime() + delayMs), timeZone, { timeOnly: true })} (in ${wait})`;
}

export function watchTransport(transport: Pick<Transport, 'name' | 'onStateChange'>, logger: Logger, timeZone: string): void {
  let outage: { cause: string; since: Date; lastLine: Date } | null = null;
  transport.onStateChange((status: TransportStatus) => {
    const fields = { transport: transport.name, state: status.state, reason: status.reason, since: status.since };
    const trouble = ['reconnecting', 'failed', 'disconnected'].includes(status.state);
    const known = outageOf(status)?.words ?? null;
    const retry = { attempt: status.retry?.attempt ?? null, delayMs: status.retry?.delayMs ?? null };
    if (known && outage?.cause === known) {
      // The same outage again: a line per retry while they are close together, then now and then.
      const close = retry.delayMs !== null && retry.delayMs < EACH_RETRY_BELOW_MS;
      if (retry.delayMs === null || (!close && status.since.getTime() - outage.lastLine.getTime() < OUTAGE_LINE_EVERY_MS)) {
        logger.debug(fields, 'WhatsApp transport state');
        return;
      }
      outage.lastLine = status.since;
      const attempts = retry.attempt !== null ? `${retry.attempt} attempts` : 'still';
      logger.info(
        { transport: transport.name, state: status.state, reason: status.reason, attempt: retry.attempt, nextTryAt: new Date(status.since.getTime() + retry.delayMs) },
        `WhatsApp Web still cannot be reached (${attempts} since ${formatZoned(outage.since, timeZone, { timeOnly: true })}): ${known}. Next try ${nextTryWords(status.since, retry.delayMs, timeZone)}.`,
      );
      return;
    }
    if (known) {
      outage = { cause: known, since: status.since, lastLine: status.since };
      const next = retry.delayMs !== null ? ` It tries again ${nextTryWords(status.since, retry.delayMs, timeZone)}.` : '';
      logger.warn(fields, `WhatsApp Web cannot be reached from this machine: ${known}. Messages wait in the outbox and go out once it is back.${next}`);
      return;
    }
    if (outage && status.state === 'starting') {
      logger.debug(fields, 'WhatsApp transport state'); // each retry during a known outage
      return;
    }
    if (status.state === 'ready' && outage) logger.info(fields, 'WhatsApp Web is reachable again');
    if (status.state === 'ready') outage = null;
    const closing = status.state === 'disconnected' && status.reason === 'closed';
    logger[trouble && !closing ? 'warn' : 'info'](fields, 'WhatsApp transport state');
  });
}
