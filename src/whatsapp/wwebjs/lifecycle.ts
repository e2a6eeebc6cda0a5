/**
 * The life of the whatsapp-web.js client: launching it on the system Chromium, noticing when it is
 * ready or gone, and one recovery path for every failure.
 *
 * - States: starting → (pairing, see pairing.ts) → ready; disconnected, reconnecting, failed; each with
 *   a reason and a time. Ready only after the client's `ready` event (listened to with `on`: it fires
 *   again after a reconnect).
 * - Recovery: an initialisation failure, a disconnect, a browser or page crash, or a ready timeout
 *   destroys the client (no Chromium left behind) and starts a new one after a capped exponential
 *   backoff. LOGOUT, UNPAIRED or CONFLICT (and a login that cannot be restored) clear the auth
 *   profile's directory and wait for a new pairing.
 * - The ready timer runs from launch and again after authentication; it is paused while a person has
 *   to scan a code.
 * - `close()`: no more restarts; destroys the client, also one still starting.
 * - WA_AUTH_STORE=postgres: the login kept in PostgreSQL is restored before the first launch, saved
 *   while ready and after Chromium closed, removed when the login ends (stored-login.ts).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { backoffDelay } from '../../lib/backoff.js';
import type { TransportState, TransportStatus } from '../transport.js';
import { AuthStoreKeyError } from './auth-store.js';
import { CHROMIUM_INSTALL_HINT, findChromium } from './chromium.js';
import { BASE_CHROMIUM_FLAGS, createWwebjsClient, destroyClient, killBrowser, type ClientFactory, type WwebClientLike } from './client.js';
import { ProfileInUseError, clearStaleProfileLock, recordProfileOwner } from './profile-lock.js';
import type { WhatsAppWebOptions } from './options.js';
import { StoredLogin } from './stored-login.js';

/** Disconnect reasons that mean the login itself is gone: clear the auth profile and pair again. */
const LOGIN_ENDED = new Set(['LOGOUT', 'UNPAIRED', 'UNPAIRED_IDLE', 'CONFLICT']);

export interface LifecycleHooks {
  setState(state: TransportState, reason: string | null, retry?: TransportStatus['retry']): void;
  /** A new client: the other parts wire their events (each checks `isCurrent(client)`). */
  wire(client: WwebClientLike): void;
  /**
   * The client says it is ready: what must be done to its page before anything is sent (bounded, never
   * throws); null when there is nothing to wait for.
   */
  prepare(client: WwebClientLike): Promise<void> | null;
  /** The client became ready. */
  onReady(client: WwebClientLike): void;
  /** The auth profile was cleared (logged out, unpaired): forget what belonged to its login. */
  onProfileCleared(): Promise<void>;
}

export class ClientLifecycle {
  private current: WwebClientLike | null = null;
  private initializing: Promise<void> | null = null;
  /** Clients being destroyed (by close() or a recovery), until their browser is gone. */
  private readonly dying = new Map<WwebClientLike, Promise<void>>();
  private closing = false;
  private recovering = false;
  private failures = 0;
  private readyTimer: NodeJS.Timeout | null = null;
  private restartTimer: NodeJS.Timeout | null = null;
  private readonly factory: ClientFactory;
  /** WA_AUTH_STORE=postgres: the login kept in PostgreSQL; null for `local`. */
  private readonly stored: StoredLogin | null;
  /** LocalAuth's directory of the auth profile: the login and Chromium's profile. */
  readonly profileDir: string;
  /** Who runs Chromium on this profile: this process, recorded before each launch (see profile-lock.ts). */
  private readonly ownerFile: string;

  constructor(
    private readonly options: WhatsAppWebOptions,
    private readonly hooks: LifecycleHooks,
  ) {
    this.profileDir = path.join(options.authPath, `session-${options.authProfile}`);
    this.ownerFile = path.join(options.authPath, `session-${options.authProfile}.owner`);
    this.factory = options.clientFactory ?? createWwebjsClient;
    this.stored = options.authStore ? new StoredLogin(options.authStore, options.authStoreSaveMs ?? 300_000, options.logger) : null;
  }

