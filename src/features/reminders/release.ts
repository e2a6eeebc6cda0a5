/**
 * The release: moves planned reminders into the outbox in slices no larger than what each number may
 * send now, as the governor says (Governor.room: the budgets left, warm-up included; the cold budget
 * left; pauses and quiet hours), less what was released before and is still pending there. People who
 * have not written to the number get one message at a time (WA_COLD_GAP_SECONDS): the next is released
 * once the last has gone. Reminders go before thank-yous. Each message is written with its stage
 * (wa_reminder_state) in one transaction; its session is left to the router. What reaches its plan's
 * end is dropped and counted, never sent late: planned rows, and released rows still pending (cancelled).
 */
import type pg from 'pg';
import { withTransaction } from '../../db/pool.js';
import type { Room } from '../../governor/room.js';
import { formatZoned } from '../../lib/zoned-time.js';
import { enqueue, type OutboxMessage } from '../../outbox/enqueue.js';
import { cancelRows } from '../../outbox/operator-actions.js';
import { localTime } from './day.js';
import { todaysRecipients } from './recipients.js';
import { expirePlan, lockPlan, REMINDER_TYPE, THANKS_TYPE, type PlanKind } from './plan.js';
import { reminderText, thanksText } from './text.js';

/** What sizes the slices: the governor's room for a session (Governor.room). */
export interface RoomSource {
  room(session: string, chatIds: readonly string[]): Promise<Room>;
}

export interface ReleaseOptions {
  pool: pg.Pool;
  timeZone: string;
  rooms: RoomSource;
  /** WA_COLD_GAP_SECONDS as the governor has it: [0, 0] lets cold messages go together. */
  coldGapMs: readonly [number, number];
  /** REMINDER_UNITS and the country code: who is still a recipient when their turn comes. */
  units: readonly string[] | null;
  countryCode: string;
  now: () => Date;
}

export interface ReleaseResult {
  released: { thanks: number; reminders: number };
  expired: number;
  /** Planned people who were no longer recipients when their turn came (opted out, left the unit…). */
  withdrawn: number;
  /** Planned messages still held back, and why (the first number's reason), until when. */
  waiting: number;
  reason: string | null;
  until: Date | null;
}

interface PlanRow {
  id: number;
  slot: Date;
  day: string;
  kind: PlanKind;
  chat_id: string;
  client_id: string;
  user_id: string;
  pangkat: string | null;
  nama: string | null;
  instagram_links: string[];
  tiktok_links: string[];
  session: string;
}

/** A planned message given a place in this slice; `inserted` once it is written (false: its dedup key was there). */
interface Chosen {
  row: PlanRow;
  cold: boolean;
  inserted: boolean;
}

/**
 * The chosen people read again as recipients now, as Cicero_V2 reads them when it sends: links done
 * since are left out, and someone done since gets the thank-you instead. Those no longer recipients
 * (notifwa#off since, inactive, another unit) are withdrawn from the plan and returned.
 */
async function refresh(tx: pg.PoolClient, chosen: Chosen[], options: ReleaseOptions): Promise<PlanRow[]> {
  if (chosen.length === 0) return [];
  const day = chosen[0]!.row.day;
  const now = await todaysRecipients(tx, day, options.units, options.countryCode, chosen.map((c) => c.row.chat_id));
  const byKey = new Map(now.map((r) => [`${r.chatId}|${r.clientId}`, r]));
  const withdrawn: PlanRow[] = [];
  for (const { row } of chosen) {
    const current = byKey.get(`${row.chat_id}|${row.client_id}`);
    if (!current) {
      withdrawn.push(row);
      continue;
    }
    row.instagram_links = current.instagramLinks;
    row.tiktok_links = current.tiktokLinks;
    row.kind = current.instagramLinks.length + current.tiktokLinks.length === 0 ? 'thanks' : 'reminder';
  }
  if (withdrawn.length > 0) await tx.query('DELETE FROM wa_reminder_plan WHERE id = ANY($1::bigint[])', [withdrawn.map((w) => w.id)]);
  return withdrawn;
}

