/**
 * Stand-ins for whatsapp-web.js's Client that behave like today's WhatsApp Web (builds from July 2026
 * on), bugs included, behind the transport's ClientFactory seam:
 *
 * - `sendMessage` takes the message and resolves `undefined` (the message key's `_serialized` was
 *   renamed `$1`, so the library's lookup of the sent message fails: whatsapp-web.js #201857);
 * - `message_create` for the sent message arrives a little later, its key shaped `{ …, $1 }`;
 * - then `message_ack` 1, 2, 3 with the same key shape;
 * - a contact with a LID may have the sent message filed under the LID (#201839).
 *
 * Every hand-over is counted by the stand-in itself (`handOvers`), and can be appended to a file
 * shared between processes.
 */
import { appendFileSync } from 'node:fs';
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { WhatsAppWebTransport, type WwebClientLike, type WwebClientSettings } from '../../src/whatsapp/wwebjs/transport.js';
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
}

export class TodaysWhatsAppWebStandIn extends EventEmitter implements WwebClientLike {
  static readonly ME = '6280000000001@c.us';
  /** Hand-overs per text, by the stand-in's own count. */
  readonly handOvers = new Map<string, number>();
  readonly created: StandInMessage[] = [];
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
