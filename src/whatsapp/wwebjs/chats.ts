/**
 * Finding a chat in WhatsApp Web through whatsapp-web.js (`getChatById`), as today's WhatsApp Web files
 * chats:
 *
 * - `getChatById` of a chat WhatsApp Web has not loaded goes through findOrCreateLatestChat, which throws
 *   "No LID for user" for a phone-number id of a contact moved to a LID, and on some accounts for the
 *   `…@lid` id itself (whatsapp-web.js #19551, #201834; the error's text may be one minified letter),
 *   while `getContactLidAndPhone` still knows the contact's other id. So the chat is looked for under
 *   the LID first for a phone number, and under the phone number after the LID for a LID.
 * - `getChatById` resolves undefined for a chat it does not find.
 * - Before the message-key fix, it throws `r: r` for any chat with a last received message
 *   (msgkey-fix.ts): callers prepare the page first.
 *
 * Every look-up is bounded in time; nothing here throws.
 */
import { within } from '../../lib/sleep.js';
import type { WwebChatLike, WwebClientLike } from './client.js';

/** The longest one look-up may take before it is given up. */
const LOOKUP_MS = 5000;
const TIMED_OUT = Symbol('timed out');

export interface FoundChat {
  chat: WwebChatLike | null;
  /** The id it was found under. */
  id: string | null;
  /** What went wrong with each id tried, when it was not found. */
  problems: string[];
}

/** The chat under its own id or its other one (LID or phone number); null, with the problems, when neither works. */
export async function findChat(
  client: WwebClientLike,
  chatId: string,
  aliasOf: (id: string) => Promise<string | null>,
  until = Date.now() + 2 * LOOKUP_MS,
): Promise<FoundChat> {
  const found = await findChats(client, chatId, aliasOf, until, true);
  return found.chats[0] ? { ...found.chats[0], problems: found.problems } : { chat: null, id: null, problems: found.problems };
}

/** Every chat the id stands for (under its own id and its LID or phone number), with what went wrong for the others. */
export async function findChats(
  client: WwebClientLike,
  chatId: string,
  aliasOf: (id: string) => Promise<string | null>,
  until = Date.now() + 2 * LOOKUP_MS,
  firstOnly = false,
): Promise<{ chats: Array<{ chat: WwebChatLike; id: string }>; problems: string[] }> {
  const problems: string[] = [];
  const chats: Array<{ chat: WwebChatLike; id: string }> = [];
  if (!client.getChatById) return { chats, problems: ['this client cannot look chats up'] };
  const alias = /@(c\.us|lid)$/.test(chatId) ? await within(aliasOf(chatId).catch(() => null), LOOKUP_MS, null) : null;
  // A phone number's chat is looked for under its LID first: WhatsApp Web files such chats there.
  const candidates = [...new Set((chatId.endsWith('@c.us') ? [alias, chatId] : [chatId, alias]).filter((id): id is string => !!id))];
  for (const id of candidates) {
    const left = Math.min(LOOKUP_MS, until - Date.now());
    if (left <= 0) {
      problems.push(`${id}: not looked for, the time was up`);
      break;
    }
    try {
      const chat = await within(client.getChatById(id), left, TIMED_OUT);
      if (chat === TIMED_OUT) problems.push(`${id}: no answer`);
      else if (!chat) problems.push(`${id}: no such chat`);
      else {
        chats.push({ chat, id });
        if (firstOnly) break;
      }
    } catch (err) {
      problems.push(`${id}: ${describe(err)}`);
    }
  }
  return { chats, problems };
}

export function describe(err: unknown): string {
  return String((err as Error)?.message ?? err).split('\n')[0]!.slice(0, 200);
}
