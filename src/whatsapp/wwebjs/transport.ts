/**
 * The WhatsApp Web transport (WA_TRANSPORT=wwebjs): whatsapp-web.js with LocalAuth, driving the system
 * Chromium.
 *
 * - Session on disk: LocalAuth(clientId = WA_SESSION_NAME, dataPath = WA_AUTH_PATH), directory mode 0700.
 * - Pairing: a QR code in the log (and on stderr as a terminal picture), or a pairing code when
 *   WA_PAIR_PHONE is set. The current code is kept for the status surface (`pairing()`).
 * - States: starting → awaiting_qr → authenticated → ready; disconnected, reconnecting, failed; each
 *   change carries a reason and a time. Ready only after the client's `ready` event (listened to with
 *   `on`: it fires again after a reconnect).
 * - Recovery: an initialisation failure, a disconnect, a browser or page crash, or a ready timeout
 *   destroys the client (no Chromium left behind) and starts a new one after a capped exponential
 *   backoff. LOGOUT, UNPAIRED or CONFLICT clear the session directory and wait for a new QR scan.
 * - Sending: `…@c.us` numbers are checked with getNumberId first (cached); not registered is a permanent
 *   `not_on_whatsapp`. Anything that goes wrong before `sendMessage` is called is a failure; once it is
 *   called the message is handed over: WhatsApp's id (whatever the key's shape, see wa-messages.ts)
 *   confirms it, and no id, or an error thrown by the call, is an unknown outcome, except an error
 *   WhatsApp Web raises before it takes the message (an invalid chat id). `sendSeen: false` (the
 *   markedUnread crash) and no link preview.
 * - Own messages (`message_create`) and receipts (`message_ack`) are reported, so an unknown outcome can
 *   be confirmed later; a chat filed under a LID is reported with its phone number where WhatsApp knows it.
 * - Client options: explicit `authTimeoutMs`, `takeoverOnConflict: false`, QR codes refreshed without an
 *   upper bound (`qrMaxRetries: 0`); WA_WEB_VERSION pins the WhatsApp Web build (from WA_WEB_VERSION_URL,
 *   else the local cache), and the build in use is logged once ready.
 * - Starting never throws because WhatsApp is unreachable; it throws only when another live process
 *   holds the same session (see chromium-profile-lock.ts).
 */
import { EventEmitter } from 'node:events';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import QRCode from 'qrcode';
import wwebjs from 'whatsapp-web.js';
import type { Logger } from '../../lib/logger.js';
import { CHROMIUM_INSTALL_HINT, findChromium } from './chromium.js';
import { ProfileInUseError, clearStaleProfileLock, recordSessionOwner } from './profile-lock.js';
import {
  HandOverRefused,
  SendError,
  TransportWithState,
  type OwnMessage,
  type SendHooks,
  type SendResult,
  type Transport,
  type TransportState,
} from '../transport.js';
import { isFromMe, messageBody, messageIdOf, ownMessageChat } from './messages.js';
import { SessionRecorder, readSessionRecord, sessionRecordFile } from '../session-record.js';

/** Flags a root or container run of headless Chromium needs, and quiet networking. */
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
];

/** Disconnect reasons that mean the session itself is gone: clear it and pair again. */
const SESSION_ENDED = new Set(['LOGOUT', 'UNPAIRED', 'UNPAIRED_IDLE', 'CONFLICT']);
/** getNumberId answers are reused for this long. */
const NUMBER_CACHE_MS = 6 * 60 * 60 * 1000;
/** How long destroy() may take before the browser is killed. */
const DESTROY_TIMEOUT_MS = 8000;

/** The part of whatsapp-web.js's Client this transport uses (a stand-in implements it in tests). */
export interface WwebClientLike extends EventEmitter {
  initialize(): Promise<void>;
  destroy(): Promise<void>;
  getNumberId(number: string): Promise<{ _serialized: string } | null>;
  /** Resolves to the sent Message, or to undefined when WhatsApp Web gave nothing back (see #201857). */
  sendMessage(chatId: string, content: string, options?: Record<string, unknown>): Promise<unknown>;
  getWWebVersion?(): Promise<string>;
  /** Set by whatsapp-web.js once ready: the paired account. */
  info?: { wid?: { user?: string; _serialized?: string } } | null;
  getChatById?(chatId: string): Promise<{ fetchMessages(options: { limit?: number; fromMe?: boolean }): Promise<unknown[]> }>;
  getContactLidAndPhone?(userIds: string[]): Promise<Array<{ lid?: string; pn?: string }>>;
  pupBrowser?: { process?(): ChildProcess | null; on?(event: string, listener: () => void): unknown } | null;
  pupPage?: { on?(event: string, listener: (err?: Error) => void): unknown; isClosed?(): boolean } | null;
}

