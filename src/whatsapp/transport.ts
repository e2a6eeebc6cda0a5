/**
 * Transport v2: everything the service does with a WhatsApp number, whatever drives it. Implementations:
 * `wwebjs` (WhatsApp Web through whatsapp-web.js), `log` (a dry run that shows what it would send) and
 * `fake` (scriptable, for tests).
 *
 * - Out: `sendText` and `sendDocument`, each calling the caller's `handOver()` immediately before
 *   giving the message to WhatsApp, and resolving with its outcome (confirmed with WhatsApp's id, or
 *   unknown); a failure before the hand-over throws SendError.
 * - In: messages other people send to this number (`onInbound`), this number's own messages as
 *   WhatsApp reports them (`onOwnMessage`, how an unknown outcome is confirmed later), receipts
 *   (`onAck`).
 * - Pairing: QR codes and pairing codes as WhatsApp issues them (`onPairing`, `pairing()`).
 * - State: `status()` and `onStateChange`, each state with a reason and a time.
 * - Presence: `showTyping`, "typing…" in a chat for a while (best effort, never an error).
 * - Groups: `groups()`, the groups this number is in (or was, where WhatsApp still shows them), with
 *   whether it is an admin and whether only admins may write; `onGroupChange` as that changes.
 */

import { OperatorError } from '../lib/errors.js';

export type TransportState = 'starting' | 'awaiting_qr' | 'authenticated' | 'ready' | 'disconnected' | 'reconnecting' | 'failed';

export interface TransportStatus {
  state: TransportState;
  /** Why the transport is in this state (e.g. the network error while reconnecting). */
  reason: string | null;
  since: Date;
  /** After a failure: the attempt that failed, and the wait from `since` to the next. */
  retry?: { attempt: number; delayMs: number };
}

/**
 * What became of a message handed to WhatsApp. `confirmed`: WhatsApp gave its id. `unknown`: WhatsApp
 * Web took the message but no id came back (no id, an error or a timeout after the hand-over): it may
 * well have been delivered, so it is never sent again automatically; receipts confirm it later.
 * A send refused before the hand-over throws SendError instead.
 */
export type SendResult = { outcome: 'confirmed'; messageId: string } | { outcome: 'unknown'; reason: string };

/**
 * The caller's part in a send. The transport calls `handOver()` exactly once, immediately before it
 * gives the message to WhatsApp, and sends nothing if it throws (the caller no longer holds the
 * message). Anything thrown before that call is a failure before the hand-over.
 */
export interface SendHooks {
  handOver(): Promise<void>;
}

/** A file sent as a WhatsApp document (an Excel recap). */
export interface OutgoingDocument {
  bytes: Buffer;
  fileName: string;
  mimeType: string;
  /** Text shown with the document; none when empty. */
  caption?: string | null;
}

/** The caller refused the hand-over (e.g. its claim on the row lapsed): nothing was sent. */
export class HandOverRefused extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'HandOverRefused';
  }
}

/** A message this session sent, as WhatsApp reports it (own-message and ack events, chat lookups). */
export interface OwnMessage {
  messageId: string;
  /** The chat it is in, and the same chat under its other ids (a LID and the phone number) where known. */
  chatIds: string[];
  body: string;
  /** When this process heard of it (or its timestamp, for a lookup). */
  at: Date;
  /** Its ack level when the event was an ack; null otherwise. */
  ack: number | null;
}

/** A chat's own messages as read for settling an unknown outcome (Transport.readOwnMessages). */
export interface ChatHistory {
  /** This number's messages in the chat since the time asked for, in any ack state. */
  messages: OwnMessage[];
  /** The history read reaches back past that time (or is the whole chat): a message handed over after it and not here was not taken. */
  complete: boolean;
  /** What was looked at: the chat id read, how many own messages it gave, the oldest one's time, the limit asked for. */
  looked: { chatId: string; fetched: number; oldestAt: string | null; limit: number | null };
}

/** Media a message carries, described without downloading it. */
export interface InboundMedia {
  mimeType: string | null;
  fileName: string | null;
  /** Size in bytes, where WhatsApp says. */
  size: number | null;
}

