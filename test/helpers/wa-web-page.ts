/**
 * A stand-in for the WhatsApp Web page itself, as whatsapp-web.js 1.34.7 finds it on the builds served
 * since mid-July 2026 (2.3000.1042401057 and later), or on an older build:
 *
 * - `window.require` gives the modules the library and the message-key fix use: `WAWebMsgKey` (the
 *   message key class: on today's builds it keeps its serialised form under the minified `$1` and has
 *   no `_serialized`; `Wid` still has `_serialized`), `WAWebCollections` (`Msg`, `Chat`),
 *   `WAWebUserPrefsMeUser`, `WAWebWidFactory`; `window.Debug.VERSION` is the build.
 * - `window.StandInWWebJS` does what the library's injected code (src/util/Injected/Utils.js) does on
 *   such a page, bugs included: `getChat` serialises the chat's `lastReceivedKey._serialized` and hands
 *   it to IndexedDB, which throws (`r: r`) when it is undefined; a media send stores the prepared media
 *   under `key._serialized` and throws (`t: t`) before the message is added; `sendMessage` returns
 *   `Msg.get(key._serialized)`, undefined on today's page; `fetchMessages` reads the chat's messages
 *   without serialising keys (as `getChat(…, { getAsModel: false })` does).
 *
 * The page is JavaScript text, run in a fresh context per page load (vm in the stand-in client, or a
 * real Chromium page), so a fix that relies on anything outside the page fails here as it would there.
 */
import vm from 'node:vm';

export const BUILDS = {
  /** A build served since July 2026: message keys keep `$1`. */
  today: '2.3000.1043280533',
  /** A build from before: message keys carry `_serialized`. */
  before: '2.3000.1041004812',
} as const;

export type StandInBuild = keyof typeof BUILDS;

/** A message the page holds, as it is loaded into a new page (history) or taken out of it. */
export interface PageMessage {
  chatId: string;
  keyId: string;
  fromMe: boolean;
  body: string;
  /** Seconds. */
  t: number;
  ack: number;
  media?: { filename: string; mimetype: string; size: number } | null;
}

export const STAND_IN_PAGE_SOURCE = String.raw`(function (window, options) {
  const minified = (letter) => { const e = new Error(letter); e.name = letter; return e; };
  window.Debug = { VERSION: options.version };
  class Wid {
    constructor(text) {
      this.server = text.slice(text.indexOf('@') + 1);
      this.user = text.slice(0, text.indexOf('@'));
      this._serialized = text;
    }
    toString() { return this._serialized; }
    isGroup() { return this.server === 'g.us'; }
    isLid() { return this.server === 'lid'; }
  }
  const createWid = (text) => new Wid(String(text));
  const newBuild = options.keys === '$1';
  class MsgKey {
    constructor(spec) {
      this.fromMe = spec.fromMe !== undefined ? spec.fromMe : spec.selfDir === 'out';
      this.remote = spec.remote || spec.to;
      this.id = spec.id;
      const text = [String(this.fromMe), String(this.remote), this.id].join('_');
      if (newBuild) this.$1 = text; else this._serialized = text;
    }
    toString() { return newBuild ? this.$1 : this._serialized; }
    static newId() { return '3EB0' + Math.random().toString(16).slice(2, 12).toUpperCase() + Math.random().toString(16).slice(2, 12).toUpperCase(); }
  }
  const msgs = new Map();
  const Msg = {
    get(id) { return msgs.get(id); },
    getModelsArray() { return [...msgs.values()]; },
    // IndexedDB's get: an undefined key is a DataError, which reaches Node minified.
    getMessagesById(ids) {
      if (ids.some((id) => typeof id !== 'string')) throw minified('r');
      return { messages: ids.map((id) => msgs.get(id)).filter(Boolean) };
    },
  };
  const chats = new Map();
  const chatOf = (id) => {
    if (!chats.has(id)) chats.set(id, { id: createWid(id), msgs: [], lastReceivedKey: null });
    return chats.get(id);
  };
  const Chat = { get(wid) { return chats.get(String(wid)); }, getModelsArray() { return [...chats.values()]; } };
  const me = createWid(options.me);
  const modules = {
    WAWebMsgKey: MsgKey,
    WAWebCollections: { Msg, Chat },
    WAWebUserPrefsMeUser: { getMaybeMePnUser: () => me, getMaybeMeLidUser: () => null },
    WAWebWidFactory: { createWid },
  };
  window.require = (name) => {
    if (!(name in modules)) throw new Error('Requiring unknown module "' + name + '"');
    return modules[name];
  };
  const add = (m) => {
    const chat = chatOf(m.chatId);
    const key = new MsgKey({ fromMe: m.fromMe, remote: chat.id, id: m.keyId });
    const model = { id: key, body: m.body, t: m.t, ack: m.ack, from: m.fromMe ? me : chat.id, to: m.fromMe ? chat.id : me, media: m.media || null, isNotification: false };
    msgs.set(String(key), model);
    chat.msgs.push(model);
    if (!m.fromMe) chat.lastReceivedKey = key;
    return model;
  };
  // What crosses to Node: own enumerable properties only (CDP's returnByValue), so a key keeps $1.
  const serialize = (model) => JSON.parse(JSON.stringify({
    id: Object.assign({}, model.id, { remote: String(model.id.remote) }),
    body: model.media ? '' : model.body, caption: model.media ? model.body : undefined,
    t: model.t, ack: model.ack, from: String(model.from), to: String(model.to),
    hasMedia: !!model.media, filename: model.media ? model.media.filename : undefined,
  }));
  window.StandInWWebJS = {
    load(history) { for (const m of history) add(m); },
    getChat(chatId) {
      const chat = chatOf(chatId);
      // Utils.js getChatModel: the last received message, looked up by its serialised key.
      if (chat.lastReceivedKey) {
        const key = chat.lastReceivedKey._serialized;
        Msg.get(key) || Msg.getMessagesById([key]);
      }
      return { id: { _serialized: chatId, server: chat.id.server, user: chat.id.user }, isGroup: chat.id.isGroup() };
    },
    fetchMessages(chatId, search) {
      const chat = chatOf(chatId);
      let list = chat.msgs.filter((m) => search.fromMe === undefined || m.id.fromMe === search.fromMe);
      if (search.limit > 0 && list.length > search.limit) list = list.slice(list.length - search.limit);
      return list.map(serialize);
    },
    sendMessage(chatId, content) {
      const chat = chatOf(chatId);
      const key = new MsgKey({ from: me, to: chat.id, id: MsgKey.newId(), selfDir: 'out' });
      if (content.media) {
        // The prepared media is kept under the message's serialised key (IndexedDB): undefined throws.
        if (typeof key._serialized !== 'string') throw minified('t');
      }
      if (content.throwBeforeAdd) throw minified(content.throwBeforeAdd);
      const model = add({ chatId, keyId: key.id, fromMe: true, body: content.body, t: Math.floor(Date.now() / 1000), ack: 0, media: content.media });
      if (content.throwAfterAdd) return { added: serialize(model), thrown: content.throwAfterAdd };
      const found = Msg.get(key._serialized);
      return { added: serialize(model), result: found ? serialize(found) : undefined };
    },
    setAck(serialisedKey, ack) {
      const model = msgs.get(serialisedKey);
      if (model) model.ack = Math.max(model.ack, ack);
    },
    sendChatstate(state, chatId) { chatOf(chatId); return true; },
  };
})`;

