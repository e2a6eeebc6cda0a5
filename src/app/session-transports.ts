/**
 * Each session's transport, and the session the service's own single-number configuration describes
 * (`default`, on WA_AUTH_PROFILE): what the runtimes are built from.
 */
import type { Config } from '../config/index.js';
import type { Queryable } from '../db/pool.js';
import type { Logger } from '../lib/logger.js';
import { DEFAULT_SESSION } from '../outbox/enqueue.js';
import type { SessionRecord } from '../sessions/registry.js';
import { createTransport } from '../whatsapp/index.js';
import type { Transport } from '../whatsapp/transport.js';

/** The session the single-number configuration describes: `default`, on WA_AUTH_PROFILE, paired as WA_PAIR_PHONE says. */
export function configuredSession(config: Config): { name: string; authProfile: string; pairing: 'qr' | 'code'; pairPhone: string | null } {
  return { name: DEFAULT_SESSION, authProfile: config.wa.authProfile, pairing: config.wa.pairPhone ? 'code' : 'qr', pairPhone: config.wa.pairPhone };
}

/**
 * Each session's transport: `default` is built from the configuration as it always was (WA_AUTH_PROFILE,
 * WA_PAIR_PHONE) unless one is given (tests, the demo); every other on its own auth profile and pairing
 * from wa_sessions, or by `transports` (tests: stand-in numbers).
 */
export function sessionTransports(
  config: Config,
  logger: Logger,
  given: { transport?: Transport; transports?: (session: SessionRecord) => Transport },
  /** The database WA_AUTH_STORE=postgres keeps the logins in. */
  pool: Queryable | null = null,
): (session: SessionRecord) => Transport {
  return (session) => {
    if (session.name === DEFAULT_SESSION) return given.transport ?? createTransport(config, logger.child({ session: session.name }), pool);
    if (given.transports) return given.transports(session);
    return createTransport(config, logger.child({ session: session.name }), pool, {
      session: session.name,
      authProfile: session.authProfile,
      pairPhone: session.pairing === 'code' ? session.pairPhone : null,
    });
  };
}