  /** The client in use, if any. */
  get client(): WwebClientLike | null {
    return this.current;
  }

  /** Whether events from this client still count (it was not replaced, the transport is not closing). */
  isCurrent(client: WwebClientLike): boolean {
    return this.current === client && !this.closing;
  }

  /**
   * Prepares the auth profile's directory and starts connecting in the background. Throws only when
   * another live process uses this auth profile.
   */
  async start(): Promise<void> {
    // Only the auth directories are private; parents keep their modes.
    await fs.mkdir(path.dirname(this.options.authPath), { recursive: true });
    await fs.mkdir(this.options.authPath, { recursive: true, mode: 0o700 });
    await fs.chmod(this.options.authPath, 0o700);
    await fs.mkdir(this.profileDir, { recursive: true, mode: 0o700 });
    await this.clearLock();
    await recordProfileOwner(this.ownerFile);
    this.relaunch();
  }

  /** Resolves once every browser of this lifecycle is gone: the current one, and one a recovery is still destroying. */
  async close(): Promise<void> {
    this.closing = true;
    this.clearTimers();
    const client = this.current;
    this.current = null;
    this.stored?.stop();
    if (client) await this.destroy(client);
    await Promise.all([...this.dying.values()]);
    await this.stored?.closed();
  }

  /** Kills every browser of this lifecycle at once: the current one and any still being destroyed. */
  kill(): void {
    this.closing = true;
    this.clearTimers();
    this.stored?.stop(); // no more saves from a killed session
    if (this.current) killBrowser(this.current);
    for (const client of this.dying.keys()) killBrowser(client);
  }

  /** Destroys a client, known as dying until it is gone (kill() reaches it, close() waits for it). */
  private destroy(client: WwebClientLike): Promise<void> {
    const destroying = destroyClient(client, this.initializing, this.options.logger).finally(() => this.dying.delete(client));
    this.dying.set(client, destroying);
    return destroying;
  }

  /** A person has to scan or type a code: the ready timer waits. */
  pauseReadyTimer(): void {
    if (this.readyTimer) clearTimeout(this.readyTimer);
    this.readyTimer = null;
  }

  armReadyTimer(): void {
    this.pauseReadyTimer();
    const client = this.current;
    this.readyTimer = setTimeout(() => {
      if (this.current === client) this.recoverSafely(`ready_timeout: WhatsApp Web was not ready within ${this.options.readyTimeoutMs} ms`);
    }, this.options.readyTimeoutMs);
  }

  /** Destroys the client and starts a new one after the backoff (clearing the auth profile first, if asked). */
  recoverSafely(reason: string, clearProfile = false): void {
    this.recover(reason, clearProfile).catch((err: Error) => {
      this.recovering = false;
      this.scheduleRestart(`${reason}; recovery failed: ${err.message}`, 'failed');
    });
  }

  private async clearLock(): Promise<void> {
    const found = await clearStaleProfileLock(this.profileDir, this.ownerFile);
    if (found.state === 'stale') this.options.logger.warn({ owner: found.owner }, 'removed a stale Chromium profile lock from the WhatsApp auth profile');
    if (found.state === 'orphan') {
      this.options.logger.warn({ pid: found.pid }, 'ended a Chromium left running on the WhatsApp auth profile by a service process that died');
    }
  }

  /** Launches in the background; anything unexpected becomes a failed state and a later retry, never a crash. */
  private relaunch(): void {
    this.launch().catch((err: Error) => this.scheduleRestart(`start failed: ${err.message}`, 'failed'));
  }

