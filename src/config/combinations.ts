/**
 * Values that are each valid but cannot go together, because together they would break a guarantee
 * (a claim that can lapse during a send, an API open to the network, unsigned webhooks). Each problem
 * names every variable involved and says what would go wrong.
 */
import { isLoopback } from '../lib/loopback.js';
import type { Config } from './types.js';

export function combinationProblems(config: Config): string[] {
  const problems: string[] = [];
  if (config.wa.reconnectMaxMs < config.wa.reconnectBaseMs) {
    problems.push(
      `WA_RECONNECT_MAX_MS=${JSON.stringify(String(config.wa.reconnectMaxMs))} is invalid: must not be below WA_RECONNECT_BASE_MS (${config.wa.reconnectBaseMs})`,
    );
  }
  // The lease is renewed while the dispatcher waits, but not during one send: a lease that can lapse
  // between a hand-over and its record would let another instance take a row that is being sent.
  if (config.dispatch.leaseMs < 2 * config.dispatch.sendTimeoutMs) {
    problems.push(
      `WA_LEASE_MS=${JSON.stringify(String(config.dispatch.leaseMs))} is invalid: must be at least twice WA_SEND_TIMEOUT_MS (${config.dispatch.sendTimeoutMs}), so a claim outlives the longest send`,
    );
  }
  if (config.dispatch.confirmTimeoutMs < config.dispatch.sendTimeoutMs) {
    problems.push(
      `WA_CONFIRM_TIMEOUT_MS=${JSON.stringify(String(config.dispatch.confirmTimeoutMs))} is invalid: must not be below WA_SEND_TIMEOUT_MS (${config.dispatch.sendTimeoutMs}), or a send that timed out would be flagged unconfirmed before WhatsApp could answer`,
    );
  }
  if (config.wa.webVersionUrl && !config.wa.webVersion) {
    problems.push(
      `WA_WEB_VERSION_URL=${JSON.stringify(config.wa.webVersionUrl)} is invalid without WA_WEB_VERSION: set WA_WEB_VERSION to the build the URL serves (e.g. 2.3000.1017054665)`,
    );
  }
  if (config.http.port !== null && config.http.apiKey === null && !isLoopback(config.http.host)) {
    problems.push(
      `HTTP_HOST=${JSON.stringify(config.http.host)} is refused without API_KEY: anyone who can reach that address could send messages; set API_KEY, or listen on 127.0.0.1 (or set HTTP_PORT=off)`,
    );
  }
  if (config.http.port !== null && config.http.apiKey === null && (config.http.trustProxy !== false || config.http.allowedHosts.length > 0)) {
    const which = [config.http.trustProxy !== false ? 'HTTP_TRUST_PROXY' : null, config.http.allowedHosts.length > 0 ? 'HTTP_ALLOWED_HOSTS' : null].filter(Boolean).join(' and ');
    problems.push(
      `${which} ${which.includes(' and ') ? 'are' : 'is'} refused without API_KEY: without a key the API answers this machine only, and a reverse proxy or another name would open it to every machine that reaches them; set API_KEY (at least 16 characters)`,
    );
  }
  if (config.webhooks.urls.length > 0 && config.webhooks.secret === null) {
    problems.push('WEBHOOK_URL is set without WEBHOOK_SECRET: receivers could not tell our events from forged ones; set WEBHOOK_SECRET (at least 16 characters)');
  }
  if (config.http.readKey !== null && config.http.readKey === config.http.apiKey) {
    problems.push('API_READ_KEY is invalid (value not shown): it must differ from API_KEY, or the read-only key would give full access');
  }
  if (config.http.readKey !== null && config.http.apiKey === null) {
    problems.push('API_READ_KEY is invalid without API_KEY: with no API_KEY the API needs no key at all; set API_KEY too');
  }
  if (config.dispatch.retryMaxMs < config.dispatch.retryBaseMs) {
    problems.push(
      `WA_RETRY_MAX_MS=${JSON.stringify(String(config.dispatch.retryMaxMs))} is invalid: must not be below WA_RETRY_BASE_MS (${config.dispatch.retryBaseMs})`,
    );
  }
  return problems;
}
