/**
 * wa_task_broadcasts (migration 032), written only here: per unit and day, the links the unit's group
 * was last sent. Read and written inside the transaction that enqueues the broadcast, under a lock on
 * the unit and day, so two runs at once (a scheduled and a manual one) see each other's broadcast and a
 * restart repeats nothing.
 */
import type { Queryable } from '../../db/pool.js';

/** Distinct from the governor's advisory locks (the first key of the two-key form). */
const LOCK_NAMESPACE = 0x7461_736b; // 'task'

/** What a unit's group was last sent on a day. */
export interface BroadcastState {
  igShortcodes: string[];
  tiktokVideoIds: string[];
  /** How many broadcasts the group got that day. */
  broadcasts: number;
}

/** Holds the unit's day until the caller's transaction ends: one run at a time decides for it. */
export async function lockUnitDay(tx: Queryable, clientId: string, day: string): Promise<void> {
  await tx.query('SELECT pg_advisory_xact_lock($1::int, hashtext($2))', [LOCK_NAMESPACE, `${clientId}:${day}`]);
}

/** The unit's last broadcast of the day (YYYY-MM-DD), or null when it had none. */
export async function lastBroadcast(tx: Queryable, clientId: string, day: string): Promise<BroadcastState | null> {
  const { rows } = await tx.query<{ ig_shortcodes: string[]; tiktok_video_ids: string[]; broadcasts: number }>(
    'SELECT ig_shortcodes, tiktok_video_ids, broadcasts FROM wa_task_broadcasts WHERE client_id = $1 AND day = $2::date',
    [clientId, day],
  );
  const row = rows[0];
  return row ? { igShortcodes: row.ig_shortcodes, tiktokVideoIds: row.tiktok_video_ids, broadcasts: row.broadcasts } : null;
}

export interface BroadcastRecord {
  clientId: string;
  day: string;
  igShortcodes: readonly string[];
  tiktokVideoIds: readonly string[];
  groupId: string;
  outboxId: number;
  /** False when the outbox already held this set's message (counted once). */
  newMessage: boolean;
  at: Date;
}

/** The links the group has now been sent: the unit's state for the day, replaced. */
export async function recordBroadcast(tx: Queryable, record: BroadcastRecord): Promise<void> {
  await tx.query(
    `INSERT INTO wa_task_broadcasts (client_id, day, ig_shortcodes, tiktok_video_ids, group_id, outbox_id, broadcasts, broadcast_at)
     VALUES ($1, $2::date, $3::text[], $4::text[], $5, $6, 1, $7)
     ON CONFLICT (client_id, day) DO UPDATE
        SET ig_shortcodes = EXCLUDED.ig_shortcodes, tiktok_video_ids = EXCLUDED.tiktok_video_ids, group_id = EXCLUDED.group_id,
            outbox_id = EXCLUDED.outbox_id, broadcast_at = EXCLUDED.broadcast_at,
            broadcasts = wa_task_broadcasts.broadcasts + CASE WHEN $8 THEN 1 ELSE 0 END`,
    [record.clientId, record.day, record.igShortcodes, record.tiktokVideoIds, record.groupId, record.outboxId, record.at, record.newMessage],
  );
}