/** A message someone sent to this number (in a personal chat or a group it is in). */
export interface InboundMessage {
  /** WhatsApp's id of the message (what it is stored once under). */
  messageId: string;
  /** The chat: the sender's for a personal message, the group's for a group message. */
  chatId: string;
  isGroup: boolean;
  /** Who sent it: the phone-number id where WhatsApp can tell, else the LID. */
  senderId: string;
  /** The sender's phone-number id (`…@c.us`) and LID (`…@lid`), each where known. */
  senderPhone: string | null;
  senderLid: string | null;
  /** The name the sender gave WhatsApp, where shown. */
  senderName: string | null;
  body: string;
  /** When it was sent (WhatsApp's timestamp). */
  sentAt: Date;
  media: InboundMedia | null;
  /** A status update (status@broadcast) rather than a message to this number. */
  isStatus: boolean;
}

/** Pairing as it happens: a QR code to scan (rotated every ~20 s), a pairing code to type, paired. */
export type PairingEvent =
  | { kind: 'qr'; qr: string; at: Date }
  | { kind: 'code'; code: string; at: Date }
  | { kind: 'paired'; at: Date };

/** The code waiting to be used, if any. */
export interface PairingInfo {
  qr: string | null;
  code: string | null;
  at: Date;
}

/** Pairing asked for at a moment it cannot happen (already paired, or WhatsApp Web not loaded yet). */
export class PairingUnavailable extends OperatorError {}

/**
 * A send that failed before the hand-over. `permanent` errors (invalid number, not on WhatsApp) are not
 * retried; `transient` ones (not connected, timeout) are retried with backoff.
 */
export class SendError extends Error {
  constructor(
    public readonly kind: 'transient' | 'permanent',
    /** Short machine-readable reason, e.g. not_on_whatsapp, not_ready, timeout. */
    public readonly reason: string,
    detail?: string,
  ) {
    super(detail ? `${reason}: ${detail}` : reason);
    this.name = 'SendError';
  }
}

/**
 * A group as this number sees it: whether it is a member (a group it left or was removed from, still
 * listed, is not), an admin, and whether only admins may send messages to it (WhatsApp's "announce").
 */
export interface GroupMembership {
  chatId: string;
  name: string | null;
  member: boolean;
  admin: boolean;
  adminsOnly: boolean;
}

export type StateListener = (status: TransportStatus) => void;
export type AckListener = (messageId: string, ack: number) => void;

export interface Transport {
  readonly name: string;
  /** A dry run: messages are shown, not sent (rows are marked so, and `outbox retry --dry-run` restores them). */
  readonly dryRun?: boolean;
  /** Begins connecting; resolves once started (not necessarily ready). Never throws for an unreachable WhatsApp. */
  start(): Promise<void>;
  status(): TransportStatus;
  isReady(): boolean;
  /** Subscribes to state changes; returns the unsubscribe function. */
  onStateChange(listener: StateListener): () => void;
  /**
   * Sends one text message to a chat id (`…@c.us`, `…@g.us`, `…@lid`): calls `hooks.handOver()` right
   * before the hand-over, then resolves with the outcome. Throws SendError for a failure before the
   * hand-over, and whatever `handOver()` threw.
   */
  sendText(chatId: string, text: string, hooks: SendHooks): Promise<SendResult>;
  /** Sends a file as a WhatsApp document, with the same hand-over contract as `sendText`. */
  sendDocument(chatId: string, document: OutgoingDocument, hooks: SendHooks): Promise<SendResult>;
  /** Whether a `…@c.us` number is on WhatsApp, where the transport can tell. */
  isRegistered?(chatId: string): Promise<boolean>;
  /**
   * Delivery receipts: WhatsApp's ack level for a sent message id (-1 error, 0 pending, 1 server,
   * 2 delivered to the device, 3 read, 4 played).
   */
  onAck(listener: AckListener): () => void;
  /** Messages this session sent, as WhatsApp reports them: how an unknown outcome is confirmed later. */
  onOwnMessage(listener: (message: OwnMessage) => void): () => void;
  /** Messages other people send to this number. */
  onInbound(listener: (message: InboundMessage) => void): () => void;
  /** QR codes and pairing codes as they are issued, and the moment the session is paired. */
  onPairing(listener: (event: PairingEvent) => void): () => void;
  /** The QR code or pairing code waiting to be used, if any. */
  pairing(): PairingInfo | null;
  /**
   * Links by phone number instead of a QR code: asks WhatsApp for a pairing code for this number (digits
   * with the country code), which also comes as a pairing event. Throws PairingUnavailable when the
   * session is not waiting to be paired.
   */
  requestPairingCode?(phone: string): Promise<string>;
  /** Unlinks the number: its login is cleared (WhatsApp Web: the auth profile) and a new QR code follows. */
  logout?(): Promise<void>;
  /**
   * The WhatsApp Web build and the paired number, where the transport knows them; for WhatsApp Web,
   * whether the page-side message-key fix is active (wwebjs/msgkey-fix.ts).
   */
  details?(): { webVersion: string | null; number: string | null; pageFix?: { state: string; detail: string; alias: string | null; build: string | null; at: string | null } | null };
  /**
   * This number's own messages in a chat since a time, from WhatsApp's own copy of the chat (any ack
   * state), and whether what was read reaches back past that time: how an unknown outcome is settled.
   * Throws when the chat cannot be read.
   */
  readOwnMessages?(chatId: string, since: Date): Promise<ChatHistory>;
  /** Since when the number is paired this time (a hand-over before it went out on another pairing). */
  pairedSince?(): Date | null;
  /**
   * Shows "typing…" in a chat (`…@c.us`, `…@g.us`, `…@lid`) for about `durationMs`, then clears it;
   * resolves when it is cleared. Best effort: never throws; a chat it cannot reach, or a transport not
   * ready, is logged at debug and it returns. When `signal` aborts it clears the state and returns early.
   */
  showTyping?(chatId: string, durationMs: number, signal?: AbortSignal): Promise<void>;
  /**
   * The groups this number's chats include, as WhatsApp Web lists them, once ready: each with whether the
   * number is still a member. Throws when the list cannot be read. A group a look-up could not settle is
   * left out (unknown), never listed as not a member.
   */
  groups?(): Promise<GroupMembership[]>;
  /** A group's membership as it changes (joined, left or removed, made or unmade admin, admins-only set). */
  onGroupChange?(listener: (group: GroupMembership) => void): () => void;
  close(): Promise<void>;
  /** Ends any helper process at once (for an exit that cannot wait for close). */
  kill?(): void;
}

