/**
 * whatsapp-web.js's Client as the transport uses it: the part of its surface the transport needs (which
 * stand-in clients implement in tests), the settings it is built with, and ending it without leaving a
 * Chromium behind.
 */
import type { EventEmitter } from 'node:events';
import type { ChildProcess } from 'node:child_process';
import wwebjs from 'whatsapp-web.js';
import type { Logger } from '../../lib/logger.js';
import { within } from '../../lib/sleep.js';
import type { OutgoingDocument } from '../transport.js';

/**
 * Flags a root or container run of headless Chromium needs, quiet networking, and less memory: no GPU
 * process (its work done in the browser process) and no software rasterizer, no audio process, no
 * back/forward cache (a reloaded WhatsApp Web would keep the old page alive), and Chromium's low-end
 * device mode (smaller caches). Measured by `npm run bench -- sessions-memory` (README). Not used on
 * purpose: `--no-zygote` (saved nothing here, and a container init that reaps children can break the
 * launch), `--single-process` (crashes whatsapp-web.js), a `--js-flags` heap cap (WhatsApp Web's heap is
 * large). WA_PUPPETEER_ARGS comes after these: a later `--js-flags` or `--renderer-process-limit` wins,
 * and `--disable-features` lists are joined.
 */
export const BASE_CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-setuid-sandbox',
  '--disable-dev-shm-usage',
  '--disable-gpu',
  '--no-first-run',
  '--no-default-browser-check',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-extensions',
  '--mute-audio',
  '--in-process-gpu',
  '--disable-software-rasterizer',
  '--disable-features=BackForwardCache,AudioServiceOutOfProcess',
  '--enable-low-end-device-mode',
];

/** How long destroy() may take before the browser is killed. */
const DESTROY_TIMEOUT_MS = 8000;

/** The part of whatsapp-web.js's Chat the transport uses. */
export interface WwebChatLike {
  id?: { _serialized?: string };
  fetchMessages(options: { limit?: number; fromMe?: boolean }): Promise<unknown[]>;
  /** "typing…" in the chat; WhatsApp shows it for about 25 seconds unless renewed or cleared. */
  sendStateTyping?(): Promise<unknown>;
  /** Ends "typing…" (or "recording…") at once. */
  clearState?(): Promise<unknown>;
  /** Group chats: whatsapp-web.js's GroupChat (its metadata as the page serialised it). */
  isGroup?: boolean;
  name?: string;
  /** A group where only admins may write (the library copies `groupMetadata.announce` here). */
  isReadOnly?: boolean;
  groupMetadata?: { subject?: string; announce?: boolean; participants?: unknown[] } | null;
}

/** The part of whatsapp-web.js's Client the transport uses (a stand-in implements it in tests). */
export interface WwebClientLike extends EventEmitter {
  initialize(): Promise<void>;
  destroy(): Promise<void>;
  getNumberId(number: string): Promise<{ _serialized: string } | null>;
  /** Text or media (a document). Resolves to the sent Message, or to undefined when WhatsApp Web gave nothing back (see #201857). */
  sendMessage(chatId: string, content: unknown, options?: Record<string, unknown>): Promise<unknown>;
  getWWebVersion?(): Promise<string>;
  /** Set by whatsapp-web.js once ready: the paired account. */
  info?: { wid?: { user?: string; _serialized?: string } } | null;
  /** A chat by id; undefined when WhatsApp Web has none (it throws "No LID for user" for some: see typing.ts). */
  getChatById?(chatId: string): Promise<WwebChatLike | undefined>;
  /** Every chat WhatsApp Web has loaded (throws when the page cannot serialise one: see groups.ts). */
  getChats?(): Promise<WwebChatLike[]>;
  getContactLidAndPhone?(userIds: string[]): Promise<Array<{ lid?: string; pn?: string }>>;
  /** Asks WhatsApp for a code to link this session by phone number; the code also comes as a `code` event. */
  requestPairingCode?(phoneNumber: string, showNotification?: boolean): Promise<string>;
  /** Unlinks this session on WhatsApp's side and closes the browser. */
  logout?(): Promise<void>;
  pupBrowser?: { process?(): ChildProcess | null; on?(event: string, listener: () => void): unknown } | null;
  pupPage?: {
    on?(event: string, listener: (err?: Error) => void): unknown;
    isClosed?(): boolean;
    /** Runs JavaScript text (or a function) in the WhatsApp Web page; resolves to its result, copied out. */
    evaluate?(pageFunction: string | ((...args: never[]) => unknown), ...args: unknown[]): Promise<unknown>;
  } | null;
}

