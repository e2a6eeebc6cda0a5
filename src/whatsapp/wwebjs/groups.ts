/**
 * The groups of this number on WhatsApp Web: `client.getChats()`'s group chats, each with this number's
 * place among its participants (`groupMetadata.participants`, `isAdmin`/`isSuperAdmin`) and whether
 * only admins may write (`groupMetadata.announce`); and the group events (`group_join`, `group_leave`,
 * `group_admin_changed`, `group_update`), after which the group is read again.
 *
 * Today's WhatsApp Web often cannot say: getChats and getChatById throw for groups ("Cannot read
 * properties of undefined (reading 'participants')", whatsapp-web.js #24251), participants come back
 * missing (#3444), or under LIDs the page cannot map to a number. Whatever cannot be settled is left
 * out (unknown), never reported as "not a member": a listing that throws throws; a group without
 * participants, or one where this number may be hidden under a LID it has no alias for, is left out.
 * Only a group event naming this number as removed (or leaving) says "not a member" without a read;
 * one naming it as added says "a member" (and nothing else) when the group cannot be read. Without the
 * paired number's own id nothing can be told.
 */
import type { Logger } from '../../lib/logger.js';
import type { GroupMembership, Listeners } from '../transport.js';
import type { WwebChatLike, WwebClientLike } from './client.js';

const GROUP_EVENTS = ['group_join', 'group_leave', 'group_admin_changed', 'group_update'] as const;

interface Participant {
  id?: { _serialized?: string } | string;
  isAdmin?: boolean;
  isSuperAdmin?: boolean;
}

const idOf = (value: { _serialized?: string } | string | undefined): string | null =>
  typeof value === 'string' ? value : (value?._serialized ?? null);

/**
 * This number's membership of a group chat, or null when the chat does not say (not a group, no
 * participants, this number's own id unknown, or it possibly among them under a LID it has no alias for).
 */
export function membershipOf(chat: WwebChatLike, selfIds: readonly string[]): GroupMembership | null {
  const chatId = idOf(chat.id);
  if (!chatId?.endsWith('@g.us') || chat.isGroup === false || selfIds.length === 0) return null;
  const participants = chat.groupMetadata?.participants as Participant[] | undefined;
  if (!Array.isArray(participants) || participants.length === 0) return null;
  const name = chat.name ?? chat.groupMetadata?.subject ?? null;
  const adminsOnly = (chat.groupMetadata?.announce ?? chat.isReadOnly) === true;
  const me = participants.find((p) => selfIds.includes(idOf(p.id) ?? ''));
  if (me) return { chatId, name, member: true, admin: me.isAdmin === true || me.isSuperAdmin === true, adminsOnly };
  const knowsOwnLid = selfIds.some((id) => id.endsWith('@lid'));
  if (!knowsOwnLid && participants.some((p) => idOf(p.id)?.endsWith('@lid'))) return null;
  return { chatId, name, member: false, admin: false, adminsOnly };
}

export class GroupEvents {
  constructor(
    private readonly sink: Listeners<[GroupMembership]>,
    private readonly readyClient: () => WwebClientLike | null,
    private readonly aliasOf: (id: string) => Promise<string | null>,
    private readonly logger: Logger,
  ) {}

  /** Every group chat this number's chats include whose membership can be told; throws when the list cannot be read. */
  async list(): Promise<GroupMembership[]> {
    const client = this.readyClient();
    if (!client?.getChats) throw new Error('WhatsApp Web is not ready to list its chats');
    const self = await this.selfIds(client);
    if (self.length === 0) throw new Error('the paired number is not known yet: no group can be told');
    const chats = await client.getChats();
    return chats.flatMap((chat) => membershipOf(chat, self) ?? []);
  }

  wire(client: WwebClientLike, mine: () => boolean): void {
    for (const event of GROUP_EVENTS) {
      client.on(event, (notification: unknown) => {
        if (mine()) void this.changed(client, notification as GroupNotificationLike).catch((err: Error) => this.logger.debug({ err: err.message, event }, 'could not read a group event'));
      });
    }
  }

  /** A group event: the group read again; when it cannot be, only this number's own removal or leaving is told. */
  private async changed(client: WwebClientLike, notification: GroupNotificationLike): Promise<void> {
    const chatId = notification.chatId;
    if (typeof chatId !== 'string' || !chatId.endsWith('@g.us') || this.sink.size === 0) return;
    const self = await this.selfIds(client);
    if (self.length === 0) return;
    let group: GroupMembership | null = null;
    try {
      const chat = await client.getChatById?.(chatId);
      group = chat ? membershipOf(chat, self) : null;
    } catch (err) {
      this.logger.debug({ err: (err as Error).message, chatId }, 'could not read a group after its event');
    }
    const recipients = (notification.recipientIds ?? []).map((id) => idOf(id as string | { _serialized?: string }));
    const mentioned = recipients.some((id) => id !== null && self.includes(id));
    if (mentioned && (notification.type === 'remove' || notification.type === 'leave') && group?.member !== false) {
      group = { chatId, name: group?.name ?? null, member: false, admin: false, adminsOnly: group?.adminsOnly ?? false };
    }
    // Added back but the group cannot be read: a member (admin and admins-only unknown: sent to as before).
    if (mentioned && notification.type === 'add' && !group) group = { chatId, name: null, member: true, admin: false, adminsOnly: false };
    if (group) this.sink.emit(group);
  }

  /** This number's ids: its phone-number id and, where WhatsApp told it, its LID. */
  private async selfIds(client: WwebClientLike): Promise<string[]> {
    const me = client.info?.wid?._serialized;
    if (!me) return [];
    const alias = await this.aliasOf(me);
    return alias ? [me, alias] : [me];
  }
}

/** The part of whatsapp-web.js's GroupNotification read here. */
interface GroupNotificationLike {
  chatId?: unknown;
  type?: string;
  recipientIds?: unknown[];
}
