/**
 * What the log says about the WhatsApp transport: each state change once, and an outage explained in
 * plain words once (what is wrong, what to check, when it tries again) rather than a warning at every
 * retry. Retries during the same outage are logged at debug level; the way back to `ready` is logged.
 */
import type { Logger } from '../lib/logger.js';
import { nextTryAt, outageOf } from './outage.js';
import type { Transport, TransportStatus } from './transport.js';

function nextTry(status: TransportStatus): string {
  const at = nextTryAt(status);
  if (!at) return '';
  const seconds = Math.round((at.getTime() - status.since.getTime()) / 1000);
  return seconds >= 1 ? ` It tries again in ${seconds} s.` : ' It tries again at once.';
}

export function watchTransport(transport: Transport, logger: Logger): void {
  let outage: string | null = null;
  transport.onStateChange((status: TransportStatus) => {
    const fields = { transport: transport.name, state: status.state, reason: status.reason, since: status.since };
    const trouble = ['reconnecting', 'failed', 'disconnected'].includes(status.state);
    const known = outageOf(status)?.words ?? null;
    if (known) {
      if (outage === known) {
        logger.debug(fields, 'WhatsApp transport state');
        return;
      }
      outage = known;
      logger.warn(fields, `WhatsApp Web cannot be reached from this machine: ${known}. Messages wait in the outbox and go out once it is back.${nextTry(status)}`);
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
