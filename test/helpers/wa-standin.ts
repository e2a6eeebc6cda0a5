/**
 * Stand-ins for whatsapp-web.js's Client that behave like today's WhatsApp Web (builds from July 2026
 * on), page side and bugs included, behind the transport's ClientFactory seam. Each client drives a
 * stand-in page (wa-web-page.ts) through `pupPage.evaluate`, as the library drives the real one:
 *
 * - until the message-key fix is applied to the page, `getChatById` throws `r: r` for a chat with a
 *   last received message, a media send throws `t: t` and nothing is sent, and `sendMessage` takes a
 *   text and resolves `undefined` (whatsapp-web.js #201857, #201862); once fixed, each works and
 *   `sendMessage` resolves the sent message, its key shaped `{ …, $1 }`;
 * - `message_create` for the sent message arrives a little later, then `message_ack` 1, 2, 3;
 * - a contact with a LID may have the sent message filed under the LID (#201839);
 * - chats: `getChatById` of a phone number filed under a LID throws "No LID for user" (#19551), as it
 *   may for chosen ids (`chatLookupThrows`, e.g. a LID: #201834); an unknown chat resolves undefined; a
 *   chat's `fetchMessages({ limit, fromMe })` reads the page's copy of the chat; `sendStateTyping` and
 *   `clearState` are recorded (`chatStates`);
 * - groups: `getChats` serialises every chat as the library's getChatModel does (so it throws `r: r`
 *   where a chat look-up would), a group with its metadata (participants with `isAdmin`, `announce`);
 *   `groupEvent` changes this number's place in a group and raises whatsapp-web.js's event for it;
 * - `reload()` is a navigation: a new page (the fix gone), its chats back from storage, then `ready`
 *   again, as whatsapp-web.js emits it after injecting its code anew.
 *
 * Every message the page takes is counted by the stand-in itself (`handOvers`) and, with a hand-over
 * log, appended to a file shared between processes: that file stands for the account's history, which a
 * new page (another process, after a crash) loads as WhatsApp Web syncs it.
 */
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { EventEmitter } from 'node:events';
import { WhatsAppWebTransport, type WwebClientLike, type WwebClientSettings } from '../../src/whatsapp/wwebjs/transport.js';
import type { WwebChatLike } from '../../src/whatsapp/wwebjs/client.js';
import type { Logger } from '../../src/lib/logger.js';
import { tempDir } from './temp-dirs.js';
import { StandInPage, type PageMessage, type StandInBuild } from './wa-web-page.js';

/** A message as whatsapp-web.js gives it to Node (Message, from the page's serialised model). */
export interface StandInMessage {
  id: { fromMe: boolean; remote: string; id: string; $1?: string; _serialized?: string };
  fromMe: boolean;
  to: string;
  from: string;
  body: string;
  timestamp: number;
  ack: number;
  hasMedia: boolean;
  type: string;
  _data: { type: string; caption?: string; directPath?: string };
}

/** What a media message's body is before its upload is done (the page's preview). */
const MEDIA_PREVIEW = '/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAYEBQYFBAYGBQYHBwYIChAKCgkJChQODwwQFxQYGBcUFhYaHSUfGhsjHBYWICwgIyYnKSopGR8tMC0oMCUoKSj/2wBDAQcHBwoIChMKChMoGhYaKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCj/wAARCAABAAEDASIAAhEBAxEB/8QAFQABAQAAAAAAAAAAAAAAAAAAAAn/xAAUEAEAAAAAAAAAAAAAAAAAAAAA/8QAFAEBAAAAAAAAAAAAAAAAAAAAAP/EABQRAQAAAAAAAAAAAAAAAAAAAAD/2gAMAwEAAhEDEQA/AL+AD//Z';

interface PageModel {
  id: StandInMessage['id'];
  body: string;
  caption?: string;
  t: number;
  ack: number;
  from: string;
  to: string;
  hasMedia: boolean;
}

