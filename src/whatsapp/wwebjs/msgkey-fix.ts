/**
 * The page-side fix for WhatsApp Web's message keys (builds from 2.3000.1042401057, July 2026, on).
 *
 * WhatsApp Web renamed the serialised form of a message key (`WAWebMsgKey`) from `_serialized` to a
 * minified name (`$1`); chat and contact ids (`Wid`) still carry `_serialized`. whatsapp-web.js 1.34.7
 * reads `key._serialized` inside the page, so every page-side look-up that serialises a key gets
 * `undefined` and IndexedDB throws (`r: r` from getChats/getChatById/msg.getChat, `t: t` from a media
 * send, sendMessage resolving undefined): whatsapp-web.js #201848, #201862, #201869; wa-js #3484, #3488.
 *
 * The fix is one accessor on the key class's prototype: `_serialized` reads the minified property. It
 * covers every page-side look-up at once, needs no new pairing and changes no file of the library:
 *
 * - it runs after whatsapp-web.js injected its code: each time the client becomes ready (after a
 *   reload, a reconnect or a new WhatsApp Web build) and before each page-side operation of ours, so a
 *   page reloaded behind our back is fixed before it is used;
 * - it is idempotent: a prototype already fixed is marked, and is left alone;
 * - it does nothing on builds whose keys still carry `_serialized` (a key is looked at first: one
 *   WhatsApp Web holds, else one made as whatsapp-web.js makes them);
 * - an assignment to `_serialized` (as older builds made in the constructor) still works, as an own
 *   property of that key.
 *
 * Keys that cross to Node keep the minified name; `messages.ts` reads them whatever their shape.
 *
 * The page-side code is plain JavaScript text, not a function of this module: it is evaluated in the
 * page, where nothing of this process exists (a compiled or instrumented function could carry helpers
 * of ours with it).
 */
import type { Logger } from '../../lib/logger.js';
import { within } from '../../lib/sleep.js';
import type { WwebClientLike } from './client.js';

/** What the fix found on the page. */
export type PageFixState = 'active' | 'not_needed' | 'unavailable' | 'failed' | 'not_applied' | 'off';

export interface PageFixStatus {
  state: PageFixState;
  /** In words: what was found, or why it could not be applied. */
  detail: string;
  /** The property WhatsApp Web keeps the serialised key under, when the fix reads it (e.g. `$1`). */
  alias: string | null;
  /** The WhatsApp Web build the page runs, as the page says. */
  build: string | null;
  /** When it was last applied or checked (ISO). */
  at: string | null;
}

export const PAGE_FIX_NOT_APPLIED: PageFixStatus = { state: 'not_applied', detail: 'WhatsApp Web has not been ready yet', alias: null, build: null, at: null };

/** How long the page may take to answer. */
const PAGE_CALL_MS = 5000;
const TIMED_OUT = Symbol('timed out');

/** Evaluated in the WhatsApp Web page; returns { state, detail, alias, build, already }. */
export const MSGKEY_FIX_SOURCE = String.raw`(() => {
  const MARK = '__ciceroWaKeyAlias';
  const build = (window.Debug && window.Debug.VERSION) || null;
  const result = (state, detail, alias, already) => ({ state, detail, alias: alias || null, build, already: !!already });
  const describe = (e) => String((e && e.message) || e).slice(0, 200);
  if (typeof window.require !== 'function') return result('unavailable', 'WhatsApp Web has not loaded its modules');
  let MsgKey;
  try {
    MsgKey = window.require('WAWebMsgKey');
  } catch (e) {
    return result('unavailable', 'WhatsApp Web has no WAWebMsgKey module: ' + describe(e));
  }
  const proto = MsgKey && MsgKey.prototype;
  if (!proto) return result('unavailable', 'WAWebMsgKey is not a class');
  if (Object.prototype.hasOwnProperty.call(proto, MARK)) {
    return result('active', 'message keys read _serialized from ' + proto[MARK], proto[MARK], true);
  }
  let probe = null;
  try {
    const messages = window.require('WAWebCollections').Msg.getModelsArray();
    for (let i = messages.length - 1; i >= 0 && !probe; i--) {
      if (messages[i] && messages[i].id instanceof MsgKey) probe = messages[i].id;
    }
  } catch (e) {}
  if (!probe) {
    try {
      const me = window.require('WAWebUserPrefsMeUser').getMaybeMePnUser();
      probe = new MsgKey({ from: me, to: me, id: 'CICEROWAPROBE', selfDir: 'out' });
    } catch (e) {
      return result('failed', 'no message key to look at: ' + describe(e));
    }
  }
  if (typeof probe._serialized === 'string' && probe._serialized !== '') {
    return result('not_needed', 'message keys carry _serialized on this build');
  }
  const text = String(probe);
  let alias = null;
  for (const name of Object.getOwnPropertyNames(probe)) {
    if (name !== 'id' && typeof probe[name] === 'string' && probe[name] === text) {
      alias = name;
      break;
    }
  }
  if (!alias) return result('failed', 'message keys carry neither _serialized nor their serialised form under another name');
  Object.defineProperty(proto, '_serialized', {
    configurable: true,
    enumerable: false,
    get() {
      return this[alias];
    },
    set(value) {
      Object.defineProperty(this, '_serialized', { value, writable: true, enumerable: true, configurable: true });
    },
  });
  if (probe._serialized !== text) {
    delete proto._serialized;
    return result('failed', 'the accessor did not take on this build');
  }
  Object.defineProperty(proto, MARK, { value: alias, enumerable: false });
  return result('active', 'message keys read _serialized from ' + alias, alias);
})()`;

