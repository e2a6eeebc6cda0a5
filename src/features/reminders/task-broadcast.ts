/**
 * The task broadcast (job `task-broadcast`, TASK_BROADCAST_CRON): each unit's group gets Cicero_V2's
 * "Tugas Likes dan Komentar" message when the unit's posts of the day changed since the group's last
 * broadcast that day, the new links marked [BARU]. Cicero_V2 broadcasts for the units that are active
 * (`client_status`) with Instagram or TikTok switched on, to the group in `clients.client_group`.
 *
 * Each unit is decided in its own transaction, under a lock on the unit and day: the last broadcast
 * (wa_task_broadcasts), today's posts, the message enqueued and the new state written together, so a
 * restart or a second run at once repeats nothing. A group gets at most one broadcast per run (two
 * units sharing a group: the second waits for the next run). From TASK_BROADCAST_CUTOFF on, a run sends
 * nothing. A unit without a name or with a group id that is none is skipped with its reason in the
 * run's detail; the other units go on.
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { JobHandler, JobResult } from '../../jobs.js';
import { withTransaction, type Queryable } from '../../db/pool.js';
import { enqueue } from '../../outbox/enqueue.js';
import { zoneName, zonedParts } from '../../lib/zoned-time.js';
import { lastBroadcast, lockUnitDay, recordBroadcast } from './broadcast-state.js';
import { taskBroadcastText, type BroadcastPost } from './task-broadcast-text.js';

export const TASK_BROADCAST_TYPE = 'task-broadcast';

/** Cicero_V2's tables the broadcast reads. */
const SOURCE_TABLES = ['clients', 'insta_post', 'insta_like', 'tiktok_post', 'tiktok_comment'] as const;

export interface TaskBroadcastOptions {
  pool: pg.Pool;
  timeZone: string;
  /** TASK_BROADCAST_CUTOFF: minutes after midnight in timeZone. */
  cutoffMinute: number;
}

interface Unit {
  clientId: string;
  name: string | null;
  group: string | null;
  tiktokAccount: string | null;
}

const two = (n: number) => String(n).padStart(2, '0');
const hhmm = (minutes: number) => `${two(Math.floor(minutes / 60))}:${two(minutes % 60)}`;

/**
 * A unit's group as a chat id, or why it is none. Cicero_V2 also takes the group's number alone; the
 * older "creator-time" form of a group id is taken as well.
 */
export function unitGroup(raw: string | null): { chatId: string } | { problem: string } | null {
  const value = raw?.trim() ?? '';
  if (value === '') return null;
  const match = /^(\d{10,22}|\d{8,15}-\d{6,12})(@g\.us)?$/i.exec(value);
  return match ? { chatId: `${match[1]}@g.us` } : { problem: `client_group "${value.slice(0, 60)}" is not a WhatsApp group id (expected e.g. 120363000000000001@g.us)` };
}

/**
 * Counts the usernames in Cicero_V2's like or comment list the way it does: strings, or objects with a
 * `username` (else `user`) string; empty ones and anything else left out.
 */
function countedUsernames(column: string): string {
  return `(SELECT count(*) FROM jsonb_array_elements(CASE WHEN jsonb_typeof(${column}) = 'array' THEN ${column} ELSE '[]'::jsonb END) AS e(v)
            WHERE coalesce(CASE jsonb_typeof(v) WHEN 'string' THEN v #>> '{}'
                                                WHEN 'object' THEN CASE WHEN jsonb_typeof(v -> 'username') = 'string' THEN v ->> 'username'
                                                                        WHEN jsonb_typeof(v -> 'user') = 'string' THEN v ->> 'user' END END, '') <> '')::int`;
}