export interface StandInBehaviour {
  /** What sendMessage resolves to: what the page gives (default), `undefined`, the message, or never. */
  resolveWith?: 'page' | 'undefined' | 'message' | 'never';
  /** Milliseconds before sendMessage resolves. */
  resolveAfterMs?: number;
  /** Emit message_create after this many ms (null: never). */
  createAfterMs?: number | null;
  /** Acks emitted after message_create, each `ackStepMs` apart (e.g. [1, 2, 3]; [-1] for a send error). */
  acks?: (handOver: number, text: string) => number[];
  ackStepMs?: number;
  /** The page's build: `today` (keys keep `$1`, default) or `before` (keys carry `_serialized`). */
  build?: StandInBuild;
  /** Older option: `_serialized` is the `before` build. */
  keyShape?: '$1' | '_serialized';
  /** Phone-number chats WhatsApp files under a LID instead: pn → lid. */
  lids?: Map<string, string>;
  /** File each message the page takes is appended to (JSON line); a new page loads it as its history. */
  handOverLog?: string;
  /** Chat ids getChatById throws "No LID for user" for (besides phone numbers filed under a LID). */
  chatLookupThrows?: string[];
  /** Every chat look-up throws `r: r`, whatever the page (a page no fix reaches). */
  lookupsFail?: boolean;
  /** Chat ids WhatsApp Web has no chat for: getChatById resolves undefined. */
  unknownChats?: string[];
  /** Numbers without a WhatsApp account: getNumberId resolves null. */
  notOnWhatsApp?: string[];
  /** Makes sendStateTyping fail as a closed page would. */
  typingFails?: boolean;
  /**
   * A page error on a send (`t`, `r`, …, thrown minified as `t: t`), before the page takes the message
   * (`before`) or after it did (`after`); null: none. Called with the send's number and text.
   */
  pageError?: (send: number, text: string) => { letter: string; when: 'before' | 'after' } | null;
  /** Milliseconds between the sendMessage call and the page taking the message (a crash may land there). */
  takeAfterMs?: number;
  /** Messages other people sent earlier, loaded into the page's chats (they give chats a last received key). */
  received?: Array<{ chatId: string; body: string }>;
  /** The account's groups: id, subject, admins only, and this number's place in it (null: not a participant, e.g. it left). */
  groups?: StandInGroup[];
}

export interface StandInGroup {
  chatId: string;
  name: string;
  adminsOnly: boolean;
  me: 'member' | 'admin' | null;
}

/** Another participant of every stand-in group (an admin). */
const OTHER_MEMBER = '6281111111111@c.us';

/** A document as the stand-in's page received it (the MessageMedia's name, type, size; the sha256 of its bytes). */
export interface StandInFile {
  filename: string;
  mimetype: string;
  size: number;
  sha256: string;
}

/** A chat state the stand-in's chats were told to show, as WhatsApp would relay it. */
export interface StandInChatState {
  chatId: string;
  state: 'typing' | 'stop';
  at: number;
}

export class TodaysWhatsAppWebStandIn extends EventEmitter implements WwebClientLike {
  static readonly ME = '6280000000001@c.us';
  /** Messages the page took, per text, by the stand-in's own count. */
  readonly handOvers = new Map<string, number>();
  /** Messages the page took (this client's), as Node sees them. */
  readonly created: StandInMessage[] = [];
  /** Every getChatById call, in order. */
  readonly chatLookups: string[] = [];
  /** Every sendStateTyping ("typing") and clearState ("stop") of its chats, in order. */
  readonly chatStates: StandInChatState[] = [];
  /**
   * Every sendMessage call that reached the page and how it ended: `taken` (the page added the message,
   * under `messageId`) or the page's error; a document's name, type, size and sha256 as sent.
   */
  readonly sendCalls: Array<{ chatId: string; text: string; media: boolean; outcome: 'taken' | string; at: number; messageId: string | null; file: StandInFile | null }> = [];
  destroyed = 0;
  /** The paired account, as whatsapp-web.js sets it once ready. */
  info = { wid: { user: TodaysWhatsAppWebStandIn.ME.split('@')[0]!, _serialized: TodaysWhatsAppWebStandIn.ME } };
  readonly page: StandInPage;
  readonly pupPage: NonNullable<WwebClientLike['pupPage']>;
  private readonly timers = new Set<NodeJS.Timeout>();
  private sends = 0;
  private readonly behaviour: StandInBehaviour;

  constructor(
    readonly settings: WwebClientSettings,
    behaviour: StandInBehaviour = {},
  ) {
    super();
    this.behaviour = behaviour;
    const build = behaviour.build ?? (behaviour.keyShape === '_serialized' ? 'before' : 'today');
    this.page = new StandInPage(build, TodaysWhatsAppWebStandIn.ME, this.history());
    this.pupPage = {
      evaluate: (fn, ...args) => this.page.evaluate(fn, ...args),
      on: () => this.pupPage,
      isClosed: () => false,
    };
  }

