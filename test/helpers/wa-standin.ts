/**
 * Stand-ins for whatsapp-web.js's Client that behave like today's WhatsApp Web (builds from July 2026
 * on), bugs included, behind the transport's ClientFactory seam:
 *
 * - `sendMessage` takes the message and resolves `undefined` (the message key's `_serialized` was
 *   renamed `$1`, so the library's lookup of the sent message fails: whatsapp-web.js #201857);
 * - `message_create` for the sent message arrives a little later, its key shaped `{ …, $1 }`;
 * - then `message_ack` 1, 2, 3 with the same key shape;
 * - a contact with a LID may have the sent message filed under the LID (#201839);
 * - chats: `getChatById` of a phone number filed under a LID throws "No LID for user" (#19551), as it
 *   may for chosen ids (`chatLookupThrows`, e.g. a LID: #201834); an unknown chat resolves undefined; a
 *   chat's `sendStateTyping` and `clearState` resolve at once and are recorded (`chatStates`).
 *
 * Every hand-over is counted by the stand-in itself (`handOvers`), and can be appended to a file
 * shared between processes.
 */
import { appendFileSync } from 'node:fs';
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { WhatsAppWebTransport, type WwebClientLike, type WwebClientSettings } from '../../src/whatsapp/wwebjs/transport.js';
import type { WwebChatLike } from '../../src/whatsapp/wwebjs/client.js';
import type { Logger } from '../../src/lib/logger.js';

export interface StandInMessage {
  id: { fromMe: boolean; remote: string; id: string; $1?: string; _serialized?: string };
  fromMe: boolean;
  to: string;
  from: string;
  body: string;
  timestamp: number;
  ack: number;
}

export interface StandInBehaviour {
  /** What sendMessage resolves to: `undefined` (today), the message (older builds), or never. */
  resolveWith?: 'undefined' | 'message' | 'never';
  /** Milliseconds before sendMessage resolves. */
  resolveAfterMs?: number;
  /** Emit message_create after this many ms (null: never). */
  createAfterMs?: number | null;
  /** Acks emitted after message_create, each `ackStepMs` apart (e.g. [1, 2, 3]; [-1] for a send error). */
  acks?: (handOver: number, text: string) => number[];
  ackStepMs?: number;
  /** The key's shape: `$1` (today) or `_serialized` (older builds). */
  keyShape?: '$1' | '_serialized';
  /** Phone-number chats WhatsApp files under a LID instead: pn → lid. */
  lids?: Map<string, string>;
  /** File each hand-over is appended to (JSON line with pid, chatId, text). */
  handOverLog?: string;
  /** Chat ids getChatById throws "No LID for user" for (besides phone numbers filed under a LID). */
  chatLookupThrows?: string[];
  /** Chat ids WhatsApp Web has no chat for: getChatById resolves undefined. */
  unknownChats?: string[];
  /** Makes sendStateTyping fail as a closed page would. */
  typingFails?: boolean;
}

/** A chat state the stand-in's chats were told to show, as WhatsApp would relay it. */
export interface StandInChatState {
  chatId: string;
  state: 'typing' | 'stop';
  at: number;
}

