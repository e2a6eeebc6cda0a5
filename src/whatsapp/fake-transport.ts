/**
 * A scriptable stand-in for WhatsApp, for tests (WA_TRANSPORT=fake): it can delay sends, fail chosen
 * sends before the hand-over (transiently or permanently), take a message without giving its id back
 * (an unknown outcome, as today's WhatsApp Web does), and become not ready; tests make it report
 * receipts, own messages, incoming messages and pairing codes. Every message (text or document) handed
 * over is kept in `sends` and, when `sendLogFile` is set, appended to that file as one JSON line at the
 * moment of the hand-over (several processes may share it: it stands for WhatsApp's own record).
 * Every "typing…" shown is kept in `typing`, and lasts its duration (cut short by its signal) until it
 * is cleared (`endedAt`). Not ready, it shows no typing and reads no chat, as WhatsApp Web cannot.
 * Its groups are scripted (`setGroups`, `changeGroup`, `setGroupsUnreadable`); none by default.
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { createHash, randomUUID } from 'node:crypto';
import { sleep } from '../lib/sleep.js';
import {
  Listeners,
  PairingUnavailable,
  SendError,
  TransportBase,
  type InboundMessage,
  type OutgoingDocument,
  type ChatHistory,
  type GroupMembership,
  type OwnMessage,
  type PairingEvent,
  type SendHooks,
  type SendResult,
  type Transport,
} from './transport.js';

/** `ok`: confirmed with an id; `unknown`: handed over, no id back; `fail`: refused before the hand-over. */
export type FakeOutcome = 'ok' | 'unknown' | { fail: 'transient' | 'permanent'; reason: string };

export interface FakeSendCall {
  chatId: string;
  text: string;
  /** 1 for the first send to this chat id with this text, 2 for the next, … */
  attempt: number;
}

export interface FakeSend {
  chatId: string;
  /** The text, or for a document its caption (empty when none): what WhatsApp Web reports as its body. */
  text: string;
  /** Set for a document: what WhatsApp received (the sha256 of its bytes, lowercase hex). */
  document?: { fileName: string; mimeType: string; size: number; sha256: string; bytes: Buffer };
  messageId: string;
  outcome: 'ok' | 'unknown';
  at: Date;
  startedAt: number;
  endedAt: number;
}

/** A "typing…" the fake transport showed: the chat, for how long, when it began and when it was cleared (null while shown). */
export interface FakeTyping {
  chatId: string;
  durationMs: number;
  at: Date;
  endedAt: Date | null;
}

export interface FakeTransportOptions {
  /** Time each send takes after the hand-over (WhatsApp Web answering). */
  sendDelayMs?: number;
  /** Time each send takes before the hand-over (looking the number up). */
  handOverDelayMs?: number;
  sendLogFile?: string | null;
  ready?: boolean;
  /** The paired number it reports once ready. */
  number?: string;
  /**
   * Incoming messages to deliver once started (JSON lines of InboundMessage, `sentAt` as ISO text), one
   * every `inboundIntervalMs`: as WhatsApp delivers what arrived while the service was away, again at
   * every start.
   */
  inboundFile?: string | null;
  inboundIntervalMs?: number;
  /** Decides each send's outcome; default: every send is confirmed. */
  behaviour?: (call: FakeSendCall) => FakeOutcome | Promise<FakeOutcome>;
}

export class FakeTransport extends TransportBase implements Transport {
  readonly name = 'fake';
  readonly sends: FakeSend[] = [];
  /** Every showTyping call, in order. */
  readonly typing: FakeTyping[] = [];
  /** Most sends ever in progress at once (the dispatcher must keep this at 1). */
  maxConcurrentSends = 0;
  private inFlight = 0;
  private readonly attempts = new Map<string, number>();
  /** How many times it was logged out (tests read it). */
  logouts = 0;
  private readonly unreadableChats = new Set<string>();
  private readonly groupList = new Map<string, GroupMembership>();
  private groupsUnreadable = false;
  private readonly groupChanges = new Listeners<[GroupMembership]>();

  constructor(private readonly options: FakeTransportOptions = {}) {
    super();
  }

  async start(): Promise<void> {
    this.state.set(this.options.ready === false ? 'disconnected' : 'ready', this.options.ready === false ? 'fake: not ready' : null);
    if (this.options.inboundFile) void this.deliverInboundFile(this.options.inboundFile, this.options.inboundIntervalMs ?? 10);
  }