  async initialize(): Promise<void> {}

  async destroy(): Promise<void> {
    this.destroyed++;
    for (const t of this.timers) clearTimeout(t);
  }

  /** A navigation: a new page (its code and the fix gone), the chats from storage, then ready again. */
  reload(): void {
    this.page.reload(this.history());
    this.later(5, () => this.emit('ready'));
  }

  /** The account's history as a new page loads it: the shared log (every process's) or this client's. */
  private history(): PageMessage[] {
    const received: PageMessage[] = (this.behaviour.received ?? []).map((r, i) => ({
      chatId: r.chatId, keyId: `IN${String(i).padStart(6, '0')}`, fromMe: false, body: r.body, t: Math.floor(Date.now() / 1000) - 3600, ack: 3,
    }));
    const log = this.behaviour.handOverLog;
    const own: PageMessage[] = log && existsSync(log)
      ? readFileSync(log, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { message?: PageMessage }).flatMap((l) => (l.message ? [l.message] : []))
      : (this.created ?? []).map((m) => ({ chatId: m.id.remote, keyId: m.id.id, fromMe: true, body: m.body, t: m.timestamp, ack: m.ack }));
    return [...received, ...own];
  }

  async getNumberId(number: string): Promise<{ _serialized: string } | null> {
    return this.behaviour.notOnWhatsApp?.includes(number) ? null : { _serialized: number };
  }

  /** How many times sendMessage was called (counted as it is called, before the page is reached). */
  get sendMessageCalls(): number {
    return this.sends;
  }

  async getWWebVersion(): Promise<string> {
    return String(await this.page.evaluate('window.Debug.VERSION'));
  }

  async getContactLidAndPhone(userIds: string[]): Promise<Array<{ lid?: string; pn?: string }>> {
    const lids = this.behaviour.lids ?? new Map<string, string>();
    return userIds.map((id) => {
      for (const [pn, lid] of lids) if (id === pn || id === lid) return { lid, pn };
      return {};
    });
  }

  /** A chat as whatsapp-web.js gives it: findOrCreateLatestChat's "No LID for user", and today's `r: r`, included. */
  async getChatById(chatId: string): Promise<WwebChatLike | undefined> {
    this.chatLookups.push(chatId);
    const b = this.behaviour;
    // WhatsApp Web's own error, as whatsapp-web.js passes it on (its text is sometimes one minified letter).
    if (b.lids?.has(chatId) || b.chatLookupThrows?.includes(chatId)) throw new Error('No LID for user');
    if (b.unknownChats?.includes(chatId)) return undefined;
    if (b.lookupsFail) throw new Error('r: r');
    await this.page.call('getChat', chatId); // throws r: r on today's page until the fix is applied
    const group = this.behaviour.groups?.find((g) => g.chatId === chatId);
    const record = (state: StandInChatState['state']) => this.chatStates.push({ chatId, state, at: performance.now() });
    return {
      id: { _serialized: chatId },
      ...(group ? this.groupModel(group) : {}),
      fetchMessages: async ({ limit = 50, fromMe }) => {
        const models = (await this.page.call('fetchMessages', chatId, { limit, fromMe })) as PageModel[];
        return models.map((m) => this.message(m));
      },
      sendStateTyping: async () => {
        if (b.typingFails) throw new Error('Protocol error (Runtime.callFunctionOn): Session closed. Most likely the page has been closed.');
        await this.page.call('sendChatstate', 'typing', chatId);
        record('typing');
        return true;
      },
      clearState: async () => {
        await this.page.call('sendChatstate', 'stop', chatId);
        record('stop');
        return true;
      },
    };
  }

  /** Every chat the page has (those with messages, and the groups), serialised one by one as getChatModel does. */
  async getChats(): Promise<WwebChatLike[]> {
    const b = this.behaviour;
    if (b.lookupsFail) throw new Error("Evaluation failed: TypeError: Cannot read properties of undefined (reading 'participants')");
    const ids = [...new Set([...(b.received ?? []).map((r) => r.chatId), ...(b.groups ?? []).map((g) => g.chatId)])];
    const chats: WwebChatLike[] = [];
    for (const chatId of ids) {
      await this.page.call('getChat', chatId);
      const group = b.groups?.find((g) => g.chatId === chatId);
      chats.push({ id: { _serialized: chatId }, isGroup: Boolean(group), ...(group ? this.groupModel(group) : {}), fetchMessages: async () => [] });
    }
    return chats;
  }

