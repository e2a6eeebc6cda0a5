/**
 * What the log says about the WhatsApp transport: each state change once, and an outage explained in
 * plain words once (what is wrong, what to check, when it tries again) rather than a warning at every
 * retry. Retries during the same outage are logged at debug level; the way back to `ready` is logged.
 */
import type { Logger } from '../lib/logger.js';
import type { Transport, TransportStatus } from './transport.js';

/** Network errors Chromium reports, in words an operator acts on. */
const CAUSES: Array<[RegExp, string]> = [
  [/ERR_NAME_NOT_RESOLVED|ENOTFOUND|EAI_AGAIN/, 'the name web.whatsapp.com does not resolve: check DNS on this machine'],
  [/ERR_INTERNET_DISCONNECTED|ERR_NETWORK_CHANGED|ENETUNREACH/, 'this machine has no network connection'],
  [/ERR_CONNECTION_(REFUSED|RESET|CLOSED|TIMED_OUT)|ERR_TIMED_OUT|ETIMEDOUT|ECONNREFUSED|ECONNRESET/, 'web.whatsapp.com cannot be reached on port 443: check the firewall or proxy (a proxy goes in WA_PUPPETEER_ARGS as --proxy-server=…)'],
  [/ERR_PROXY|ERR_TUNNEL/, 'the proxy refused the connection: check --proxy-server in WA_PUPPETEER_ARGS'],
  [/ERR_CERT|SSL|TLS/, 'the TLS connection to web.whatsapp.com failed: check the machine clock and any intercepting proxy'],
  [/Chromium not found/, 'Chromium is not installed: apt-get install -y chromium (or set WA_CHROMIUM_PATH)'],
];

function cause(reason: string): string | null {
  for (const [pattern, words] of CAUSES) if (pattern.test(reason)) return words;
  return null;
}

function nextTry(reason: string): string {
  const ms = /next try in (\d+) ms/.exec(reason)?.[1];
  if (!ms) return '';
  const seconds = Math.round(Number(ms) / 1000);
  return seconds >= 1 ? ` It tries again in ${seconds} s.` : ' It tries again at once.';
}

export function watchTransport(transport: Transport, logger: Logger): void {
  let outage: string | null = null;
  transport.onStateChange((status: TransportStatus) => {
    const fields = { transport: transport.name, state: status.state, reason: status.reason, since: status.since };
    const trouble = ['reconnecting', 'failed', 'disconnected'].includes(status.state);
    const known = trouble && status.reason ? cause(status.reason) : null;
    if (known) {
      if (outage === known) {
        logger.debug(fields, 'WhatsApp transport state');
        return;
      }
      outage = known;
      logger.warn(fields, `WhatsApp Web cannot be reached from this machine: ${known}. Messages wait in the outbox and go out once it is back.${nextTry(status.reason ?? '')}`);
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
