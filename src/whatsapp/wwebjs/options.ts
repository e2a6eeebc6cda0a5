/** How the WhatsApp Web transport is set up (from the configuration; tests pass a stand-in client factory). */
import type { Logger } from '../../lib/logger.js';
import type { ClientFactory } from './client.js';

export interface WhatsAppWebOptions {
  authPath: string;
  /** WA_AUTH_PROFILE: LocalAuth's clientId, the profile in `authPath/session-<authProfile>`. */
  authProfile: string;
  /** WA_CHROMIUM_PATH / PUPPETEER_EXECUTABLE_PATH, or null to search the usual paths. */
  chromiumPath: string | null;
  puppeteerArgs: string[];
  pairPhone: string | null;
  readyTimeoutMs: number;
  reconnectBaseMs: number;
  reconnectMaxMs: number;
  authTimeoutMs?: number;
  webVersion?: string | null;
  webVersionUrl?: string | null;
  /** WA_PAGE_FIX: apply the message-key fix to the page (default true). */
  pageFix?: boolean;
  logger: Logger;
  clientFactory?: ClientFactory;
  random?: () => number;
}
