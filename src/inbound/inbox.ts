/**
 * The statements on wa_inbox: storing an incoming message once (by session and WhatsApp id), taking an
 * unhandled one for handling (locked, in the handler's transaction), marking it handled, listing.
 */
import type { Queryable } from '../db/pool.js';
import { isoZoned } from '../lib/zoned-time.js';
import type { InboundMessage } from '../whatsapp/transport.js';

/** A stored message: what WhatsApp reported (but its id, kept as `waMessageId`), and what became of it. */
export interface InboxRow extends Omit<InboundMessage, 'messageId' | 'isStatus'> {
  id: number;
  /** The session (the WhatsApp number) that heard it: what answers it goes out from. */
  session: string;
  waMessageId: string;
  receivedAt: Date;
  handledAt: Date | null;
  outcome: string | null;
}

const COLUMNS = 'id, session, wa_message_id, chat_id, is_group, sender_id, sender_phone, sender_lid, sender_name, body, media, sent_at, received_at, handled_at, outcome';

function toRow(r: Record<string, unknown>): InboxRow {
  return {
    id: Number(r.id),
    session: r.session as string,
    waMessageId: r.wa_message_id as string,
    chatId: r.chat_id as string,
    isGroup: r.is_group as boolean,
    senderId: r.sender_id as string,
    senderPhone: r.sender_phone as string | null,
    senderLid: r.sender_lid as string | null,
    senderName: r.sender_name as string | null,
    body: r.body as string,
    media: r.media as InboundMessage['media'],
    sentAt: r.sent_at as Date,
    receivedAt: r.received_at as Date,
    handledAt: r.handled_at as Date | null,
    outcome: r.outcome as string | null,
  };
}

/** Stores the message unless this session already has its WhatsApp id; returns the new row's id, or null. */
export async function storeInbound(db: Queryable, session: string, m: InboundMessage): Promise<number | null> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO wa_inbox (session, wa_message_id, chat_id, is_group, sender_id, sender_phone, sender_lid, sender_name, body, media, sent_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11)
     ON CONFLICT (session, wa_message_id) DO NOTHING
     RETURNING id`,
    [session, m.messageId, m.chatId, m.isGroup, m.senderId, m.senderPhone, m.senderLid, m.senderName, m.body.replace(/\u0000/g, ''), m.media ? JSON.stringify(m.media) : null, m.sentAt],
  );
  return rows[0] ? Number(rows[0].id) : null;
}

/** The message, locked for the caller's transaction, if it is still unhandled. */
export async function takeUnhandled(db: Queryable, id: number): Promise<InboxRow | null> {
  const { rows } = await db.query(`SELECT ${COLUMNS} FROM wa_inbox WHERE id = $1 AND handled_at IS NULL FOR UPDATE SKIP LOCKED`, [id]);
  return rows[0] ? toRow(rows[0]) : null;
}

export async function markHandled(db: Queryable, id: number, outcome: string): Promise<void> {
  await db.query('UPDATE wa_inbox SET handled_at = now(), outcome = $2 WHERE id = $1', [id, outcome]);
}

/** Messages stored but not handled (a crash in between), oldest first. */
export async function unhandledIds(db: Queryable, session: string): Promise<number[]> {
  const { rows } = await db.query<{ id: string }>('SELECT id FROM wa_inbox WHERE handled_at IS NULL AND session = $1 ORDER BY id', [session]);
  return rows.map((r) => Number(r.id));
}

export async function listInbox(db: Queryable, options: { limit: number; beforeId?: number }): Promise<InboxRow[]> {
  const { rows } = await db.query(`SELECT ${COLUMNS} FROM wa_inbox WHERE ($2::bigint IS NULL OR id < $2) ORDER BY id DESC LIMIT $1`, [options.limit, options.beforeId ?? null]);
  return rows.map(toRow);
}

/** Whether a group chat is some active unit's WhatsApp group (Cicero_V2's clients.client_group). */
export async function unitGroups(db: Queryable): Promise<Set<string> | null> {
  const { rows: exists } = await db.query<{ ok: boolean }>(`SELECT to_regclass('clients') IS NOT NULL AS ok`);
  if (!exists[0]?.ok) return null;
  const { rows } = await db.query<{ g: string }>(`SELECT DISTINCT trim(client_group) AS g FROM clients WHERE client_status IS NOT FALSE AND coalesce(trim(client_group), '') <> ''`);
  return new Set(rows.map((r) => r.g));
}

/** A message as a program reads it (`--json`, the API): times as ISO 8601 with the zone's offset. */
export function inboxJson(r: InboxRow, timeZone: string): Record<string, unknown> {
  return { ...r, sentAt: isoZoned(r.sentAt, timeZone), receivedAt: isoZoned(r.receivedAt, timeZone), handledAt: isoZoned(r.handledAt, timeZone) };
}
