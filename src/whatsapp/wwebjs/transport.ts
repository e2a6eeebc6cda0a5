/**
 * The WhatsApp Web transport (WA_TRANSPORT=wwebjs): whatsapp-web.js with LocalAuth
 * (clientId = WA_AUTH_PROFILE, the auth profile; dataPath = WA_AUTH_PATH, mode 0700), driving the system Chromium.
 * Put together from its parts, each in its own file:
 *
 * - lifecycle.ts: launching, ready, recovery with backoff, the profile lock, closing;
 * - pairing.ts: QR codes and pairing codes as events and states;
 * - sending.ts: text and documents, with the hand-over made exact;
 * - events.ts: own messages, receipts and incoming messages;
 * - typing.ts: "typing…" in a chat; chats.ts: finding a chat under its LID or phone number;
 * - groups.ts: the groups of this number (member, admin, admins-only) and their events;
 * - msgkey-fix.ts: the page-side fix for today's message keys, applied whenever the page is used;
 * - client.ts: the whatsapp-web.js Client as used here (stand-ins implement it in tests).
 *
 * Here: the state and its record on disk (profile-record.ts, for doctor), and what is learnt once ready
 * (the WhatsApp Web build, logged with its pin; the paired number). Client options that avoid known
 * failures: explicit `authTimeoutMs`, `takeoverOnConflict: false`, QR codes refreshed without an upper
 * bound; WA_WEB_VERSION pins the build. Starting never throws because WhatsApp is unreachable; it throws
 * only when another live process holds the same auth profile (profile-lock.ts).
 */
import { ProfileRecorder, readProfileRecord, profileRecordFile } from '../profile-record.js';
import { Listeners, PairingUnavailable, TransportBase, type ChatHistory, type GroupMembership, type OutgoingDocument, type PairingInfo, type SendHooks, type SendResult, type Transport, type TransportState, type TransportStatus } from '../transport.js';
import type { WwebClientLike } from './client.js';
import { MessageEvents } from './events.js';
import { GroupEvents } from './groups.js';
import { MsgKeyFix, type PageFixStatus } from './msgkey-fix.js';
import { ClientLifecycle } from './lifecycle.js';
import type { WhatsAppWebOptions } from './options.js';
import { Pairing } from './pairing.js';
import { Sender, classifySendError } from './sending.js';
import { Typing } from './typing.js';

/** How long a logout waits for WhatsApp Web to unlink the number before the auth profile is cleared anyway. */
const LOGOUT_WAIT_MS = 10_000;

export { classifySendError };
export { BASE_CHROMIUM_FLAGS, createWwebjsClient, type ClientFactory, type WwebClientLike, type WwebClientSettings } from './client.js';
export type { WhatsAppWebOptions } from './options.js';
export { MSGKEY_FIX_SOURCE, PAGE_FIX_WORDS, type PageFixState, type PageFixStatus } from './msgkey-fix.js';

export class WhatsAppWebTransport extends TransportBase implements Transport {
  readonly name = 'wwebjs';
  /** The WhatsApp Web build the page runs, once ready. */
  webVersion: string | null = null;
  /** The paired account's number (digits), once ready. */
  number: string | null = null;
  private pairedAt: string | null = null;
  private readonly recorder: ProfileRecorder;
  private readonly lifecycle: ClientLifecycle;
  private readonly pairingState: Pairing;
  private readonly messages: MessageEvents;
  private readonly sender: Sender;
  private readonly typing: Typing;
  private readonly pageFix: MsgKeyFix;
  private readonly groupChanges = new Listeners<[GroupMembership]>();
  private readonly groupEvents: GroupEvents;

  constructor(private readonly options: WhatsAppWebOptions) {
    super();
    this.recorder = new ProfileRecorder(profileRecordFile(options.authPath, options.authProfile));
    this.pageFix = new MsgKeyFix(options.logger, (status) => void this.recorder.update({ pageFix: status }), options.pageFix ?? true);
    const preparePage = (client: WwebClientLike) => this.pageFix.ensure(client);
    this.lifecycle = new ClientLifecycle(options, {
      setState: (state, reason, retry) => this.set(state, reason, retry),
      wire: (client) => {
        this.pairingState.wire(client);
        this.messages.wire(client, () => this.lifecycle.isCurrent(client));
        this.groupEvents.wire(client, () => this.lifecycle.isCurrent(client));
      },
      prepare: (client) => {
        const fixing = preparePage(client);
        return client.pupPage?.evaluate && options.pageFix !== false ? fixing.then(() => undefined) : null; // nothing to wait for
      },
      onReady: (client) => {
        this.pairingState.done();
        void this.learn(client);
      },
      onProfileCleared: async () => {
        this.pairedAt = null;
        this.number = null;
        this.sender.forgetNumbers();
        this.pageFix.reset();
        await this.recorder.update({ pairedAt: null, number: null });
      },
    });
    this.pairingState = new Pairing(
      {
        isCurrent: (client) => this.lifecycle.isCurrent(client),
        setState: (state, reason) => this.set(state, reason),
        emit: (event) => this.pairings.emit(event),
        pauseReadyTimer: () => this.lifecycle.pauseReadyTimer(),
        armReadyTimer: () => this.lifecycle.armReadyTimer(),
      },
      options.logger,
    );
    this.messages = new MessageEvents({ acks: this.acks, own: this.own, inbound: this.inbound }, () => this.lifecycle.client, options.logger);
    this.sender = new Sender({
      readyClient: () => (this.isReady() ? this.lifecycle.client : null),
      status: () => this.status(),
      ownMessage: (message, ack) => this.messages.ownMessage(message, ack),
      reportOwn: (message) => this.own.emit(message),
      aliasOf: (id) => this.messages.aliasOf(id),
      preparePage,
    });
    this.groupEvents = new GroupEvents(this.groupChanges, () => (this.isReady() ? this.lifecycle.client : null), (id) => this.messages.aliasOf(id), options.logger);
    this.typing = new Typing(
      { readyClient: () => (this.isReady() ? this.lifecycle.client : null), aliasOf: (id) => this.messages.aliasOf(id), preparePage },
      options.logger,
    );
  }