/** State bookkeeping shared by the implementations: current status and change events. */
export class TransportStateHolder {
  private current: TransportStatus;
  private readonly listeners = new Set<StateListener>();

  constructor(initial: TransportState = 'starting', private readonly clock: () => Date = () => new Date()) {
    this.current = { state: initial, reason: null, since: clock() };
  }

  get status(): TransportStatus {
    return this.current;
  }

  /** Records a change and notifies listeners (a repeat of the same state and reason is ignored). */
  set(state: TransportState, reason: string | null = null, retry?: TransportStatus['retry']): boolean {
    if (state === this.current.state && reason === this.current.reason) return false;
    this.current = { state, reason, since: this.clock(), ...(retry ? { retry } : {}) };
    for (const listener of this.listeners) listener(this.current);
    return true;
  }

  subscribe(listener: StateListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/** Listeners of one kind of event. */
export class Listeners<T extends unknown[]> {
  private readonly set = new Set<(...args: T) => void>();

  add(listener: (...args: T) => void): () => void {
    this.set.add(listener);
    return () => this.set.delete(listener);
  }

  emit(...args: T): void {
    for (const listener of this.set) listener(...args);
  }

  get size(): number {
    return this.set.size;
  }
}

/** The bookkeeping every implementation shares: state, and the listeners of each event. */
export abstract class TransportBase {
  protected readonly state = new TransportStateHolder();
  protected readonly acks = new Listeners<[string, number]>();
  protected readonly own = new Listeners<[OwnMessage]>();
  protected readonly inbound = new Listeners<[InboundMessage]>();
  protected readonly pairings = new Listeners<[PairingEvent]>();
  protected currentPairing: PairingInfo | null = null;

  status(): TransportStatus {
    return this.state.status;
  }

  isReady(): boolean {
    return this.state.status.state === 'ready';
  }

  onStateChange(listener: StateListener): () => void {
    return this.state.subscribe(listener);
  }

  onAck(listener: AckListener): () => void {
    return this.acks.add(listener);
  }

  onOwnMessage(listener: (message: OwnMessage) => void): () => void {
    return this.own.add(listener);
  }

  onInbound(listener: (message: InboundMessage) => void): () => void {
    return this.inbound.add(listener);
  }

  onPairing(listener: (event: PairingEvent) => void): () => void {
    return this.pairings.add(listener);
  }

  pairing(): PairingInfo | null {
    return this.currentPairing;
  }
}