  private async deliverInboundFile(file: string, intervalMs: number): Promise<void> {
    const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
    for (const line of lines) {
      if (this.status().state === 'disconnected' && this.status().reason === 'closed') return;
      const m = JSON.parse(line) as InboundMessage & { sentAt: string };
      this.emitInbound({ ...m, sentAt: new Date(m.sentAt) });
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }

  /** Makes the transport ready or not, as WhatsApp connecting or dropping would. */
  setReady(ready: boolean, reason: string | null = null): void {
    this.state.set(ready ? 'ready' : 'disconnected', ready ? null : (reason ?? 'fake: not ready'));
  }

  /** Delivers a receipt for a sent message, as WhatsApp's message_ack would. */
  emitAck(messageId: string, ack: number): void {
    this.acks.emit(messageId, ack);
  }

  /** Reports a message of this session, as WhatsApp's message_create would. */
  emitOwnMessage(message: Omit<OwnMessage, 'at' | 'ack'> & { ack?: number | null }): void {
    this.own.emit({ ...message, at: new Date(), ack: message.ack ?? null });
  }

  /** Delivers a message someone sent to this number, as WhatsApp's message event would. */
  emitInbound(message: InboundMessage): void {
    this.inbound.emit(message);
  }

  /** Issues a QR or pairing code (the session then waits to be paired), or pairs (ready), as WhatsApp would. */
  emitPairing(event: PairingEvent): void {
    this.currentPairing = event.kind === 'paired' ? null : { qr: event.kind === 'qr' ? event.qr : null, code: event.kind === 'code' ? event.code : null, at: event.at };
    if (event.kind === 'paired') this.state.set('ready');
    else this.state.set('awaiting_qr', event.kind === 'qr' ? 'scan the QR code' : 'enter the pairing code on the phone');
    this.pairings.emit(event);
  }

  /** Once ready, a stand-in number and build, as WhatsApp Web reports them. */
  details(): { webVersion: string | null; number: string | null } {
    return this.isReady() ? { webVersion: 'stand-in', number: this.options.number ?? '6281100000000' } : { webVersion: null, number: null };
  }

  /** A pairing code for the number, as WhatsApp gives one while the session waits to be paired. */
  async requestPairingCode(phone: string): Promise<string> {
    if (this.status().state !== 'awaiting_qr') throw new PairingUnavailable(`a pairing code can be asked for only while the session waits to be paired (it is ${this.status().state})`);
    const code = `FAKE${phone.slice(-4)}`;
    this.emitPairing({ kind: 'code', code, at: new Date() });
    return code;
  }

  /** Unlinks: a new QR code follows, as after a logout on WhatsApp. */
  async logout(): Promise<void> {
    this.logouts++;
    this.emitPairing({ kind: 'qr', qr: `fake-qr-after-logout-${this.logouts}`, at: new Date() });
  }

  /**
   * The messages handed over to this chat since a time (this process's and, with a send log, every
   * process's), as WhatsApp's own copy of the chat; the whole history is read, so it is complete.
   * `setChatUnreadable` makes a chat's history throw, as a page that cannot look it up does; not ready,
   * every chat's does, as WhatsApp Web's would (not_ready).
   */
  async readOwnMessages(chatId: string, since: Date): Promise<ChatHistory> {
    if (!this.isReady()) throw new SendError('transient', 'not_ready', `the fake transport cannot read ${chatId}: it is not ready`);
    if (this.unreadableChats.has(chatId)) throw new Error(`r: r (the fake transport cannot read ${chatId})`);
    const logged = this.options.sendLogFile && existsSync(this.options.sendLogFile)
      ? readFileSync(this.options.sendLogFile, 'utf8').split('\n').slice(0, -1).map((l) => JSON.parse(l) as { chatId: string; messageId: string; text: string; at: string })
      : this.sends.map((s) => ({ chatId: s.chatId, messageId: s.messageId, text: s.text, at: s.at.toISOString() }));
    const inChat = logged.filter((s) => s.chatId === chatId);
    const messages = inChat
      .filter((s) => Date.parse(s.at) >= since.getTime())
      .map((s) => ({ messageId: s.messageId, chatIds: [s.chatId], body: s.text, at: new Date(s.at), ack: 1 }));
    return { messages, complete: true, looked: { chatId, fetched: inChat.length, oldestAt: inChat[0]?.at ?? null, limit: null } };
  }

  /** Makes a chat's history unreadable (true) or readable again (false). */
  setChatUnreadable(chatId: string, unreadable = true): void {
    if (unreadable) this.unreadableChats.add(chatId);
    else this.unreadableChats.delete(chatId);
  }

  /** The groups this number's chats include (replacing the list; no event, as when WhatsApp Web loads them). */
  setGroups(groups: GroupMembership[]): void {
    this.groupList.clear();
    for (const group of groups) this.groupList.set(group.chatId, group);
  }

  /** A group's membership changes (joined, left, made admin, admins-only), reported as WhatsApp's group events are. */
  changeGroup(group: GroupMembership): void {
    this.groupList.set(group.chatId, group);
    this.groupChanges.emit(group);
  }

  /** Makes the group list throw (true), as a page whose look-ups fail does, or readable again. */
  setGroupsUnreadable(unreadable = true): void {
    this.groupsUnreadable = unreadable;
  }

  /** The scripted groups; not ready or unreadable, it throws. */
  async groups(): Promise<GroupMembership[]> {
    if (!this.isReady()) throw new SendError('transient', 'not_ready', 'the fake transport cannot list its groups: it is not ready');
    if (this.groupsUnreadable) throw new Error('r: r (the fake transport cannot list its groups)');
    return [...this.groupList.values()].map((g) => ({ ...g }));
  }

  onGroupChange(listener: (group: GroupMembership) => void): () => void {
    return this.groupChanges.add(listener);
  }

  setBehaviour(behaviour: FakeTransportOptions['behaviour']): void {
    this.options.behaviour = behaviour;
  }

  async sendText(chatId: string, text: string, hooks: SendHooks): Promise<SendResult> {
    return this.send(chatId, text, null, hooks);
  }

  /** As WhatsApp Web does (whatsapp-web.js: a media message's body is its caption, else ''), the caption is its text. */
  async sendDocument(chatId: string, document: OutgoingDocument, hooks: SendHooks): Promise<SendResult> {
    return this.send(chatId, document.caption ?? '', document, hooks);
  }

  private async send(chatId: string, text: string, document: OutgoingDocument | null, hooks: SendHooks): Promise<SendResult> {
    this.inFlight++;
    this.maxConcurrentSends = Math.max(this.maxConcurrentSends, this.inFlight);
    const startedAt = performance.now();
    try {
      if (!this.isReady()) throw new SendError('transient', 'not_ready', 'fake transport is not ready');
      const key = `${chatId}\u0000${document ? `document:${document.fileName}\u0000` : ''}${text}`;
      const attempt = (this.attempts.get(key) ?? 0) + 1;
      this.attempts.set(key, attempt);
      const outcome = (await this.options.behaviour?.({ chatId, text, attempt })) ?? 'ok';
      if (typeof outcome === 'object') throw new SendError(outcome.fail, outcome.reason, 'fake transport scripted failure');
      if (this.options.handOverDelayMs) await new Promise((r) => setTimeout(r, this.options.handOverDelayMs));
      await hooks.handOver();
      const messageId = `fake-${randomUUID()}`;
      const at = new Date();
      const file = document
        ? { fileName: document.fileName, mimeType: document.mimeType, size: document.bytes.length, sha256: createHash('sha256').update(document.bytes).digest('hex') }
        : undefined;
      if (this.options.sendLogFile) {
        appendFileSync(this.options.sendLogFile, `${JSON.stringify({ pid: process.pid, chatId, messageId, text, document: file, outcome, at: at.toISOString() })}\n`);
      }
      const send: FakeSend = {
        chatId,
        text,
        ...(document && file ? { document: { ...file, bytes: document.bytes } } : {}),
        messageId,
        outcome,
        at,
        startedAt,
        endedAt: startedAt,
      };
      this.sends.push(send);
      if (this.options.sendDelayMs) await new Promise((r) => setTimeout(r, this.options.sendDelayMs));
      send.endedAt = performance.now();
      if (outcome === 'unknown') return { outcome: 'unknown', reason: 'no_message_id: the fake transport kept the id back' };
      return { outcome: 'confirmed', messageId };
    } finally {
      this.inFlight--;
    }
  }

  /**
   * Records the call, waits its duration (returning early, without an error, when the signal aborts),
   * then clears it. Not ready, it shows nothing and returns at once, as WhatsApp Web's does.
   */
  async showTyping(chatId: string, durationMs: number, signal?: AbortSignal): Promise<void> {
    if (!this.isReady()) return;
    const shown: FakeTyping = { chatId, durationMs, at: new Date(), endedAt: null };
    this.typing.push(shown);
    await sleep(Math.max(0, durationMs), signal).catch(() => undefined);
    shown.endedAt = new Date();
  }

  async close(): Promise<void> {
    this.state.set('disconnected', 'closed');
  }
}