  override pairing(): PairingInfo | null {
    return this.pairingState.info;
  }

  details(): { webVersion: string | null; number: string | null; pageFix: PageFixStatus } {
    return { webVersion: this.webVersion, number: this.number, pageFix: this.pageFix.status };
  }

  async requestPairingCode(phone: string): Promise<string> {
    const client = this.lifecycle.client;
    const state = this.status().state;
    if (!client?.requestPairingCode || state !== 'awaiting_qr') {
      throw new PairingUnavailable(`a pairing code can be asked for only while the session waits to be paired (it is ${state})`);
    }
    return client.requestPairingCode(phone, true);
  }

  /** Unlinks the number (best effort on WhatsApp's side), clears the auth profile and starts again: a new QR code follows. */
  async logout(): Promise<void> {
    const client = this.lifecycle.client;
    if (client?.logout && this.isReady()) {
      await Promise.race([client.logout(), new Promise((r) => setTimeout(r, LOGOUT_WAIT_MS).unref())]).catch((err: Error) =>
        this.options.logger.warn({ err: err.message }, 'WhatsApp did not confirm the logout; the auth profile is cleared anyway'),
      );
    }
    this.options.logger.info('WhatsApp session logged out by an operator; a new QR code follows');
    this.lifecycle.recoverSafely('logged out by an operator', true);
  }

  /**
   * Prepares the auth profile's directory and starts connecting in the background. Throws only when
   * another live process uses this auth profile.
   */
  async start(): Promise<void> {
    this.pairedAt = (await readProfileRecord(profileRecordFile(this.options.authPath, this.options.authProfile)))?.pairedAt ?? null;
    await this.lifecycle.start();
  }

  sendText(chatId: string, text: string, hooks: SendHooks): Promise<SendResult> {
    return this.sender.sendText(chatId, text, hooks);
  }

  sendDocument(chatId: string, document: OutgoingDocument, hooks: SendHooks): Promise<SendResult> {
    return this.sender.sendDocument(chatId, document, hooks);
  }

  isRegistered(chatId: string): Promise<boolean> {
    return this.sender.isRegistered(chatId);
  }

  pairedSince(): Date | null {
    return this.pairedAt ? new Date(this.pairedAt) : null;
  }

  readOwnMessages(chatId: string, since: Date): Promise<ChatHistory> {
    return this.sender.readOwnMessages(chatId, since);
  }

  /** The groups of this number WhatsApp Web can tell about (throws when its chats cannot be listed). */
  groups(): Promise<GroupMembership[]> {
    return this.groupEvents.list();
  }

  onGroupChange(listener: (group: GroupMembership) => void): () => void {
    return this.groupChanges.add(listener);
  }

  /** "typing…" in a chat for about `durationMs`, then cleared (best effort; never throws). */
  showTyping(chatId: string, durationMs: number, signal?: AbortSignal): Promise<void> {
    return this.typing.show(chatId, durationMs, signal);
  }

  /** Destroys the client, also while it is still starting; no Chromium of ours is left running. */
  async close(): Promise<void> {
    await this.lifecycle.close();
    this.set('disconnected', 'closed');
    await this.recorder.flush();
  }

  kill(): void {
    this.lifecycle.kill();
  }

  private set(state: TransportState, reason: string | null = null, retry?: TransportStatus['retry']): void {
    if (this.state.set(state, reason, retry)) void this.recorder.update({ state, reason, since: this.status().since.toISOString() });
  }

  /** Once ready: the WhatsApp Web build (logged, with the pin) and the paired number, also on disk. */
  private async learn(client: WwebClientLike): Promise<void> {
    try {
      const version = (await client.getWWebVersion?.()) ?? null;
      if (!this.lifecycle.isCurrent(client)) return;
      const pinned = this.options.webVersion ?? null;
      this.options.logger.info(
        { webVersion: version ?? 'unknown', pinned: pinned ?? 'unpinned' },
        pinned && version && version !== pinned ? `WhatsApp Web is ready on build ${version}, not the pinned ${pinned}` : `WhatsApp Web is ready (build ${version ?? 'unknown'})`,
      );
      const now = new Date().toISOString();
      const number = client.info?.wid?.user ?? null;
      const firstPairing = this.pairedAt === null;
      this.pairedAt ??= now;
      this.number = number;
      this.webVersion = version;
      await this.recorder.update({ webVersion: version, number, lastReadyAt: now, ...(firstPairing ? { pairedAt: now } : {}) });
    } catch (err) {
      this.options.logger.debug({ err: (err as Error).message }, 'could not read the WhatsApp Web build');
    }
  }
}