export class TodaysWhatsAppWebStandIn extends EventEmitter implements WwebClientLike {
  static readonly ME = '6280000000001@c.us';
  /** Hand-overs per text, by the stand-in's own count. */
  readonly handOvers = new Map<string, number>();
  readonly created: StandInMessage[] = [];
  /** Every getChatById call, in order. */
  readonly chatLookups: string[] = [];
  /** Every sendStateTyping ("typing") and clearState ("stop") of its chats, in order. */
  readonly chatStates: StandInChatState[] = [];
  destroyed = 0;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    readonly settings: WwebClientSettings,
    private readonly behaviour: StandInBehaviour = {},
  ) {
    super();
  }

  async initialize(): Promise<void> {}

  async destroy(): Promise<void> {
    this.destroyed++;
    for (const t of this.timers) clearTimeout(t);
  }

  async getNumberId(number: string): Promise<{ _serialized: string } | null> {
    return { _serialized: number };
  }

  async getWWebVersion(): Promise<string> {
    return '2.3000.1043280533';
  }

  async getContactLidAndPhone(userIds: string[]): Promise<Array<{ lid?: string; pn?: string }>> {
    const lids = this.behaviour.lids ?? new Map<string, string>();
    return userIds.map((id) => {
      for (const [pn, lid] of lids) if (id === pn || id === lid) return { lid, pn };
      return {};
    });
  }

  /** A chat as whatsapp-web.js gives it: findOrCreateLatestChat's "No LID for user" included. */
  async getChatById(chatId: string): Promise<WwebChatLike | undefined> {
    this.chatLookups.push(chatId);
    const b = this.behaviour;
    // WhatsApp Web's own error, as whatsapp-web.js passes it on (its text is sometimes one minified letter).
    if (b.lids?.has(chatId) || b.chatLookupThrows?.includes(chatId)) throw new Error('No LID for user');
    if (b.unknownChats?.includes(chatId)) return undefined;
    const record = (state: StandInChatState['state']) => this.chatStates.push({ chatId, state, at: performance.now() });
    return {
      id: { _serialized: chatId },
      fetchMessages: async ({ limit = 50, fromMe }) => this.created.filter((m) => m.id.remote === chatId && (fromMe === undefined || m.fromMe === fromMe)).slice(-limit),
      sendStateTyping: async () => {
        if (b.typingFails) throw new Error('Protocol error (Runtime.callFunctionOn): Session closed. Most likely the page has been closed.');
        record('typing');
        return true;
      },
      clearState: async () => {
        record('stop');
        return true;
      },
    };
  }

  get totalHandOvers(): number {
    return [...this.handOvers.values()].reduce((a, b) => a + b, 0);
  }

  /** Text, or a MessageMedia sent with its caption: WhatsApp Web reports a media message's caption as its body ('' without one). */
  async sendMessage(chatId: string, content: unknown, options: { caption?: string } = {}): Promise<unknown> {
    const text = typeof content === 'string' ? content : (options.caption ?? '');
    const b = this.behaviour;
    const count = (this.handOvers.get(text) ?? 0) + 1;
    this.handOvers.set(text, count);
    if (b.handOverLog) appendFileSync(b.handOverLog, `${JSON.stringify({ pid: process.pid, chatId, text })}\n`);
    const filedUnder = b.lids?.get(chatId) ?? chatId;
    const key = randomBytes(10).toString('hex').toUpperCase();
    const serialized = `true_${filedUnder}_3EB0${key}`;
    const message: StandInMessage = {
      id: b.keyShape === '_serialized'
        ? { fromMe: true, remote: filedUnder, id: `3EB0${key}`, _serialized: serialized }
        : { fromMe: true, remote: filedUnder, id: `3EB0${key}`, $1: serialized },
      fromMe: true,
      to: filedUnder,
      from: TodaysWhatsAppWebStandIn.ME,
      body: text,
      timestamp: Math.floor(Date.now() / 1000),
      ack: 0,
    };
    const createAfter = b.createAfterMs === undefined ? 30 : b.createAfterMs;
    if (createAfter !== null) {
      this.later(createAfter, () => {
        this.created.push(message);
        this.emit('message_create', message);
        const acks = b.acks?.(count, text) ?? [1, 2, 3];
        acks.forEach((ack, i) => this.later((i + 1) * (b.ackStepMs ?? 20), () => this.emit('message_ack', { ...message, ack }, ack)));
      });
    }
    const resolveWith = b.resolveWith ?? 'undefined';
    if (resolveWith === 'never') return new Promise(() => undefined);
    if (b.resolveAfterMs) await new Promise((r) => setTimeout(r, b.resolveAfterMs));
    return resolveWith === 'message' ? message : undefined;
  }

  private later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
  }
}

/** The WhatsApp Web transport on stand-in clients (each new client is passed to `onClient`). */
export function standInTransport(
  options: { authPath: string; sessionName: string; logger: Logger; behaviour: StandInBehaviour },
  onClient: (client: TodaysWhatsAppWebStandIn) => void,
): WhatsAppWebTransport {
  return new WhatsAppWebTransport({
    authPath: options.authPath,
    sessionName: options.sessionName,
    chromiumPath: process.execPath, // any executable stands for the browser
    puppeteerArgs: [],
    pairPhone: null,
    readyTimeoutMs: 60_000,
    reconnectBaseMs: 10,
    reconnectMaxMs: 100,
    logger: options.logger,
    clientFactory: (settings) => {
      const client = new TodaysWhatsAppWebStandIn(settings, options.behaviour);
      onClient(client);
      return client;
    },
  });
}