  /** This number's place in a group changes (`remove`, `leave`, `add`, `promote`, `demote`) and whatsapp-web.js's event for it is raised. */
  groupEvent(chatId: string, type: 'remove' | 'leave' | 'add' | 'promote' | 'demote'): void {
    const group = this.behaviour.groups?.find((g) => g.chatId === chatId);
    if (group) group.me = type === 'remove' || type === 'leave' ? null : type === 'promote' ? 'admin' : 'member';
    const event = type === 'remove' || type === 'leave' ? 'group_leave' : type === 'add' ? 'group_join' : 'group_admin_changed';
    this.emit(event, { chatId, type, author: OTHER_MEMBER, recipientIds: [TodaysWhatsAppWebStandIn.ME], timestamp: Math.floor(Date.now() / 1000) });
  }

  /** A group chat's fields as the library's GroupChat has them (participants' ids as phone numbers, toPn). */
  private groupModel(group: StandInGroup): Pick<WwebChatLike, 'isGroup' | 'name' | 'isReadOnly' | 'groupMetadata'> {
    const participants = [
      { id: { _serialized: OTHER_MEMBER }, isAdmin: true, isSuperAdmin: true },
      ...(group.me ? [{ id: { _serialized: TodaysWhatsAppWebStandIn.ME }, isAdmin: group.me === 'admin', isSuperAdmin: false }] : []),
    ];
    return { isGroup: true, name: group.name, isReadOnly: group.adminsOnly, groupMetadata: { subject: group.name, announce: group.adminsOnly, participants } };
  }

  get totalHandOvers(): number {
    return [...this.handOvers.values()].reduce((a, b) => a + b, 0);
  }

  /** Text, or a MessageMedia sent with its caption: WhatsApp Web reports a media message's caption as its body ('' without one). */
  async sendMessage(chatId: string, content: unknown, options: { caption?: string } = {}): Promise<unknown> {
    const media = typeof content === 'string' ? null : (content as { filename?: string; mimetype?: string; filesize?: number; data?: string });
    const text = media ? (options.caption ?? '') : (content as string);
    const file: StandInFile | null = media
      ? { filename: media.filename ?? 'file', mimetype: media.mimetype ?? 'application/octet-stream', size: media.filesize ?? 0, sha256: createHash('sha256').update(Buffer.from(media.data ?? '', 'base64')).digest('hex') }
      : null;
    const b = this.behaviour;
    const send = ++this.sends;
    const filedUnder = b.lids?.get(chatId) ?? chatId;
    const pageError = b.pageError?.(send, text) ?? null;
    if (b.takeAfterMs) await new Promise((r) => setTimeout(r, b.takeAfterMs));
    let answer: { added: PageModel; result?: PageModel; thrown?: string };
    try {
      answer = (await this.page.call('sendMessage', filedUnder, {
        body: text,
        media: media ? { filename: media.filename ?? 'file', mimetype: media.mimetype ?? 'application/octet-stream', size: media.filesize ?? 0 } : null,
        ...(pageError?.when === 'before' ? { throwBeforeAdd: pageError.letter } : {}),
        ...(pageError?.when === 'after' ? { throwAfterAdd: pageError.letter } : {}),
      })) as typeof answer;
    } catch (err) {
      this.sendCalls.push({ chatId, text, media: media !== null, outcome: (err as Error).message, at: performance.now(), messageId: null, file });
      throw err;
    }
    const message = this.message(answer.added);
    this.sendCalls.push({ chatId, text, media: media !== null, outcome: 'taken', at: performance.now(), messageId: message.id.$1 ?? message.id._serialized ?? null, file });
    const count = (this.handOvers.get(text) ?? 0) + 1;
    this.handOvers.set(text, count);
    if (b.handOverLog) {
      const stored: PageMessage = { chatId: filedUnder, keyId: message.id.id, fromMe: true, body: text, t: message.timestamp, ack: 1 };
      appendFileSync(b.handOverLog, `${JSON.stringify({ pid: process.pid, chatId, text, message: stored })}\n`);
    }
    this.created.push(message);
    const createAfter = b.createAfterMs === undefined ? 30 : b.createAfterMs;
    if (createAfter !== null) {
      this.later(createAfter, () => {
        this.emit('message_create', message);
        const acks = b.acks?.(count, text) ?? [1, 2, 3];
        acks.forEach((ack, i) =>
          this.later((i + 1) * (b.ackStepMs ?? 20), () => {
            void this.page.call('setAck', message.id.$1 ?? message.id._serialized, ack).catch(() => undefined);
            this.emit('message_ack', this.message(answer.added, ack), ack);
          }),
        );
      });
    }
    if (answer.thrown) throw new Error(`${answer.thrown}: ${answer.thrown}`);
    const resolveWith = b.resolveWith ?? 'page';
    if (resolveWith === 'never') return new Promise(() => undefined);
    if (b.resolveAfterMs) await new Promise((r) => setTimeout(r, b.resolveAfterMs));
    if (resolveWith === 'undefined') return undefined;
    if (resolveWith === 'message') return message;
    return answer.result ? this.message(answer.result) : undefined;
  }