export async function releasePlanned(options: ReleaseOptions): Promise<ReleaseResult> {
  const now = options.now();
  return withTransaction(options.pool, async (tx) => {
    await lockPlan(tx);
    const expired = (await expirePlan(tx, now)) + (await cancelOverdue(tx, now));
    // A person thanked meanwhile gets nothing more that day.
    await tx.query(
      `DELETE FROM wa_reminder_plan p USING wa_reminder_state s
        WHERE s.day = p.day AND s.chat_id = p.chat_id AND s.client_id = p.client_id AND s.stage = 'thanked'`,
    );
    const { rows: plan } = await tx.query<PlanRow>(
      `SELECT id, slot, to_char(day, 'YYYY-MM-DD') AS day, kind, chat_id, client_id, user_id, pangkat, nama, instagram_links, tiktok_links, session
         FROM wa_reminder_plan ORDER BY kind = 'thanks', id`,
    );
    const result: ReleaseResult = { released: { thanks: 0, reminders: 0 }, expired, withdrawn: 0, waiting: 0, reason: null, until: null };
    if (plan.length === 0) return result;

    const { rows: pending } = await tx.query<{ session: string; all: number; cold: number }>(
      `SELECT s.session, count(*)::int AS all, count(*) FILTER (WHERE s.cold)::int AS cold
         FROM wa_reminder_state s JOIN wa_outbox o ON o.id = s.outbox_id
        WHERE o.status = 'pending' AND s.day >= $1::date - 1
        GROUP BY s.session`,
      [plan[0]!.day],
    );
    const chosen: Chosen[] = [];
    const holds: Array<{ session: string; reason: string; until: Date | null }> = [];
    for (const session of [...new Set(plan.map((r) => r.session))]) {
      const rows = plan.filter((r) => r.session === session);
      const room = await options.rooms.room(session, rows.map((r) => r.chat_id));
      const inFlight = pending.find((p) => p.session === session) ?? { all: 0, cold: 0 };
      const cold = new Set(room.coldChats);
      let total = Math.max(0, room.total - inFlight.all);
      const oneAtATime = options.coldGapMs[1] > 0;
      let coldLeft = oneAtATime ? (inFlight.cold > 0 ? 0 : Math.min(1, room.cold)) : Math.max(0, room.cold - inFlight.cold);
      let held = 0;
      for (const row of rows) {
        const isCold = cold.has(row.chat_id);
        if (total > 0 && (!isCold || coldLeft > 0)) {
          chosen.push({ row, cold: isCold, inserted: false });
          total--;
          if (isCold) coldLeft--;
        } else held++;
      }
      if (held > 0) holds.push({ session, reason: holdReason(room, session, inFlight.all, total === 0, oneAtATime), until: room.until });
      result.waiting += held;
    }
    // One number: its reason; several: each number's, the earliest end first.
    holds.sort((a, b) => (a.until?.getTime() ?? Infinity) - (b.until?.getTime() ?? Infinity));
    result.reason = holds.length === 0 ? null : holds.length === 1 ? holds[0]!.reason : holds.map((h) => `${h.session}: ${h.reason}`).join('; ');
    result.until = holds[0]?.until ?? null;
    const withdrawn = await refresh(tx, chosen, options);
    result.withdrawn = withdrawn.length;
    await write(tx, chosen.filter((c) => !withdrawn.includes(c.row)), options.timeZone, now, result);
    const released = chosen.filter((c) => !withdrawn.includes(c.row) && c.inserted);
    // The report of each planned run: released so far, withdrawn, still waiting and why.
    await tx.query(
      `UPDATE wa_reminder_runs r
          SET released_thanks = r.released_thanks + coalesce((SELECT sum(n) FROM unnest($2::timestamptz[], $3::text[], $4::int[]) AS x(slot, kind, n) WHERE x.slot = r.slot AND x.kind = 'thanks'), 0),
              released_reminders = r.released_reminders + coalesce((SELECT sum(n) FROM unnest($2::timestamptz[], $3::text[], $4::int[]) AS x(slot, kind, n) WHERE x.slot = r.slot AND x.kind = 'reminder'), 0),
              withdrawn = r.withdrawn + (SELECT count(*) FROM unnest($7::timestamptz[]) AS w(slot) WHERE w.slot = r.slot),
              waiting = (SELECT count(*) FROM wa_reminder_plan p WHERE p.slot = r.slot),
              waiting_reason = CASE WHEN EXISTS (SELECT 1 FROM wa_reminder_plan p WHERE p.slot = r.slot) THEN $5 END,
              waiting_until = CASE WHEN EXISTS (SELECT 1 FROM wa_reminder_plan p WHERE p.slot = r.slot) THEN $6::timestamptz END,
              updated_at = now()
        WHERE r.slot = ANY($1::timestamptz[])`,
      [
        [...new Set(plan.map((r) => r.slot.toISOString()))],
        released.map((c) => c.row.slot), released.map((c) => c.row.kind), released.map(() => 1),
        result.reason, result.until,
        withdrawn.map((w) => w.slot),
      ],
    );
    return result;
  });
}

/**
 * Messages released but still unsent when their run's plan ended (WhatsApp away, a pause since) are
 * cancelled, never sent late: counted as expired, no longer as released, in their run's report.
 */
async function cancelOverdue(tx: pg.PoolClient, now: Date): Promise<number> {
  const { rows } = await tx.query<{ id: number; slot: Date; thanks: boolean }>(
    `SELECT o.id::int AS id, r.slot, s.stage = 'thanked' AS thanks
       FROM wa_reminder_state s
       JOIN wa_reminder_runs r ON r.slot = s.last_slot
       JOIN wa_outbox o ON o.id = s.outbox_id
      WHERE o.status = 'pending' AND r.expires_at <= $1 AND s.day >= r.day - 1`,
    [now],
  );
  if (rows.length === 0) return 0;
  const done = new Set((await cancelRows(tx, rows.map((r) => r.id))).filter((a) => a.done).map((a) => a.id));
  const cancelled = rows.filter((r) => done.has(r.id));
  await tx.query(
    `UPDATE wa_reminder_runs r
        SET released_thanks = r.released_thanks - x.thanks, released_reminders = r.released_reminders - x.reminders,
            expired = r.expired + x.thanks + x.reminders, updated_at = now()
       FROM (SELECT slot, count(*) FILTER (WHERE thanks)::int AS thanks, count(*) FILTER (WHERE NOT thanks)::int AS reminders
               FROM unnest($1::timestamptz[], $2::bool[]) AS c(slot, thanks) GROUP BY slot) x
      WHERE r.slot = x.slot`,
    [cancelled.map((c) => c.slot), cancelled.map((c) => c.thanks)],
  );
  return cancelled.length;
}