export interface WwebClientSettings {
  authPath: string;
  sessionName: string;
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
    authStrategy: new wwebjs.LocalAuth({ clientId: settings.sessionName, dataPath: settings.authPath }),
    puppeteer: {
      executablePath: settings.executablePath,
      headless: true,
      args: settings.args,
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

export interface WhatsAppWebOptions {
  authPath: string;
  sessionName: string;
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
  logger: Logger;
  clientFactory?: ClientFactory;
  /** Where the terminal QR picture goes (stderr). */
  qrOutput?: (text: string) => void;
  random?: () => number;
}

export type AckListener = (messageId: string, ack: number) => void;

export interface PairingInfo {
  qr: string | null;
  code: string | null;
  at: Date;
}

/** Classifies an error thrown by whatsapp-web.js while sending. */
export function classifySendError(err: unknown): SendError {
  if (err instanceof SendError) return err;
  const message = String((err as Error)?.message ?? err).split('\n')[0]!.slice(0, 300);
  if (/invalid wid|wid error|invalid (number|chat|id)|not a (valid )?(user|contact|participant)|chat not found|no lid for user/i.test(message)) {
    return new SendError('permanent', 'rejected', message);
  }
  if (/session closed|target closed|protocol error|detached frame|execution context was destroyed|not connected|timed? ?out/i.test(message)) {
    return new SendError('transient', 'connection_lost', message);
  }
  return new SendError('transient', 'send_error', message);
}

/** Errors WhatsApp Web raises before it takes a message: the send was not handed over. */
const REFUSED_BEFORE_HAND_OVER = /invalid wid|wid error|invalid (number|chat|id)|not a (valid )?(user|contact|participant)|no lid for user/i;

export class WhatsAppWebTransport extends TransportWithState implements Transport {
  readonly name = 'wwebjs';
  /** The WhatsApp Web build the page runs, once ready. */
  webVersion: string | null = null;
  /** The paired account's number (digits), once ready. */
  number: string | null = null;
  private pairedAt: string | null = null;
  private readonly ownListeners = new Set<(message: OwnMessage) => void>();
  /** LID ↔ phone-number chat ids WhatsApp told us about. */
  private readonly aliases = new Map<string, string>();
  private qrCount = 0;
  private awaitingSince: Date | null = null;
  private client: WwebClientLike | null = null;
  private initializing: Promise<void> | null = null;
  private closing = false;
  private recovering = false;
  private failures = 0;
  private readyTimer: NodeJS.Timeout | null = null;
  private restartTimer: NodeJS.Timeout | null = null;
  private readonly ackListeners = new Set<AckListener>();
  private readonly numberCache = new Map<string, { wid: string | null; at: number }>();
  private currentPairing: PairingInfo | null = null;
  private readonly sessionDir: string;
  /** Who runs Chromium on this session: this process, recorded before each launch (see chromium-profile-lock.ts). */
  private readonly ownerFile: string;
  private readonly recorder: SessionRecorder;
  private readonly factory: ClientFactory;

  constructor(private readonly options: WhatsAppWebOptions) {
    super();
    this.sessionDir = path.join(options.authPath, `session-${options.sessionName}`);
    this.ownerFile = path.join(options.authPath, `session-${options.sessionName}.owner`);
    this.recorder = new SessionRecorder(sessionRecordFile(options.authPath, options.sessionName));
    this.factory = options.clientFactory ?? createWwebjsClient;
  }

  /** The QR code or pairing code waiting to be used, if any. */
  pairing(): PairingInfo | null {
    return this.currentPairing;
  }

  onAck(listener: AckListener): () => void {
    this.ackListeners.add(listener);
    return () => this.ackListeners.delete(listener);
  }

  onOwnMessage(listener: (message: OwnMessage) => void): () => void {
    this.ownListeners.add(listener);
    return () => this.ownListeners.delete(listener);
  }

  /**
   * Prepares the session directory and starts connecting in the background. Throws only when
   * another live process uses this session.
   */
  async start(): Promise<void> {
    // Only the session directories are private; parents keep their modes.
    await fs.mkdir(path.dirname(this.options.authPath), { recursive: true });
    await fs.mkdir(this.options.authPath, { recursive: true, mode: 0o700 });
    await fs.chmod(this.options.authPath, 0o700);
    await fs.mkdir(this.sessionDir, { recursive: true, mode: 0o700 });
    await this.clearLock();
    await recordSessionOwner(this.ownerFile);
    this.pairedAt = (await readSessionRecord(sessionRecordFile(this.options.authPath, this.options.sessionName)))?.pairedAt ?? null;
    this.relaunch();
  }

  /** Launches in the background; anything unexpected becomes a failed state and a later retry, never a crash. */
  private relaunch(): void {
    this.launch().catch((err: Error) => this.scheduleRestart(`start failed: ${err.message}`, 'failed'));
  }

  async sendText(chatId: string, text: string, hooks: SendHooks): Promise<SendResult> {
    const client = this.client;
    if (!client || !this.isReady()) throw new SendError('transient', 'not_ready', `WhatsApp is ${this.status().state}`);
    let target = chatId;
    try {
      if (chatId.endsWith('@c.us')) {
        const wid = await this.registeredId(client, chatId);
        if (!wid) throw new SendError('permanent', 'not_on_whatsapp', `${chatId} has no WhatsApp account`);
        target = wid;
      }
      if (client.pupPage?.isClosed?.()) throw new SendError('transient', 'connection_lost', 'the WhatsApp Web page is closed');
      if (this.client !== client || !this.isReady()) throw new SendError('transient', 'not_ready', `WhatsApp is ${this.status().state}`);
    } catch (err) {
      throw classifySendError(err);
    }
    await hooks.handOver(); // throws HandOverRefused when the message may not be sent
    let message: unknown;
    try {
      message = await client.sendMessage(target, text, { linkPreview: false, sendSeen: false });
    } catch (err) {
      if (err instanceof HandOverRefused) throw err;
      const detail = String((err as Error)?.message ?? err).split('\n')[0]!.slice(0, 300);
      if (REFUSED_BEFORE_HAND_OVER.test(detail)) throw new SendError('permanent', 'rejected', detail);
      return { outcome: 'unknown', reason: `send_error after hand-over: ${detail}` };
    }
    const messageId = messageIdOf(message);
    if (messageId) return { outcome: 'confirmed', messageId };
    return { outcome: 'unknown', reason: 'no_message_id: WhatsApp Web returned no message id' };
  }

  /** This session's messages in a chat since a time (WhatsApp Web's copy of the chat; best effort). */
  async findOwnMessages(chatId: string, since: Date): Promise<OwnMessage[]> {
    const client = this.client;
    if (!client?.getChatById || !this.isReady()) return [];
    const chat = await client.getChatById(chatId);
    const messages = await chat.fetchMessages({ limit: 50, fromMe: true });
    const found: OwnMessage[] = [];
    for (const message of messages) {
      const timestamp = Number((message as { timestamp?: unknown }).timestamp) * 1000;
      const own = await this.ownMessage(message, null);
      if (own && (!Number.isFinite(timestamp) || timestamp >= since.getTime())) found.push({ ...own, at: Number.isFinite(timestamp) ? new Date(timestamp) : own.at });
    }
    return found;
  }

  async isRegistered(chatId: string): Promise<boolean> {
    const client = this.client;
    if (!client || !this.isReady()) throw new SendError('transient', 'not_ready', `WhatsApp is ${this.status().state}`);
    return (await this.registeredId(client, chatId)) !== null;
  }

  /** Destroys the client, also while it is still starting; no Chromium of ours is left running. */
  async close(): Promise<void> {
    this.closing = true;
    this.clearTimers();
    const client = this.client;
    this.client = null;
    if (client) await this.destroyClient(client);
    this.set('disconnected', 'closed');
    await this.recorder.flush();
  }

  kill(): void {
    this.closing = true;
    this.clearTimers();
    if (this.client) killBrowser(this.client);
  }

  private set(state: TransportState, reason: string | null = null): void {
    if (this.state.set(state, reason)) void this.recorder.update({ state, reason, since: this.status().since.toISOString() });
  }

  private async registeredId(client: WwebClientLike, chatId: string): Promise<string | null> {
    const cached = this.numberCache.get(chatId);
    if (cached && Date.now() - cached.at < NUMBER_CACHE_MS) return cached.wid;
    const result = await client.getNumberId(chatId);
    const wid = result?._serialized ?? null;
    this.numberCache.set(chatId, { wid, at: Date.now() });
    return wid;
  }

  private async clearLock(): Promise<void> {
    const found = await clearStaleProfileLock(this.sessionDir, this.ownerFile);
    if (found.state === 'stale') this.options.logger.warn({ owner: found.owner }, 'removed a stale Chromium profile lock from the WhatsApp session');
    if (found.state === 'orphan') {
      this.options.logger.warn({ pid: found.pid }, 'ended a Chromium left running on the WhatsApp session by a service process that died');
    }
  }

  private async launch(): Promise<void> {
    if (this.closing) return;
    const { logger } = this.options;
    const chromium = findChromium(this.options.chromiumPath);
    if (!chromium.path) {
      return this.scheduleRestart(`Chromium not found (${chromium.source}): ${CHROMIUM_INSTALL_HINT}`, 'failed');
    }
    try {
      await this.clearLock();
    } catch (err) {
      if (err instanceof ProfileInUseError) return this.scheduleRestart(err.message, 'failed');
      throw err;
    }
    if (this.closing) return; // closed while the lock was checked

    this.set('starting', `launching ${chromium.path}`);
    const client = this.factory({
      authPath: this.options.authPath,
      sessionName: this.options.sessionName,
      executablePath: chromium.path,
      args: [...BASE_CHROMIUM_FLAGS, ...this.options.puppeteerArgs],
      pairPhone: this.options.pairPhone,
      webCacheDir: path.join(this.options.authPath, 'web-cache'),
      authTimeoutMs: this.options.authTimeoutMs ?? 60_000,
      webVersion: this.options.webVersion ?? null,
      webVersionUrl: this.options.webVersionUrl ?? null,
    });
    this.client = client;
    this.listen(client);
    this.armReadyTimer();
    const initializing = client.initialize();
    this.initializing = initializing;
    try {
      await initializing;
    } catch (err) {
      const detail = String((err as Error)?.message ?? err).split('\n')[0] ?? '';
      // A pinned build that cannot be loaded is said in the operator's terms.
      const hint = /couldn't load version/i.test(detail)
        ? ` (WA_WEB_VERSION=${this.options.webVersion}: ${this.options.webVersionUrl ? 'check that WA_WEB_VERSION_URL serves it' : 'not in the local cache; set WA_WEB_VERSION_URL or unset WA_WEB_VERSION'})`
        : '';
      if (this.client === client) this.recoverSafely(`initialisation failed: ${detail}${hint}`);
      return;
    } finally {
      if (this.initializing === initializing) this.initializing = null;
    }
    if (this.client !== client) return;
    // Chromium or its page dying after start-up.
    client.pupBrowser?.on?.('disconnected', () => {
      if (this.client === client) this.recoverSafely('Chromium exited');
    });
    client.pupPage?.on?.('error', (err?: Error) => {
      if (this.client === client) this.recoverSafely(`WhatsApp Web page crashed: ${err?.message ?? 'unknown error'}`);
    });
    logger.debug('WhatsApp Web client initialised');
  }

  private listen(client: WwebClientLike): void {
    const { logger } = this.options;
    const mine = () => this.client === client && !this.closing;
    client.on('qr', (qr: string) => {
      if (!mine()) return;
      this.clearReadyTimer(); // waiting for a person, not for WhatsApp
      this.currentPairing = { qr, code: null, at: new Date() };
      this.qrCount++;
      this.awaitingSince ??= new Date();
      this.set('awaiting_qr', 'scan the QR code: WhatsApp > Linked devices > Link a device');
      // WhatsApp rotates the code about every 20 s; the service keeps waiting for a scan, with no limit.
      logger.info(
        { qr, codes: this.qrCount, waitingSince: this.awaitingSince },
        'WhatsApp pairing: scan this QR code with the phone (WhatsApp > Linked devices > Link a device); still waiting for a scan',
      );
      QRCode.toString(qr, { type: 'terminal', small: true })
        .then((picture) => (this.options.qrOutput ?? ((t) => process.stderr.write(t)))(`\n${picture}\n`))
        .catch((err: Error) => logger.warn({ err: err.message }, 'could not draw the QR code'));
    });
    client.on('code', (code: string) => {
      if (!mine()) return;
      this.clearReadyTimer();
      this.currentPairing = { qr: null, code, at: new Date() };
      this.set('awaiting_qr', `enter pairing code ${code} on the phone: WhatsApp > Linked devices > Link with phone number`);
      logger.info({ code }, 'WhatsApp pairing code');
    });
    client.on('authenticated', () => {
      if (!mine()) return;
      this.currentPairing = null;
      this.qrCount = 0;
      this.awaitingSince = null;
      this.set('authenticated');
      this.armReadyTimer();
    });
    client.on('auth_failure', (message: string) => {
      if (!mine()) return;
      logger.error({ reason: message }, 'WhatsApp session could not be restored; clearing it: scan a new QR code');
      this.recoverSafely(`authentication failed: ${message}`, true);
    });
    client.on('ready', () => {
      if (!mine()) return;
      this.clearReadyTimer();
      this.failures = 0;
      this.currentPairing = null;
      this.set('ready');
      void this.logWebVersion(client);
    });
    client.on('disconnected', (reason: string) => {
      if (!mine()) return;
      const ended = SESSION_ENDED.has(String(reason));
      this.set('disconnected', String(reason));
      if (ended) {
        logger.error({ reason }, `WhatsApp session ended (${reason}): the session was cleared; scan the new QR code to pair again`);
      }
      this.recoverSafely(`disconnected: ${reason}`, ended);
    });
    client.on('change_state', (state: string) => {
      if (mine()) logger.debug({ state }, 'WhatsApp Web connection state');
    });
    client.on('message_create', (message: unknown) => {
      if (mine() && isFromMe(message)) this.reportOwn(message, null);
    });
    client.on('message_ack', (message: unknown, ack: number) => {
      const id = messageIdOf(message);
      if (!id || typeof ack !== 'number') return;
      for (const listener of this.ackListeners) listener(id, ack);
      // The ack carries the message: it can confirm a send whose message_create was missed.
      if (isFromMe(message)) this.reportOwn(message, ack);
    });
  }

  private reportOwn(message: unknown, ack: number | null): void {
    if (this.ownListeners.size === 0) return;
    this.ownMessage(message, ack)
      .then((own) => {
        if (own) for (const listener of this.ownListeners) listener(own);
      })
      .catch((err: Error) => this.options.logger.debug({ err: err.message }, 'could not read an own message'));
  }

  /** An own message as the gateway matches it: id, chat (with its LID or phone alias), text. */
  private async ownMessage(message: unknown, ack: number | null): Promise<OwnMessage | null> {
    const messageId = messageIdOf(message);
    const chat = ownMessageChat(message);
    if (!messageId || !chat) return null;
    const chatIds = [chat];
    const alias = await this.aliasOf(chat);
    if (alias) chatIds.push(alias);
    return { messageId, chatIds, body: messageBody(message), at: new Date(), ack };
  }

  /** The phone-number chat of a LID chat, or the LID of a phone-number chat, where WhatsApp knows it. */
  private async aliasOf(chatId: string): Promise<string | null> {
    if (!/@(lid|c\.us)$/.test(chatId)) return null;
    if (this.aliases.has(chatId)) return this.aliases.get(chatId)!;
    const client = this.client;
    if (!client?.getContactLidAndPhone) return null;
    try {
      const [pair] = await client.getContactLidAndPhone([chatId]);
      if (pair?.lid && pair.pn) {
        this.aliases.set(pair.lid, pair.pn);
        this.aliases.set(pair.pn, pair.lid);
      }
    } catch (err) {
      this.options.logger.debug({ err: (err as Error).message, chatId }, 'could not resolve the LID and phone number of a chat');
    }
    return this.aliases.get(chatId) ?? null;
  }

  /** The WhatsApp Web build in use, logged once ready (with the pin, if any). */
  private async logWebVersion(client: WwebClientLike): Promise<void> {
    try {
      const version = (await client.getWWebVersion?.()) ?? null;
      if (this.client !== client) return;
      this.webVersion = version;
      const now = new Date().toISOString();
      const number = client.info?.wid?.user ?? null;
      this.number = number;
      await this.recorder.update({ webVersion: version, number, lastReadyAt: now, ...(this.pairedAt ? {} : { pairedAt: now }) });
      this.pairedAt ??= now;
      const pinned = this.options.webVersion ?? null;
      this.options.logger.info(
        { webVersion: version ?? 'unknown', pinned: pinned ?? 'unpinned' },
        pinned && version && version !== pinned ? `WhatsApp Web is ready on build ${version}, not the pinned ${pinned}` : `WhatsApp Web is ready (build ${version ?? 'unknown'})`,
      );
    } catch (err) {
      this.options.logger.debug({ err: (err as Error).message }, 'could not read the WhatsApp Web build');
    }
  }

  private recoverSafely(reason: string, clearSession = false): void {
    this.recover(reason, clearSession).catch((err: Error) => {
      this.recovering = false;
      this.scheduleRestart(`${reason}; recovery failed: ${err.message}`, 'failed');
    });
  }

  /** Destroys the current client and starts a new one after the backoff; clears the session first if asked. */
  private async recover(reason: string, clearSession = false): Promise<void> {
    if (this.closing || this.recovering) return;
    this.recovering = true;
    this.clearReadyTimer();
    const client = this.client;
    this.client = null;
    try {
      if (client) await this.destroyClient(client);
      if (clearSession) {
        this.pairedAt = null;
        this.number = null;
        await this.recorder.update({ pairedAt: null, number: null });
        await fs.rm(this.sessionDir, { recursive: true, force: true });
        await fs.mkdir(this.sessionDir, { recursive: true, mode: 0o700 });
        this.numberCache.clear();
      }
    } finally {
      this.recovering = false;
    }
    this.scheduleRestart(reason, 'reconnecting');
  }

  private scheduleRestart(reason: string, state: 'reconnecting' | 'failed'): void {
    if (this.closing) return;
    this.failures++;
    const ceiling = Math.min(this.options.reconnectMaxMs, this.options.reconnectBaseMs * 2 ** Math.min(this.failures - 1, 20));
    const delay = Math.round(ceiling * (0.8 + (this.options.random ?? Math.random)() * 0.2));
    this.set(state, `${reason} (attempt ${this.failures}; next try in ${delay} ms)`);
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      this.relaunch();
    }, delay);
  }

