/**
 * Builds the transport WA_TRANSPORT names: for the service's own session from the configuration, for
 * another session (`number`) on its own auth profile and pairing phone.
 */
import type { Config } from '../config/index.js';
import type { Queryable } from '../db/pool.js';
import type { Logger } from '../lib/logger.js';
import { FakeTransport } from './fake-transport.js';
import { LogTransport } from './log-transport.js';
import type { Transport } from './transport.js';
import { ProfileStore } from './wwebjs/auth-store.js';
import { WhatsAppWebTransport } from './wwebjs/transport.js';

export interface NumberSettings {
  /** The session's name (a stand-in's send log gets it as a suffix). */
  session: string;
  authProfile: string;
  pairPhone: string | null;
}

/**
 * `pool`: the database WA_AUTH_STORE=postgres keeps the logins in (required then). `number`: another
 * session than the configured one.
 */
export function createTransport(config: Config, logger: Logger, pool: Queryable | null, number?: NumberSettings): Transport {
  switch (config.wa.transport) {
    case 'log':
      return new LogTransport(logger);
    case 'fake':
      logger.warn('WA_TRANSPORT=fake: messages go to a test stand-in, not to WhatsApp');
      return new FakeTransport({
        // Another number's stand-in logs beside the first one's and hears nothing from the inbound file.
        sendLogFile: number && config.wa.fake.sendLogFile ? `${config.wa.fake.sendLogFile}.${number.session}` : config.wa.fake.sendLogFile,
        sendDelayMs: config.wa.fake.sendDelayMs,
        handOverDelayMs: config.wa.fake.handOverDelayMs,
        inboundFile: number ? null : config.wa.fake.inboundFile,
        inboundIntervalMs: config.wa.fake.inboundIntervalMs,
      });
    case 'wwebjs': {
      const authProfile = number?.authProfile ?? config.wa.authProfile;
      return new WhatsAppWebTransport({
        authPath: config.wa.authPath,
        authProfile,
        authStore: authStoreFor(config, pool, authProfile),
        authStoreSaveMs: config.wa.authStoreSaveMs,
        chromiumPath: config.wa.chromiumPath,
        puppeteerArgs: config.wa.puppeteerArgs,
        pairPhone: number ? number.pairPhone : config.wa.pairPhone,
        readyTimeoutMs: config.wa.readyTimeoutMs,
        reconnectBaseMs: config.wa.reconnectBaseMs,
        reconnectMaxMs: config.wa.reconnectMaxMs,
        authTimeoutMs: config.wa.authTimeoutMs,
        webVersion: config.wa.webVersion,
        webVersionUrl: config.wa.webVersionUrl,
        pageFix: config.wa.pageFix,
        logger: logger.child({ component: 'wa-client' }),
      });
    }
  }
}

/** WA_AUTH_STORE=postgres: the auth profile's stored login (auth-store.ts); null for `local`. */
function authStoreFor(config: Config, pool: Queryable | null, authProfile: string): ProfileStore | null {
  if (config.wa.authStore !== 'postgres') return null;
  if (!pool || !config.wa.authStoreKey) throw new Error('WA_AUTH_STORE=postgres needs the database and WA_AUTH_STORE_KEY');
  return new ProfileStore({ pool, key: config.wa.authStoreKey, authPath: config.wa.authPath, authProfile, savedBy: config.cluster.hostLabel });
}

export type { Transport } from './transport.js';
