/**
 * "typing…" through whatsapp-web.js: the chat from `getChatById`, then `Chat.sendStateTyping()` and, at
 * the end, `Chat.clearState()`. What the library and today's WhatsApp Web do about it:
 *
 * - "typing…" lasts about 25 seconds on WhatsApp's side: a longer duration is renewed every 20 s.
 * - `getChatById` of a chat WhatsApp Web has not loaded goes through findOrCreateLatestChat, which throws
 *   "No LID for user" for a phone-number id of a contact moved to a LID, and on some accounts for the
 *   `…@lid` id itself (whatsapp-web.js #19551, #201834; the error's text may be one minified letter),
 *   while `getContactLidAndPhone` still knows the contact's other id. So the chat is looked for under
 *   the LID first for a phone number, and under the phone number after the LID for a LID.
 * - `getChatById` resolves undefined for a chat it does not find.
 * - sendStateTyping and clearState do not wait for the page's own call, so a failure inside the page is
 *   not seen here: "typing…" is best effort.
 *
 * Nothing here throws: a chat that cannot be reached is logged at debug. The look-up counts in the
 * duration (it never makes the call last much longer than asked), and every call to the page is bounded
 * in time.
 */
import type { Logger } from '../../lib/logger.js';
import { sleep, within } from '../../lib/sleep.js';
import type { WwebClientLike } from './client.js';
import { describe, findChat } from './chats.js';

/** WhatsApp shows "typing…" for about 25 s: renewed this often while it should last. */
export const TYPING_RENEW_MS = 20_000;
/** The longest a call to the page (typing, clearing) may take before it is given up. */
const PAGE_CALL_MS = 5000;

const TIMED_OUT = Symbol('timed out');
/** Less than this left: not renewed (a timer may fire a millisecond before the clock says it is due). */
const END_MARGIN_MS = 10;

export interface TypingContext {
  /** The client, when ready; null otherwise. */
  readyClient(): WwebClientLike | null;
  /** The phone-number id of a LID, or the LID of a phone-number id, where WhatsApp knows it. */
  aliasOf(id: string): Promise<string | null>;
  /** Makes sure the page is fixed before it is used (msgkey-fix.ts); never throws. */
  preparePage(client: WwebClientLike): Promise<unknown>;
}

export class Typing {
  constructor(
    private readonly context: TypingContext,
    private readonly logger: Logger,
    /** How often "typing…" is renewed while it should last (shorter in tests). */
    private readonly renewMs = TYPING_RENEW_MS,
  ) {}

  async show(chatId: string, durationMs: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted || !(durationMs > 0)) return;
    const client = this.context.readyClient();
    if (!client?.getChatById) {
      this.logger.debug({ chatId }, 'typing not shown: WhatsApp is not ready');
      return;
    }
    const until = Date.now() + durationMs;
    await this.context.preparePage(client);
    const found = await findChat(client, chatId, (id) => this.context.aliasOf(id), until);
    if (!found.chat) {
      this.logger.debug({ chatId, problems: found.problems }, 'typing not shown: WhatsApp Web could not find the chat');
      return;
    }
    const chat = found.chat;
    if (signal?.aborted || Date.now() >= until) return;
    if (typeof chat.sendStateTyping !== 'function' || typeof chat.clearState !== 'function') {
      this.logger.debug({ chatId }, 'typing not shown: the chat cannot show typing');
      return;
    }
    try {
      for (;;) {
        if ((await within(chat.sendStateTyping!(), PAGE_CALL_MS, TIMED_OUT)) === TIMED_OUT) {
          this.logger.debug({ chatId }, 'typing not shown: WhatsApp Web did not answer');
          break;
        }
        const left = until - Date.now();
        if (left <= 0) break;
        const aborted = await sleep(Math.min(left, this.renewMs), signal).then(() => false, () => true);
        if (aborted || until - Date.now() < END_MARGIN_MS || this.context.readyClient() !== client) break;
      }
    } catch (err) {
      this.logger.debug({ chatId, err: describe(err) }, 'typing not shown');
    } finally {
      await within(
        Promise.resolve()
          .then(() => chat.clearState!())
          .catch((err: unknown) => this.logger.debug({ chatId, err: describe(err) }, 'typing not cleared (WhatsApp ends it by itself within about 25 s)')),
        PAGE_CALL_MS,
        undefined,
      );
    }
  }
}