  private async launch(): Promise<void> {
    if (this.closing) return;
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
    if (this.stored && !this.stored.restored) {
      this.hooks.setState('starting', 'restoring the WhatsApp login from PostgreSQL (WA_AUTH_STORE=postgres)');
      try {
        await this.stored.restore();
      } catch (err) {
        const message = (err as Error).message;
        if (err instanceof AuthStoreKeyError) this.options.logger.error(message);
        return this.scheduleRestart(err instanceof AuthStoreKeyError ? message : `restoring the WhatsApp login from PostgreSQL failed: ${message}`, 'failed');
      }
      if (this.closing) return;
    }

    this.hooks.setState('starting', `launching ${chromium.path}`);
    const client = this.factory({
      authPath: this.options.authPath,
      authProfile: this.options.authProfile,
      executablePath: chromium.path,
      args: [...BASE_CHROMIUM_FLAGS, ...this.options.puppeteerArgs],
      pairPhone: this.options.pairPhone,
      webCacheDir: path.join(this.options.authPath, 'web-cache'),
      authTimeoutMs: this.options.authTimeoutMs ?? 60_000,
      webVersion: this.options.webVersion ?? null,
      webVersionUrl: this.options.webVersionUrl ?? null,
    });
    this.current = client;
    this.listen(client);
    this.hooks.wire(client);
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
      if (this.current === client) this.recoverSafely(`initialisation failed: ${detail}${hint}`);
      return;
    } finally {
      if (this.initializing === initializing) this.initializing = null;
    }
    if (this.current !== client) return;
    // Chromium or its page dying after start-up.
    client.pupBrowser?.on?.('disconnected', () => {
      if (this.current === client) this.recoverSafely('Chromium exited');
    });
    client.pupPage?.on?.('error', (err?: Error) => {
      if (this.current === client) this.recoverSafely(`WhatsApp Web page crashed: ${err?.message ?? 'unknown error'}`);
    });
    this.options.logger.debug('WhatsApp Web client initialised');
  }

  /** The client's own life: ready, a login that cannot be restored, disconnects. */
  private listen(client: WwebClientLike): void {
    const { logger } = this.options;
    const mine = () => this.isCurrent(client);
    client.on('auth_failure', (message: string) => {
      if (!mine()) return;
      logger.error({ reason: message }, 'the WhatsApp login kept in the auth profile could not be restored; clearing it: pair again');
      this.recoverSafely(`authentication failed: ${message}`, true);
    });
    // whatsapp-web.js emits ready after each injection of its code (start, reload, reconnect): the
    // page is prepared (the message-key fix) before the session counts as ready.
    client.on('ready', () => {
      if (!mine()) return;
      this.pauseReadyTimer();
      const ready = () => {
        if (!mine()) return;
        this.failures = 0;
        this.stored?.ready();
        this.hooks.setState('ready', null);
        this.hooks.onReady(client);
      };
      const preparing = this.hooks.prepare(client);
      if (preparing) void preparing.then(ready);
      else ready();
    });
    client.on('disconnected', (reason: string) => {
      if (!mine()) return;
      const ended = LOGIN_ENDED.has(String(reason));
      this.hooks.setState('disconnected', String(reason));
      if (ended) logger.error({ reason }, `WhatsApp ended the login (${reason}): the auth profile was cleared; pair again (a new QR code follows)`);
      this.recoverSafely(`disconnected: ${reason}`, ended);
    });
    client.on('change_state', (state: string) => {
      if (mine()) logger.debug({ state }, 'WhatsApp Web connection state');
    });
  }

  private async recover(reason: string, clearProfile: boolean): Promise<void> {
    if (this.closing || this.recovering) return;
    this.recovering = true;
    this.pauseReadyTimer();
    const client = this.current;
    this.current = null;
    try {
      if (client) await this.destroy(client);
      if (clearProfile) {
        await this.hooks.onProfileCleared();
        await this.stored?.cleared();
        await fs.rm(this.profileDir, { recursive: true, force: true });
        await fs.mkdir(this.profileDir, { recursive: true, mode: 0o700 });
      }
    } finally {
      this.recovering = false;
    }
    this.scheduleRestart(reason, 'reconnecting');
  }

  private scheduleRestart(reason: string, state: 'reconnecting' | 'failed'): void {
    if (this.closing) return;
    this.failures++;
    const delay = backoffDelay(this.failures, { baseMs: this.options.reconnectBaseMs, maxMs: this.options.reconnectMaxMs, jitter: 0.2 }, this.options.random);
    this.hooks.setState(state, `${reason} (attempt ${this.failures}; next try in ${delay} ms)`, { attempt: this.failures, delayMs: delay });
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      this.relaunch();
    }, delay);
  }

  private clearTimers(): void {
    this.pauseReadyTimer();
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
  }
}
