/**
 * How the crash tests start the service on the stand-in of today's WhatsApp Web page
 * (standin-service.ts): the program, and the environment they share.
 */
import type { TestDatabase } from './database.js';

export const STANDIN_SERVICE = new URL('./standin-service.ts', import.meta.url).pathname;

/**
 * Fast dispatch and short leases, every hand-over written to `handOverLog` (the account's history), and
 * these chats (comma-separated ids) having written before: their history reaches back past a hand-over.
 */
export function standInServiceEnv(db: TestDatabase, dir: string, handOverLog: string, receivedFrom: string[]): Record<string, string> {
  return {
    DATABASE_URL: db.url,
    DATA_DIR: dir,
    LOG_LEVEL: 'warn',
    WA_SEND_INTERVAL_MS: '0',
    WA_SEND_JITTER_MS: '0',
    WA_SEND_MAX_PER_MINUTE: '100000',
    WA_LEASE_MS: '2000',
    WA_RETRY_BASE_MS: '50',
    WA_RETRY_MAX_MS: '200',
    WA_SETTLE_GRACE_MS: '300',
    TEST_HANDOVER_LOG: handOverLog,
    TEST_RECEIVED_FROM: receivedFrom.join(','),
  };
}