  private armReadyTimer(): void {
    this.clearReadyTimer();
    const client = this.client;
    this.readyTimer = setTimeout(() => {
      if (this.client === client) this.recoverSafely(`ready_timeout: WhatsApp Web was not ready within ${this.options.readyTimeoutMs} ms`);
    }, this.options.readyTimeoutMs);
  }

  private clearReadyTimer(): void {
    if (this.readyTimer) clearTimeout(this.readyTimer);
    this.readyTimer = null;
  }

  private clearTimers(): void {
    this.clearReadyTimer();
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
  }

  /**
   * client.destroy() closes Chromium once it is connected; a browser still launching, or one that
   * does not close, is killed with its process group.
   */
  private async destroyClient(client: WwebClientLike): Promise<void> {
    client.removeAllListeners();
    const pending = this.initializing;
    const destroy = async () => {
      await Promise.race([client.destroy(), new Promise((r) => setTimeout(r, DESTROY_TIMEOUT_MS))]).catch((err: Error) =>
        this.options.logger.debug({ err: err.message }, 'destroying the WhatsApp client failed; killing its browser'),
      );
    };
    await destroy();
    if (pending) {
      // Start-up under way: let it reach a point where the browser exists, then destroy again.
      await Promise.race([pending.catch(() => undefined), new Promise((r) => setTimeout(r, 5000))]);
      await destroy();
    }
    killBrowser(client);
  }
}

function killBrowser(client: WwebClientLike): void {
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
