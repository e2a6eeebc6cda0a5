/**
 * Why a pending message waits, as the governor recorded it: the row's own hold (quiet hours, a gap, a
 * budget: wa_outbox.deferred_until and deferred_reason, written when the dispatcher asked for it), or,
 * for a due row the dispatcher has not asked about, its session's hold (a pause, a spent budget: what
 * the governor would answer now). Nothing is guessed: a row without either has no `heldBack`.
 */
import { HOLD_KINDS, holdOf, type Hold } from '../../governor/holds.js';
import { formatZoned, isoZoned } from '../../lib/zoned-time.js';
import type { OutboxListRow } from '../../outbox/listing.js';
import type { OutboxSummary } from '../../outbox/summary.js';
import type { HttpDeps } from '../deps.js';

/** A hold as the API shows it (the schema below). */
export interface HeldBackJson {
  kind: Hold['kind'];
  scope: 'message' | 'session';
  until: string | null;
  untilLocal: string | null;
  reason: string;
}

const holdFields = {
  kind: { type: 'string', enum: [...HOLD_KINDS], description: 'the rule: quiet_hours, budget_minute, budget_hour, budget_day, warmup, cold_per_day, cold_gap, same_text, paused_operator, paused_cooling, paused_critical (other: a reason this version does not name)' },
  until: { type: 'string', nullable: true, description: 'ISO 8601 with the offset of CRON_TIMEZONE; null while a pause lasts until an operator resumes the session' },
  untilLocal: { type: 'string', nullable: true, description: 'the same time in CRON_TIMEZONE with the zone named, e.g. 2026-11-26 06:00:00 WIB' },
  reason: { type: 'string', description: "the governor's words, naming the setting, e.g. quiet hours (WA_QUIET_HOURS) for personal chats" },
} as const;

/** The schema of a message's `heldBack`. */
export const heldBackSchema = {
  type: 'object',
  nullable: true,
  description:
    "while a pending message waits for the ban-risk governor: why and until when. scope message: the governor's answer recorded on this row; " +
    "session: the row has not been asked about, and every message of its session waits (a pause, a spent budget). null: no hold",
  properties: { ...holdFields, scope: { type: 'string', enum: ['message', 'session'] } },
} as const;

/** Each named session's hold now (none without a governor in this process). */
export async function sessionHolds(deps: HttpDeps, sessions: Iterable<string | null>): Promise<Map<string, Hold | null>> {
  const holds = new Map<string, Hold | null>();
  for (const session of new Set(sessions)) {
    if (session !== null) holds.set(session, (await deps.governor?.sessionHold(session)) ?? null);
  }
  return holds;
}

function view(hold: Hold, timeZone: string): Omit<HeldBackJson, 'scope'> {
  return { kind: hold.kind, until: isoZoned(hold.until, timeZone), untilLocal: hold.until ? formatZoned(hold.until, timeZone) : null, reason: hold.reason };
}

/** A row's own hold while it lasts: a time not yet reached (a pause's hold is its session's, looked at afresh). */
function ownHold(row: Pick<OutboxListRow, 'deferredUntil' | 'deferredReason'>, now: Date): Hold | null {
  if (!row.deferredReason || !row.deferredUntil || row.deferredUntil <= now) return null;
  return holdOf(row.deferredUntil, row.deferredReason);
}

/** Why a row waits, if the governor holds it back. */
export function heldBackOf(row: OutboxListRow, holds: ReadonlyMap<string, Hold | null>, now: Date, timeZone: string): HeldBackJson | null {
  if (row.status !== 'pending') return null;
  const own = ownHold(row, now);
  if (own) return { ...view(own, timeZone), scope: 'message' };
  const hold = row.session === null ? null : holds.get(row.session);
  // The session's hold reaches the rows due before it ends.
  if (hold && (hold.until === null || row.nextAttemptAt < hold.until)) return { ...view(hold, timeZone), scope: 'session' };
  return null;
}

/**
 * The summary's waiting messages by rule: the rows' own holds (those still running), and the due rows
 * without one under the session's hold, one entry per kind (its latest end).
 */
export function heldSummary(summary: OutboxSummary['held'], holds: ReadonlyMap<string, Hold | null>, timeZone: string): Array<Omit<HeldBackJson, 'scope'> & { count: number }> {
  const byKind = new Map<Hold['kind'], { hold: Hold; count: number }>();
  const add = (hold: Hold, count: number) => {
    const seen = byKind.get(hold.kind);
    if (!seen) byKind.set(hold.kind, { hold, count });
    else {
      seen.count += count;
      if (seen.hold.until && (!hold.until || hold.until > seen.hold.until)) seen.hold = hold;
    }
  };
  for (const h of summary.holds) add(holdOf(h.until, h.reason), h.count);
  for (const w of summary.waitingOnSession) {
    const hold = holds.get(w.session);
    if (hold && w.count > 0) add(hold, w.count);
  }
  return [...byKind.values()].map(({ hold, count }) => ({ ...view(hold, timeZone), count }));
}