export interface WwebClientSettings {
  authPath: string;
  authProfile: string;
  executablePath: string;
  args: string[];
  pairPhone: string | null;
  webCacheDir: string;
  authTimeoutMs: number;
  /** The pinned WhatsApp Web build, or null for the library's default from the local cache. */
  webVersion: string | null;
  /** Where the pinned build is fetched from (`{version}` replaced), or null for the local cache. */
  webVersionUrl: string | null;
}

export type ClientFactory = (settings: WwebClientSettings) => WwebClientLike;

/** The real whatsapp-web.js client. Puppeteer's own signal handlers are off: the service stops it. */
export const createWwebjsClient: ClientFactory = (settings) =>
  new wwebjs.Client({
    authStrategy: new wwebjs.LocalAuth({ clientId: settings.authProfile, dataPath: settings.authPath }),
    puppeteer: {
      executablePath: settings.executablePath,
      headless: true,
      args: settings.args,
      // Talk to Chromium over a pipe, not a websocket: if this process dies (SIGKILL, out of memory), the
      // pipe closes and Chromium exits with it, so no orphaned browser stays linked to the number while
      // another process takes the session over (a websocket-launched Chromium outlives its parent).
      pipe: true,
      handleSIGINT: false,
      handleSIGTERM: false,
      handleSIGHUP: false,
    },
    authTimeoutMs: settings.authTimeoutMs,
    takeoverOnConflict: false,
    qrMaxRetries: 0, // keep refreshing the QR code until someone scans it
    ...(settings.webVersion ? { webVersion: settings.webVersion } : {}),
    // A pinned build must be that build: strict, so a missing copy is an error rather than the live page.
    webVersionCache: settings.webVersionUrl
      ? { type: 'remote', remotePath: settings.webVersionUrl, strict: true }
      : { type: 'local', path: settings.webCacheDir, strict: settings.webVersion !== null },
    ...(settings.pairPhone ? { pairWithPhoneNumber: { phoneNumber: settings.pairPhone, showNotification: true, intervalMs: 180_000 } } : {}),
  }) as unknown as WwebClientLike;

/** A document as whatsapp-web.js sends it (MessageMedia, base64). */
export function documentMedia(document: OutgoingDocument): unknown {
  return new wwebjs.MessageMedia(document.mimeType, document.bytes.toString('base64'), document.fileName, document.bytes.length);
}

/** Ends the browser's whole process group at once. */
export function killBrowser(client: WwebClientLike): void {
  const proc = client.pupBrowser?.process?.();
  if (!proc?.pid || proc.exitCode !== null || proc.signalCode !== null) return;
  try {
    process.kill(-proc.pid, 'SIGKILL'); // Puppeteer starts Chromium in its own process group
  } catch {
    try {
      proc.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
}

/**
 * client.destroy() closes Chromium once it is connected; a browser still launching (`starting` is its
 * initialize() under way), or one that does not close, is killed with its process group.
 */
export async function destroyClient(client: WwebClientLike, starting: Promise<void> | null, logger: Logger): Promise<void> {
  client.removeAllListeners();
  const destroy = async () => {
    await within(client.destroy(), DESTROY_TIMEOUT_MS, undefined).catch((err: Error) =>
      logger.debug({ err: err.message }, 'destroying the WhatsApp client failed; killing its browser'),
    );
  };
  await destroy();
  if (starting) {
    // Start-up under way: let it reach a point where the browser exists, then destroy again.
    await within(starting.catch(() => undefined), 5000, undefined);
    await destroy();
  }
  killBrowser(client);
}
