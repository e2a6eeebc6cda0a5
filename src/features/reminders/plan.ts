/**
 * A reminder run: what goes to whom this time, kept as the plan (wa_reminder_plan), which replaces the
 * last run's (what that one had not released is counted as expired in its report). The stages, per
 * person and day (wa_reminder_state): thanked, nothing more; done, the one thank-you; not done, a
 * reminder with the links still to do (once per run). A unit without posts today plans nothing.
 */
import type pg from 'pg';
import type { Queryable } from '../../db/pool.js';
import { todaysRecipients, type Recipient } from './recipients.js';
import { predictSessions } from './sessions.js';

export const REMINDER_TYPE = 'engagement-reminder';
export const THANKS_TYPE = 'engagement-thanks';
/** One plan or release at a time, across instances (pg_advisory_xact_lock key). */
export const PLAN_LOCK = 'cicero-wa engagement reminders';

export type PlanKind = 'reminder' | 'thanks';

export interface StateRow {
  chat_id: string;
  client_id: string;
  stage: 'reminded' | 'thanked';
  last_slot: Date;
}

export interface PlannedCounts {
  thanks: number;
  reminders: number;
  /** Plan rows of earlier runs dropped unsent. */
  expiredEarlier: number;
}

export async function lockPlan(tx: pg.PoolClient): Promise<void> {
  await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [PLAN_LOCK]);
}

/** Drops plan rows (all, or those due to end by `until`), counting them as expired in their runs' reports. */
export async function expirePlan(tx: Queryable, until: Date | null): Promise<number> {
  const { rows } = await tx.query<{ n: number }>(
    `WITH gone AS (DELETE FROM wa_reminder_plan WHERE $1::timestamptz IS NULL OR expires_at <= $1 RETURNING slot),
          counted AS (SELECT slot, count(*)::int AS n FROM gone GROUP BY slot),
          reported AS (UPDATE wa_reminder_runs r SET expired = r.expired + c.n, waiting = greatest(r.waiting - c.n, 0), updated_at = now()
                         FROM counted c WHERE r.slot = c.slot RETURNING c.n)
     SELECT coalesce(sum(n), 0)::int AS n FROM counted`,
    [until],
  );
  return rows[0]?.n ?? 0;
}

/** What each recipient gets from the run at `slot`, given the day's stages so far. */
export function decide(recipients: readonly Recipient[], states: readonly StateRow[], slot: Date): Array<{ recipient: Recipient; kind: PlanKind }> {
  const byKey = new Map(states.map((s) => [`${s.chat_id}|${s.client_id}`, s]));
  const planned: Array<{ recipient: Recipient; kind: PlanKind }> = [];
  for (const recipient of recipients) {
    const state = byKey.get(`${recipient.chatId}|${recipient.clientId}`);
    if (state?.stage === 'thanked') continue;
    const done = recipient.instagramLinks.length === 0 && recipient.tiktokLinks.length === 0;
    if (done) planned.push({ recipient, kind: 'thanks' });
    else if (state?.last_slot.getTime() !== slot.getTime()) planned.push({ recipient, kind: 'reminder' });
  }
  return planned;
}

export interface PlanInput {
  slot: Date;
  day: string;
  units: readonly string[] | null;
  countryCode: string;
  expiresAt: Date;
}

/** Replaces the plan with this run's, and opens (or, for the same slot again, updates) its report. */
export async function writePlan(tx: pg.PoolClient, input: PlanInput): Promise<PlannedCounts> {
  await lockPlan(tx);
  // The same slot again: its unreleased rows are planned anew, not expired.
  await tx.query('DELETE FROM wa_reminder_plan WHERE slot = $1', [input.slot]);
  const expiredEarlier = await expirePlan(tx, null);
  const recipients = await todaysRecipients(tx, input.day, input.units, input.countryCode);
  const { rows: states } = await tx.query<StateRow>('SELECT chat_id, client_id, stage, last_slot FROM wa_reminder_state WHERE day = $1::date', [input.day]);
  const planned = decide(recipients, states, input.slot);
  const sessions = new Map<PlanKind, Map<string, string>>();
  for (const [kind, type] of [['reminder', REMINDER_TYPE], ['thanks', THANKS_TYPE]] as const) {
    sessions.set(kind, await predictSessions(tx, planned.filter((p) => p.kind === kind).map((p) => p.recipient.chatId), type));
  }
  await tx.query(
    `INSERT INTO wa_reminder_plan (slot, day, kind, chat_id, client_id, user_id, pangkat, nama, instagram_links, tiktok_links, session, expires_at)
     SELECT $1, $2::date, p.kind, p.chat_id, p.client_id, p.user_id, p.pangkat, p.nama,
            ARRAY(SELECT jsonb_array_elements_text(p.ig)), ARRAY(SELECT jsonb_array_elements_text(p.tt)), p.session, $3
       FROM jsonb_to_recordset($4::jsonb) AS p(kind text, chat_id text, client_id text, user_id text, pangkat text, nama text, ig jsonb, tt jsonb, session text)`,
    [
      input.slot,
      input.day,
      input.expiresAt,
      JSON.stringify(planned.map(({ recipient: r, kind }) => ({
        kind, chat_id: r.chatId, client_id: r.clientId, user_id: r.userId, pangkat: r.pangkat, nama: r.nama, ig: r.instagramLinks, tt: r.tiktokLinks,
        session: sessions.get(kind)!.get(r.chatId)!,
      }))),
    ],
  );
  const thanks = planned.filter((p) => p.kind === 'thanks').length;
  const reminders = planned.length - thanks;
  // The same slot again (a manual run, a catch-up): what it released before stays counted.
  await tx.query(
    `INSERT INTO wa_reminder_runs (slot, day, planned_thanks, planned_reminders, waiting, expires_at)
     VALUES ($1, $2::date, $3::int, $4::int, $3::int + $4::int, $5)
     ON CONFLICT (slot) DO UPDATE
        SET planned_thanks = wa_reminder_runs.released_thanks + EXCLUDED.planned_thanks,
            planned_reminders = wa_reminder_runs.released_reminders + EXCLUDED.planned_reminders,
            waiting = EXCLUDED.waiting, waiting_reason = NULL, waiting_until = NULL, expires_at = EXCLUDED.expires_at, updated_at = now()`,
    [input.slot, input.day, thanks, reminders, input.expiresAt],
  );
  return { thanks, reminders, expiredEarlier };
}
