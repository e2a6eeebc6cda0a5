/**
 * Why WhatsApp Web cannot be reached, read from the transport's state: the cause in words an operator
 * acts on (and as a word a page can translate), and when the transport tries again. Read by the log
 * (state-log.ts) and the API (the session's and the summary's `problem`).
 */
import type { TransportStatus } from './transport.js';

export const OUTAGE_CAUSES = ['dns', 'offline', 'blocked', 'proxy', 'tls', 'no_chromium'] as const;
export type OutageCause = (typeof OUTAGE_CAUSES)[number];

/** Network errors Chromium reports, by cause, with what to do. */
const CAUSES: Array<[RegExp, OutageCause, string]> = [
  [/ERR_NAME_NOT_RESOLVED|ENOTFOUND|EAI_AGAIN/, 'dns', 'the name web.whatsapp.com does not resolve: check DNS on this machine'],
  [/ERR_INTERNET_DISCONNECTED|ERR_NETWORK_CHANGED|ENETUNREACH/, 'offline', 'this machine has no network connection'],
  [/ERR_CONNECTION_(REFUSED|RESET|CLOSED|TIMED_OUT)|ERR_TIMED_OUT|ETIMEDOUT|ECONNREFUSED|ECONNRESET/, 'blocked', 'web.whatsapp.com cannot be reached on port 443: check the firewall or proxy (a proxy goes in WA_PUPPETEER_ARGS as --proxy-server=…)'],
  [/ERR_PROXY|ERR_TUNNEL/, 'proxy', 'the proxy refused the connection: check --proxy-server in WA_PUPPETEER_ARGS'],
  [/ERR_CERT|SSL|TLS/, 'tls', 'the TLS connection to web.whatsapp.com failed: check the machine clock and any intercepting proxy'],
  [/Chromium not found/, 'no_chromium', 'Chromium is not installed: apt-get install -y chromium (or set WA_CHROMIUM_PATH)'],
];

export interface Outage {
  cause: OutageCause;
  /** The cause and what to check, in English (the log's words). */
  words: string;
  /** When the transport tries again, where its state says so. */
  nextTryAt: Date | null;
}

/** The outage a troubled state tells of (reconnecting, failed, disconnected with a known network error); null otherwise. */
export function outageOf(status: TransportStatus): Outage | null {
  if (!['reconnecting', 'failed', 'disconnected'].includes(status.state) || !status.reason) return null;
  const known = CAUSES.find(([pattern]) => pattern.test(status.reason!));
  if (!known) return null;
  return { cause: known[1], words: known[2], nextTryAt: nextTryAt(status) };
}

/** When the transport tries again (its state's retry, counted from the state's time). */
export function nextTryAt(status: TransportStatus): Date | null {
  return status.retry ? new Date(status.since.getTime() + status.retry.delayMs) : null;
}
