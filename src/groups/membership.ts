/**
 * wa_group_members: the groups each session's number is in, as WhatsApp Web last listed them or told of
 * a change, with whether it is an admin there and whether only admins may write. Owned here alone.
 *
 * What is known is what was seen: a group without a row is unknown (never listed, or its look-up failed)
 * and nothing is decided from it. A full listing replaces the session's rows: a group it no longer
 * shows becomes unknown again, not "not a member".
 */
import type pg from 'pg';
import { withTransaction, type Queryable } from '../db/pool.js';

/** A group as the number sees it (the transport's GroupMembership). */
export interface GroupSeen {
  chatId: string;
  name: string | null;
  member: boolean;
  admin: boolean;
  adminsOnly: boolean;
}

export interface KnownGroup extends GroupSeen {
  session: string;
  seenAt: Date;
}

const UPSERT = `
  INSERT INTO wa_group_members (session, chat_id, name, member, admin, admins_only, seen_at)
  SELECT $1, g.chat_id, g.name, g.member, g.admin, g.admins_only, now()
    FROM unnest($2::text[], $3::text[], $4::boolean[], $5::boolean[], $6::boolean[]) AS g(chat_id, name, member, admin, admins_only)
  ON CONFLICT (session, chat_id) DO UPDATE
     SET name = coalesce(EXCLUDED.name, wa_group_members.name), member = EXCLUDED.member, admin = EXCLUDED.admin,
         admins_only = EXCLUDED.admins_only, seen_at = EXCLUDED.seen_at`;

function upsertArgs(session: string, groups: readonly GroupSeen[]): unknown[] {
  return [session, groups.map((g) => g.chatId), groups.map((g) => g.name), groups.map((g) => g.member), groups.map((g) => g.admin), groups.map((g) => g.adminsOnly)];
}

/** A full listing of the session's groups: these rows, and no others, in one transaction. */
export async function replaceGroups(pool: pg.Pool, session: string, groups: readonly GroupSeen[]): Promise<void> {
  await withTransaction(pool, async (tx) => {
    await tx.query(`DELETE FROM wa_group_members WHERE session = $1 AND NOT (chat_id = ANY($2::text[]))`, [session, groups.map((g) => g.chatId)]);
    if (groups.length > 0) await tx.query(UPSERT, upsertArgs(session, groups));
  });
}

/** Nothing is known of the session's groups any more (a listing that failed). */
export async function forgetGroups(db: Queryable, session: string): Promise<void> {
  await db.query(`DELETE FROM wa_group_members WHERE session = $1`, [session]);
}

/** One group's change (joined, left, admin, admins-only). */
export async function recordGroup(db: Queryable, session: string, group: GroupSeen): Promise<void> {
  await db.query(UPSERT, upsertArgs(session, [group]));
}

/** What is known of one group for a session (one indexed read), or null: unknown. */
export async function knownGroup(db: Queryable, session: string, chatId: string): Promise<KnownGroup | null> {
  const { rows } = await db.query<Row>(`${SELECT} WHERE session = $1 AND chat_id = $2`, [session, chatId]);
  return rows[0] ? fromRow(rows[0]) : null;
}

/** What is known of these groups, for every session. */
export async function knownGroups(db: Queryable, chatIds: readonly string[]): Promise<KnownGroup[]> {
  if (chatIds.length === 0) return [];
  const { rows } = await db.query<Row>(`${SELECT} WHERE chat_id = ANY($1::text[]) ORDER BY session, chat_id`, [chatIds]);
  return rows.map(fromRow);
}

interface Row {
  session: string;
  chat_id: string;
  name: string | null;
  member: boolean;
  admin: boolean;
  admins_only: boolean;
  seen_at: Date;
}

const SELECT = `SELECT session, chat_id, name, member, admin, admins_only, seen_at FROM wa_group_members`;

const fromRow = (r: Row): KnownGroup => ({ session: r.session, chatId: r.chat_id, name: r.name, member: r.member, admin: r.admin, adminsOnly: r.admins_only, seenAt: r.seen_at });

/**
 * Why a message to this group cannot go, from what is known: `not_in_group: …` or `not_group_admin: …`;
 * null when it may go (a member, an admin where only admins write, or nothing known).
 */
export function groupRefusal(group: KnownGroup | null): string | null {
  if (!group) return null;
  const label = group.name ? `${group.name} (${group.chatId})` : group.chatId;
  const seen = group.seenAt.toISOString();
  if (!group.member) return `not_in_group: this number (session ${group.session}) is not a member of ${label}, as WhatsApp said at ${seen}`;
  if (group.adminsOnly && !group.admin) return `not_group_admin: only admins may send to ${label} and this number (session ${group.session}) is not one, as WhatsApp said at ${seen}`;
  return null;
}

/** What a session's number knows of its groups, at a glance. */
export interface GroupCounts {
  /** Groups it is a member of. */
  member: number;
  /** Of those, where it is an admin. */
  admin: number;
  /** Of those, where only admins write and it is none: it cannot send there. */
  readOnly: number;
  /** When its groups were last seen (a listing or an event). */
  seenAt: Date;
}

/** Each session's groups at a glance; a session whose groups were never listed has no entry. */
export async function groupCountsBySession(db: Queryable): Promise<Map<string, GroupCounts>> {
  const { rows } = await db.query<{ session: string; member: number; admin: number; read_only: number; seen_at: Date }>(
    `SELECT session, count(*) FILTER (WHERE member)::int AS member, count(*) FILTER (WHERE member AND admin)::int AS admin,
            count(*) FILTER (WHERE member AND admins_only AND NOT admin)::int AS read_only, max(seen_at) AS seen_at
       FROM wa_group_members GROUP BY session`,
  );
  return new Map(rows.map((r) => [r.session, { member: r.member, admin: r.admin, readOnly: r.read_only, seenAt: r.seen_at }]));
}