interface PageAnswer {
  state: PageFixState;
  detail: string;
  alias: string | null;
  build: string | null;
  already: boolean;
}

/**
 * Applies the fix to a client's page and keeps what it found. The first result of a process is logged
 * at info, so is every change of state after it; a re-application that finds the fix in place is quiet.
 */
export class MsgKeyFix {
  private current: PageFixStatus = PAGE_FIX_NOT_APPLIED;
  private logged = false;

  constructor(
    private readonly logger: Logger,
    private readonly onChange: (status: PageFixStatus) => void = () => undefined,
    /** WA_PAGE_FIX: false leaves the page as it is. */
    private readonly enabled = true,
  ) {}

  get status(): PageFixStatus {
    return this.current;
  }

  /** Makes sure the client's page is fixed (or needs no fix); never throws. */
  async ensure(client: WwebClientLike): Promise<PageFixStatus> {
    if (!this.enabled) return this.record({ state: 'off', detail: 'WA_PAGE_FIX=false: the page is left as it is', alias: null, build: null, already: false });
    const page = client.pupPage;
    if (!page?.evaluate) return this.record({ state: 'unavailable', detail: 'the client has no page to fix', alias: null, build: null, already: false });
    let answer: PageAnswer;
    try {
      const reply = await within(page.evaluate(MSGKEY_FIX_SOURCE) as Promise<PageAnswer>, PAGE_CALL_MS, TIMED_OUT);
      answer = reply === TIMED_OUT
        ? { state: 'failed', detail: `WhatsApp Web did not answer within ${PAGE_CALL_MS} ms`, alias: null, build: null, already: false }
        : reply;
    } catch (err) {
      answer = { state: 'failed', detail: `the page refused it: ${String((err as Error)?.message ?? err).split('\n')[0]!.slice(0, 200)}`, alias: null, build: null, already: false };
    }
    return this.record(answer);
  }

  /** Forgets the page (the auth profile was cleared: the next login's page is looked at afresh). */
  reset(): void {
    this.current = PAGE_FIX_NOT_APPLIED;
  }

  private record(answer: PageAnswer): PageFixStatus {
    const previous = this.current;
    const next: PageFixStatus = { state: answer.state, detail: answer.detail, alias: answer.alias, build: answer.build ?? previous.build, at: new Date().toISOString() };
    this.current = next;
    const changed = previous.state !== next.state || previous.build !== next.build || previous.alias !== next.alias;
    if (!this.logged || changed) {
      this.logged = true;
      const fields = { pageFix: next.state, build: next.build ?? 'unknown', alias: next.alias, detail: next.detail };
      if (next.state === 'failed') this.logger.warn(fields, `WhatsApp Web message-key fix could not be applied: ${next.detail}`);
      else this.logger.info(fields, `WhatsApp Web message-key fix: ${PAGE_FIX_WORDS[next.state]} (${next.detail})`);
      this.onChange(next);
    } else if (!answer.already) {
      this.logger.debug({ pageFix: next.state, build: next.build }, 'WhatsApp Web message-key fix applied again (the page was reloaded)');
    }
    return next;
  }
}

/** The states in an operator's words. */
export const PAGE_FIX_WORDS: Record<PageFixState, string> = {
  active: 'active',
  not_needed: 'not needed on this build',
  unavailable: 'not applicable',
  failed: 'failed',
  not_applied: 'not applied yet',
  off: 'switched off',
};