/** One load of the page: a fresh context, as after a navigation. */
export class StandInPage {
  private context: vm.Context;

  constructor(
    readonly build: StandInBuild,
    private readonly me: string,
    history: PageMessage[] = [],
  ) {
    this.context = this.load(history);
  }

  /** The page reloaded (a new build, a reconnect): its code and state are new; its chats come back from storage. */
  reload(history: PageMessage[]): void {
    this.context = this.load(history);
  }

  private load(history: PageMessage[]): vm.Context {
    const context = vm.createContext({});
    vm.runInContext('globalThis.window = globalThis;', context);
    const install = vm.runInContext(STAND_IN_PAGE_SOURCE, context) as (window: unknown, options: unknown) => void;
    install(vm.runInContext('window', context), { version: BUILDS[this.build], keys: this.build === 'today' ? '$1' : '_serialized', me: this.me });
    (vm.runInContext('window.StandInWWebJS', context) as { load(h: unknown): void }).load(JSON.parse(JSON.stringify(history)));
    return context;
  }

  /**
   * As Puppeteer's page.evaluate: JavaScript text, or a function with its arguments, run in the page;
   * the result copied out as CDP copies it (JSON); an exception in the page rejects with its name and
   * message (today's minified `r: r`, `t: t`).
   */
  async evaluate(pageFunction: string | ((...args: never[]) => unknown), ...args: unknown[]): Promise<unknown> {
    const source = typeof pageFunction === 'string' ? pageFunction : `(${pageFunction.toString()})(...${JSON.stringify(args)})`;
    try {
      const result = await vm.runInContext(source, this.context);
      return result === undefined ? undefined : JSON.parse(JSON.stringify(result));
    } catch (err) {
      const e = err as { name?: string; message?: string };
      throw new Error(`${e?.name ?? 'Error'}: ${e?.message ?? String(err)}`);
    }
  }

  /** Calls one of the stand-in library's page functions (StandInWWebJS) with JSON arguments. */
  call(name: string, ...args: unknown[]): Promise<unknown> {
    return this.evaluate(`window.StandInWWebJS.${name}(...${JSON.stringify(args)})`);
  }
}