/** Today's posts of a unit ($1 its client_id; $2, $3 the day's local bounds), oldest first, as Cicero_V2 orders them. */
const POSTS = {
  instagram: `SELECT p.shortcode AS id, to_char(p.created_at, 'HH24:MI') AS uploaded_at, ${countedUsernames('l.likes')} AS count
                FROM insta_post p LEFT JOIN insta_like l ON l.shortcode = p.shortcode
               WHERE lower(btrim(p.client_id)) = lower(btrim($1)) AND p.created_at >= $2::timestamp AND p.created_at < $3::timestamp
               ORDER BY p.created_at, p.shortcode`,
  tiktok: `SELECT p.video_id AS id, to_char(p.created_at, 'HH24:MI') AS uploaded_at, ${countedUsernames('c.comments')} AS count
             FROM tiktok_post p LEFT JOIN tiktok_comment c ON c.video_id = p.video_id
            WHERE lower(btrim(p.client_id)) = lower(btrim($1)) AND p.created_at >= $2::timestamp AND p.created_at < $3::timestamp
            ORDER BY p.created_at, p.video_id`,
};

async function missingTables(db: Queryable): Promise<string[]> {
  const { rows } = await db.query<{ name: string }>(
    `SELECT name FROM unnest($1::text[]) AS name WHERE to_regclass(format('%I', name)) IS NULL`,
    [[...SOURCE_TABLES]],
  );
  return rows.map((r) => r.name);
}

async function broadcastUnits(db: Queryable): Promise<Unit[]> {
  const { rows } = await db.query<{ client_id: string; nama: string | null; client_group: string | null; client_tiktok: string | null }>(
    `SELECT client_id::text, nama::text, client_group::text, client_tiktok::text FROM clients
      WHERE client_status IS TRUE AND (client_insta_status IS TRUE OR client_tiktok_status IS TRUE)
      ORDER BY client_id`,
  );
  return rows.map((r) => ({
    clientId: r.client_id,
    name: r.nama?.trim() || null,
    group: r.client_group,
    tiktokAccount: r.client_tiktok?.trim().replace(/^@/, '') || null,
  }));
}

async function postsOf(tx: Queryable, sql: string, clientId: string, from: string, upTo: string): Promise<Array<Omit<BroadcastPost, 'isNew'>>> {
  const { rows } = await tx.query<{ id: string; uploaded_at: string | null; count: number }>(sql, [clientId, from, upTo]);
  return rows.map((r) => ({ id: r.id, uploadedAt: r.uploaded_at, count: r.count }));
}

const sameSet = (a: readonly string[], b: readonly string[]) => {
  const left = new Set(a);
  const right = new Set(b);
  return left.size === right.size && [...left].every((x) => right.has(x));
};

function linkSetKey(ig: readonly string[], tiktok: readonly string[]): string {
  const canonical = `${[...new Set(ig)].sort().join(',')}|${[...new Set(tiktok)].sort().join(',')}`;
  return createHash('sha256').update(canonical).digest('hex').slice(0, 16);
}

/** One unit's decision, in its own transaction. */
type Outcome =
  | { kind: 'sent'; newLinks: number; repeat: boolean }
  | { kind: 'unchanged' }
  | { kind: 'held'; group: string };

/** What one run did, for the run ledger. */
class RunReport {
  readonly sent: string[] = [];
  readonly repeats: string[] = [];
  readonly held: string[] = [];
  readonly skipped: string[] = [];
  readonly failed: string[] = [];
  unchanged = 0;
  withoutGroup = 0;
  enqueued = 0;

  result(when: string): JobResult {
    const parts = [`${when}: ${this.sent.length ? `broadcast to ${this.sent.join(', ')}` : 'no broadcast'}`];
    if (this.repeats.length) parts.push(`same links as an earlier broadcast today, not sent again: ${this.repeats.join(', ')}`);
    if (this.unchanged) parts.push(`${this.unchanged} unit(s) unchanged`);
    if (this.held.length) parts.push(`held back for the next run (one broadcast per group per run): ${this.held.join(', ')}`);
    if (this.skipped.length) parts.push(`skipped: ${this.skipped.join('; ')}`);
    if (this.withoutGroup) parts.push(`${this.withoutGroup} unit(s) without a group`);
    if (this.failed.length) parts.push(`failed: ${this.failed.join('; ')}`);
    return { enqueued: this.enqueued, detail: parts.join('; '), ...(this.held.length ? { heldBack: this.held.length } : {}) };
  }
}

