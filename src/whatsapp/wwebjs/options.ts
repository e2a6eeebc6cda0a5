/** How the WhatsApp Web transport is set up (from the configuration; tests pass a stand-in client factory). */
import type { Logger } from '../../lib/logger.js';
import type { ProfileStore } from './auth-store.js';
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
  /**
   * WA_AUTH_STORE=postgres: the auth profile's login kept in PostgreSQL (auth-store.ts), restored before
   * the first launch, saved while ready (every `authStoreSaveMs`) and after Chromium closed; null or
   * absent: the profile lives only in `authPath` (WA_AUTH_STORE=local).
   */
  authStore?: ProfileStore | null;
  /** WA_AUTH_STORE_SAVE_SECONDS in ms: how often a ready session's login is saved. */
  authStoreSaveMs?: number;
  logger: Logger;
  clientFactory?: ClientFactory;
  random?: () => number;
}
