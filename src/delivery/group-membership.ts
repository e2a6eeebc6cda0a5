/**
 * What a session's number knows of its groups, and the dispatcher's use of it.
 *
 * - GroupFollower keeps wa_group_members (groups/membership.ts) up to date from the transport: the
 *   whole list each time the session becomes ready, each group event as it comes. A list that cannot
 *   be read forgets what was known (unknown, never "not a member"); a transport without the capability
 *   is never asked.
 * - groupRefusalFor: before a message to a group, why it cannot go (not a member, admins only and no
 *   admin), from at most one indexed read; nothing is read for a personal chat.
 */
import type pg from 'pg';
import type { Logger } from '../lib/logger.js';
import { forgetGroups, groupRefusal, knownGroup, recordGroup, replaceGroups } from '../groups/membership.js';
import type { GroupMembership, Transport } from '../whatsapp/transport.js';

const isGroup = (chatId: string) => chatId.endsWith('@g.us');

/** Why a message to `chatId` cannot go from this session (`not_in_group: …`, `not_group_admin: …`), or null. */
export async function groupRefusalFor(pool: pg.Pool, session: string, chatId: string): Promise<string | null> {
  if (!isGroup(chatId)) return null;
  return groupRefusal(await knownGroup(pool, session, chatId));
}

export class GroupFollower {
  private readonly unsubscribe: Array<() => void> = [];
  private refreshing: Promise<void> = Promise.resolve();

  constructor(
    private readonly pool: pg.Pool,
    private readonly transport: Transport,
    private readonly session: string,
    private readonly logger: Logger,
  ) {}

  start(): void {
    const { transport } = this;
    if (!transport.groups) return;
    this.unsubscribe.push(transport.onStateChange((status) => {
      if (status.state === 'ready') this.refresh();
    }));
    if (transport.onGroupChange) this.unsubscribe.push(transport.onGroupChange((group) => this.changed(group)));
    if (transport.isReady()) this.refresh();
  }

  /** Resolves once the refreshes and changes asked for so far are written (tests). */
  settled(): Promise<void> {
    return this.refreshing;
  }

  stop(): Promise<void> {
    for (const off of this.unsubscribe.splice(0)) off();
    return this.refreshing;
  }

  /** The whole list, read again (one at a time, in the order asked). */
  refresh(): void {
    this.enqueue(async () => {
      let groups: GroupMembership[];
      try {
        groups = await this.transport.groups!();
      } catch (err) {
        this.logger.warn({ err: (err as Error).message }, 'could not list the groups of this number: their membership is unknown until the next listing');
        await forgetGroups(this.pool, this.session);
        return;
      }
      await replaceGroups(this.pool, this.session, groups);
      const missing = groups.filter((g) => !g.member).length;
      const noAdmin = groups.filter((g) => g.member && g.adminsOnly && !g.admin).length;
      this.logger.info({ groups: groups.length, notMember: missing, adminsOnlyNoAdmin: noAdmin }, 'groups of this number listed');
    });
  }

  private changed(group: GroupMembership): void {
    this.enqueue(async () => {
      await recordGroup(this.pool, this.session, group);
      this.logger.info({ chatId: group.chatId, member: group.member, admin: group.admin, adminsOnly: group.adminsOnly }, 'group membership changed');
    });
  }

  private enqueue(work: () => Promise<void>): void {
    this.refreshing = this.refreshing.then(work).catch((err: Error) => this.logger.warn({ err: err.message }, 'could not record the groups of this number'));
  }
}
