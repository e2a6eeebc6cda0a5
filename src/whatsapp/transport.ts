/**
 * The Transport interface: how the dispatcher hands a message to WhatsApp. Implementations:
 * `log` (dry run), `fake` (scriptable, for tests) and `wwebjs` (WhatsApp Web).
 */

export type TransportState = 'starting' | 'awaiting_qr' | 'authenticated' | 'ready' | 'disconnected' | 'reconnecting' | 'failed';

export interface TransportStatus {
  state: TransportState;
  /** Why the transport is in this state (e.g. the network error while reconnecting). */
  reason: string | null;
  since: Date;
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

export type StateListener = (status: TransportStatus) => void;

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
  /** Whether a `…@c.us` number is on WhatsApp, where the transport can tell. */
  isRegistered?(chatId: string): Promise<boolean>;
  /**
   * Delivery receipts, where the transport has them: WhatsApp's ack level for a sent message id
   * (-1 error, 0 pending, 1 server, 2 delivered to the device, 3 read, 4 played).
   */
  onAck?(listener: (messageId: string, ack: number) => void): () => void;
  /** Messages this session sent, as WhatsApp reports them: how an unknown outcome is confirmed later. */
  onOwnMessage?(listener: (message: OwnMessage) => void): () => void;
  /** This session's recent messages in a chat since a time, where the transport can look (best effort). */
  findOwnMessages?(chatId: string, since: Date): Promise<OwnMessage[]>;
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

  /** Records a change and notifies listeners; a repeat of the same state and reason is ignored. */
  set(state: TransportState, reason: string | null = null): boolean {
    if (state === this.current.state && reason === this.current.reason) return false;
    this.current = { state, reason, since: this.clock() };
    for (const listener of this.listeners) listener(this.current);
    return true;
  }

  subscribe(listener: StateListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/** The status part of a Transport, for implementations to extend. */
export abstract class TransportWithState {
  protected readonly state = new TransportStateHolder();

  status(): TransportStatus {
    return this.state.status;
  }

  isReady(): boolean {
    return this.state.status.state === 'ready';
  }

  onStateChange(listener: StateListener): () => void {
    return this.state.subscribe(listener);
  }
}