export function taskBroadcastJob(options: TaskBroadcastOptions): JobHandler {
  const { pool, timeZone, cutoffMinute } = options;
  return async ({ clock, logger }) => {
    const now = clock.now();
    const local = zonedParts(now, timeZone);
    const zone = zoneName(timeZone, now);
    const day = `${local.year}-${two(local.month)}-${two(local.day)}`;
    const when = `${day} ${hhmm(local.hour * 60 + local.minute)} ${zone}`;
    if (local.hour * 60 + local.minute >= cutoffMinute) {
      return { enqueued: 0, detail: `${when}: past the cut-off ${hhmm(cutoffMinute)} ${zone} (TASK_BROADCAST_CUTOFF): nothing is broadcast until tomorrow` };
    }
    const missing = await missingTables(pool);
    if (missing.length) return { skipped: `no task broadcast: this database has no Cicero_V2 tables (missing: ${missing.join(', ')})` };

    const next = new Date(Date.UTC(local.year, local.month - 1, local.day + 1));
    const bounds = [`${day} 00:00:00`, `${next.toISOString().slice(0, 10)} 00:00:00`] as const;
    const report = new RunReport();
    const groupsThisRun = new Set<string>();

    for (const unit of await broadcastUnits(pool)) {
      const group = unitGroup(unit.group);
      if (group === null) {
        report.withoutGroup += 1;
        continue;
      }
      if ('problem' in group) {
        report.skipped.push(`${unit.clientId}: ${group.problem}`);
        continue;
      }
      const unitName = unit.name;
      if (!unitName) {
        report.skipped.push(`${unit.clientId}: clients.nama is empty`);
        continue;
      }
      try {
        const outcome = await withTransaction(pool, async (tx): Promise<Outcome> => {
          await lockUnitDay(tx, unit.clientId, day);
          const last = await lastBroadcast(tx, unit.clientId, day);
          const instagram = await postsOf(tx, POSTS.instagram, unit.clientId, ...bounds);
          const tiktok = await postsOf(tx, POSTS.tiktok, unit.clientId, ...bounds);
          const ig = instagram.map((p) => p.id);
          const tt = tiktok.map((p) => p.id);
          if (sameSet(ig, last?.igShortcodes ?? []) && sameSet(tt, last?.tiktokVideoIds ?? [])) return { kind: 'unchanged' };
          if (groupsThisRun.has(group.chatId)) return { kind: 'held', group: group.chatId };

          const seenIg = new Set(last?.igShortcodes ?? []);
          const seenTt = new Set(last?.tiktokVideoIds ?? []);
          const content = {
            unitName,
            tiktokAccount: unit.tiktokAccount,
            instagram: instagram.map((p) => ({ ...p, isNew: !seenIg.has(p.id) })),
            tiktok: tiktok.map((p) => ({ ...p, isNew: !seenTt.has(p.id) })),
            zone,
          };
          const [result] = await enqueue(tx, [{
            recipient: group.chatId,
            content: taskBroadcastText(content),
            type: TASK_BROADCAST_TYPE,
            dedupKey: `${TASK_BROADCAST_TYPE}:${unit.clientId}:${day}:${linkSetKey(ig, tt)}`,
            priority: 'bulk',
          }]);
          await recordBroadcast(tx, { clientId: unit.clientId, day, igShortcodes: ig, tiktokVideoIds: tt, groupId: group.chatId, outboxId: result!.id, newMessage: result!.inserted, at: now });
          if (result!.inserted) groupsThisRun.add(group.chatId);
          const newLinks = [...content.instagram, ...content.tiktok].filter((p) => p.isNew).length;
          return { kind: 'sent', newLinks, repeat: !result!.inserted };
        });
        if (outcome.kind === 'unchanged') report.unchanged += 1;
        else if (outcome.kind === 'held') report.held.push(`${unit.clientId} (${outcome.group})`);
        else if (outcome.repeat) report.repeats.push(unit.clientId);
        else {
          report.enqueued += 1;
          report.sent.push(`${unit.clientId} (${outcome.newLinks} [BARU])`);
        }
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        logger.warn({ unit: unit.clientId, err: message }, 'task broadcast of a unit failed');
        report.failed.push(`${unit.clientId}: ${message}`);
      }
    }
    if (report.failed.length && !report.sent.length && !report.unchanged) {
      throw new Error(`task broadcast failed for every unit it tried: ${report.failed.join('; ')}`);
    }
    return report.result(when);
  };
}