  /**
   * whatsapp-web.js's Message from the page's model. A media message has its caption as its body only
   * once uploaded (`hasMedia = Boolean(data.directPath)`: here from ack 1 on); before, its body is the
   * page's preview and the caption is in `_data` only.
   */
  private message(m: PageModel, ack = m.ack): StandInMessage {
    const uploaded = m.hasMedia && ack >= 1;
    const data = { type: m.hasMedia ? 'document' : 'chat', caption: m.hasMedia ? (m.caption ?? '') : undefined, directPath: uploaded ? '/v/t62.7119-24/standin' : undefined };
    return {
      id: m.id, fromMe: m.id.fromMe, to: m.to, from: m.from, timestamp: m.t, ack, type: data.type, _data: data,
      body: m.hasMedia ? (uploaded ? (m.caption ?? '') : MEDIA_PREVIEW) : m.body,
      hasMedia: uploaded,
    };
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
  options: { authPath: string; authProfile: string; logger: Logger; behaviour: StandInBehaviour; pageFix?: boolean },
  onClient: (client: TodaysWhatsAppWebStandIn) => void,
): WhatsAppWebTransport {
  return new WhatsAppWebTransport({
    authPath: options.authPath,
    authProfile: options.authProfile,
    chromiumPath: process.execPath, // any executable stands for the browser
    puppeteerArgs: [],
    pairPhone: null,
    readyTimeoutMs: 60_000,
    reconnectBaseMs: 10,
    reconnectMaxMs: 100,
    logger: options.logger,
    pageFix: options.pageFix ?? true,
    clientFactory: (settings) => {
      const client = new TodaysWhatsAppWebStandIn(settings, options.behaviour);
      onClient(client);
      return client;
    },
  });
}

/**
 * A WhatsApp Web transport on a stand-in client in a new temporary directory, started and made ready
 * (the page fixed first, unless `pageFix` is false). `close()` closes it and removes the directory.
 */
export async function readyStandIn(
  behaviour: StandInBehaviour,
  options: { logger: Logger; authProfile?: string; pageFix?: boolean },
): Promise<{ transport: WhatsAppWebTransport; client: TodaysWhatsAppWebStandIn; close(): Promise<void> }> {
  const base = await tempDir('cicero-wa-standin-');
  const clients: TodaysWhatsAppWebStandIn[] = [];
  const transport = standInTransport(
    { authPath: path.join(base, 'wa-auth'), authProfile: options.authProfile ?? 'standin', logger: options.logger, behaviour, ...(options.pageFix === undefined ? {} : { pageFix: options.pageFix }) },
    (c) => clients.push(c),
  );
  const close = async () => {
    await transport.close();
    await rm(base, { recursive: true, force: true });
  };
  try {
    await transport.start();
    await until(() => clients.length === 1, 'a stand-in client');
    clients[0]!.emit('ready');
    await until(() => transport.isReady(), 'ready');
  } catch (err) {
    await close();
    throw err;
  }
  return { transport, client: clients[0]!, close };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let waited = 0; !condition(); waited += 5) {
    if (waited > 5000) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