/** Why a session's planned messages wait: the governor's hold, else what this slice filled. */
function holdReason(room: Room, session: string, inFlight: number, totalFilled: boolean, oneAtATime: boolean): string {
  if (room.reason) return room.reason;
  if (totalFilled) return inFlight > 0 ? `${inFlight} released message(s) still waiting to be sent from ${session} (${room.bounds.total})` : `${room.bounds.total} reached`;
  return oneAtATime ? 'people who have not written get one message at a time (WA_COLD_GAP_SECONDS)' : `${room.bounds.cold} reached`;
}

/** The chosen messages into the outbox, each with its stage, and out of the plan. */
async function write(tx: pg.PoolClient, chosen: Chosen[], timeZone: string, now: Date, result: ReleaseResult): Promise<void> {
  if (chosen.length === 0) return;
  const messages: OutboxMessage[] = chosen.map(({ row }) => {
    const who = { pangkat: row.pangkat, nama: row.nama };
    return row.kind === 'thanks'
      ? { recipient: row.chat_id, type: THANKS_TYPE, priority: 'bulk', content: thanksText(who, now, timeZone), dedupKey: `${THANKS_TYPE}:${row.day}:${row.client_id}:${row.chat_id}` }
      : {
          recipient: row.chat_id, type: REMINDER_TYPE, priority: 'bulk',
          content: reminderText(who, { instagram: row.instagram_links, tiktok: row.tiktok_links }, now, timeZone),
          dedupKey: `${REMINDER_TYPE}:${row.day}:${row.client_id}:${row.chat_id}:${localTime(row.slot, timeZone)}`,
        };
  });
  const written = await enqueue(tx, messages);
  chosen.forEach((c, i) => {
    c.inserted = written[i]!.inserted;
  });
  const fresh = chosen.map((c, i) => ({ ...c, outboxId: written[i]!.id })).filter((c) => c.inserted);
  await tx.query(
    `INSERT INTO wa_reminder_state AS s (day, chat_id, client_id, user_id, stage, reminders, last_slot, outbox_id, session, cold)
     SELECT x.day, x.chat_id, x.client_id, x.user_id, x.stage, CASE WHEN x.stage = 'reminded' THEN 1 ELSE 0 END, x.slot, x.outbox_id, x.session, x.cold
       FROM unnest($1::date[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::bigint[], $8::text[], $9::bool[])
            AS x(day, chat_id, client_id, user_id, stage, slot, outbox_id, session, cold)
     ON CONFLICT (day, chat_id, client_id) DO UPDATE
        SET stage = EXCLUDED.stage, reminders = s.reminders + EXCLUDED.reminders, last_slot = EXCLUDED.last_slot,
            outbox_id = EXCLUDED.outbox_id, session = EXCLUDED.session, cold = EXCLUDED.cold, user_id = EXCLUDED.user_id, updated_at = now()
      WHERE s.stage <> 'thanked'`,
    [
      fresh.map((c) => c.row.day), fresh.map((c) => c.row.chat_id), fresh.map((c) => c.row.client_id), fresh.map((c) => c.row.user_id),
      fresh.map((c) => (c.row.kind === 'thanks' ? 'thanked' : 'reminded')), fresh.map((c) => c.row.slot), fresh.map((c) => c.outboxId),
      fresh.map((c) => c.row.session), fresh.map((c) => c.cold),
    ],
  );
  await tx.query('DELETE FROM wa_reminder_plan WHERE id = ANY($1::bigint[])', [chosen.map((c) => c.row.id)]);
  for (const c of fresh) result.released[c.row.kind === 'thanks' ? 'thanks' : 'reminders']++;
}

/** One line for the run ledger: released, expired, waiting and why. */
export function describeRelease(r: ReleaseResult, timeZone: string): string {
  const parts = [`${r.released.reminders} reminder(s) and ${r.released.thanks} thank-you(s) released`];
  if (r.expired > 0) parts.push(`${r.expired} expired unsent`);
  if (r.withdrawn > 0) parts.push(`${r.withdrawn} no longer to be sent (opted out or no longer a recipient)`);
  if (r.waiting > 0) parts.push(`${r.waiting} waiting: ${r.reason ?? 'held back'}${r.until ? `, until ${formatZoned(r.until, timeZone)}` : ''}`);
  return parts.join('; ');
}
