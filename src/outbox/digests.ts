/**
 * Digests: messages with a digest key (wa_outbox.digest_key, the API's digestKey) are not sent on their
 * own. Per recipient, key and session (when the producer named one), the messages whose window has
 * closed are folded into one digest row (type `digest`): a header in Bahasa Indonesia (the key, how many
 * entries, the window in CRON_TIMEZONE with the zone named) and each message as a line with its time.
 * The window starts at the first waiting message's created_at and lasts WA_DIGEST_WINDOW_MINUTES, or
 * the key's own minutes (WA_DIGEST_WINDOWS).
 *
 * The composer runs in the outbox maintenance, one transaction per run, one composer at a time across
 * instances (a transaction-scoped advisory lock; the originals are locked FOR UPDATE SKIP LOCKED): the
 * digest rows are written, their count kept (digest_count) and every original linked (digest_id) in
 * that transaction, and each digest row's dedup key comes from its group and window, so a run that died
 * before its commit and ran again writes no second digest. A digest longer than one row may be
 * (MAX_CONTENT_CHARS) becomes several digest rows ("bagian 1 dari 2"); each row is split into WhatsApp's
 * parts when it is sent, as any message is (delivery/split-text.ts).
 *
 * The originals keep the five statuses: pending while they wait (deferred_reason says until when, then
 * which digest), and they end as their digest ends (migration 033's trigger). A key that is not valid,
 * a key on a document, or a text too long to be an entry is cleared and the row goes out as a plain
 * message, the reason in last_error: a bad key never holds a message back.
 */
import type pg from 'pg';
import { withTransaction } from '../db/pool.js';
import { zoneName, zonedParts } from '../lib/zoned-time.js';
import { DIGEST_ENTRY_MAX_BYTES, MAX_CONTENT_CHARS, enqueueOne } from './enqueue.js';
import { priorityName } from './priority.js';

/** The type of a digest row. */
export const DIGEST_TYPE = 'digest';

/** The database's spelling of DIGEST_KEY (a POSIX regular expression, the same characters and length). */
export const DIGEST_KEY_SQL = "'^[A-Za-z0-9._:-]{1,100}$'";

/** Room kept in each digest row for its header. */
const HEADER_ROOM = 400;

export interface DigestSettings {
  /** WA_DIGEST_WINDOW_MINUTES. */
  windowMinutes: number;
  /** WA_DIGEST_WINDOWS: minutes per key. */
  windows: Readonly<Record<string, number>>;
  /** CRON_TIMEZONE: the times people read. */
  timeZone: string;
}

export interface DigestRunResult {
  /** Digest rows written. */
  digests: number;
  /** Originals folded into them. */
  folded: number;
  /** Rows whose key was cleared: sent as plain messages. */
  plain: number;
  /** Originals still waiting for their window. */
  waiting: number;
  /** False when another instance was composing (this run did nothing). */
  ran: boolean;
}

/** The window of a key, in minutes. */
export function digestWindowMinutes(settings: DigestSettings, key: string): number {
  return Object.hasOwn(settings.windows, key) ? settings.windows[key]! : settings.windowMinutes;
}

interface Original {
  id: number;
  recipient: string;
  key: string;
  session: string | null;
  content: string;
  priority: number;
  at: Date;
}

const two = (n: number) => String(n).padStart(2, '0');

/** `10:05`: an entry's time in the zone. */
function clockTime(at: Date, timeZone: string): string {
  const p = zonedParts(at, timeZone);
  return `${two(p.hour)}:${two(p.minute)}`;
}

/** `04-12-2026 10:00–10:15 WIB` (both dates when the window passes midnight). */
export function windowLabel(from: Date, to: Date, timeZone: string): string {
  const day = (at: Date) => {
    const p = zonedParts(at, timeZone);
    return `${two(p.day)}-${two(p.month)}-${p.year}`;
  };
  const end = day(from) === day(to) ? clockTime(to, timeZone) : `${day(to)} ${clockTime(to, timeZone)}`;
  return `${day(from)} ${clockTime(from, timeZone)}–${end} ${zoneName(timeZone, from)}`;
}

/** One entry as a line of the digest: its time, then its text. */
function entryLine(original: Original, timeZone: string): string {
  return `${clockTime(original.at, timeZone)} ${original.content}`;
}

/**
 * The digest rows' texts for one closed window: as few rows as fit MAX_CONTENT_CHARS, each with its
 * header, every entry in exactly one of them, in order.
 */
export function digestTexts(key: string, entries: readonly Original[], from: Date, to: Date, timeZone: string): Array<{ text: string; count: number }> {
  const chunks: string[][] = [[]];
  let size = 0;
  for (const entry of entries) {
    const line = entryLine(entry, timeZone);
    const current = chunks[chunks.length - 1]!;
    if (current.length > 0 && size + line.length + 1 > MAX_CONTENT_CHARS - HEADER_ROOM) {
      chunks.push([line]);
      size = line.length;
    } else {
      current.push(line);
      size += line.length + 1;
    }
  }
  const window = windowLabel(from, to, timeZone);
  return chunks.map((lines, i) => {
    const header = chunks.length === 1
      ? `Ringkasan ${key}: ${lines.length} pesan, ${window}`
      : `Ringkasan ${key} (bagian ${i + 1} dari ${chunks.length}): ${lines.length} dari ${entries.length} pesan, ${window}`;
    return { text: `${header}\n\n${lines.join('\n')}`, count: lines.length };
  });
}

/**
 * The dedup key of a window's digest row: the group, the window's start and its first message (a message
 * written later with the same created_at opens a window of its own), the part.
 */
function digestDedupKey(first: Original, start: Date, part: number): string {
  return `digest:${first.key}:${first.recipient}:${first.session ?? '-'}:${start.toISOString()}:${first.id}:${part}`;
}

/** Rows with a key that cannot be folded lose it and go out as plain messages. Returns how many. */
async function clearUnfoldable(tx: pg.PoolClient): Promise<number> {
  const { rowCount } = await tx.query(
    `UPDATE wa_outbox
        SET last_error = 'digest_key ' || left(quote_literal(digest_key), 40) || CASE
              WHEN digest_key !~ ${DIGEST_KEY_SQL} THEN ' is not 1 to 100 of A-Z a-z 0-9 . _ : -'
              WHEN document IS NOT NULL OR document_name IS NOT NULL THEN ' is on a document, which a digest cannot fold'
              ELSE ' is on a text over ${DIGEST_ENTRY_MAX_BYTES} bytes, too long for a digest entry' END || ': sent as a plain message',
            digest_key = NULL, next_attempt_at = least(next_attempt_at, now()), updated_at = now()
      WHERE digest_key IS NOT NULL AND digest_id IS NULL AND status = 'pending'
        AND (digest_key !~ ${DIGEST_KEY_SQL} OR document IS NOT NULL OR document_name IS NOT NULL OR octet_length(content) > ${DIGEST_ENTRY_MAX_BYTES})`,
  );
  return rowCount ?? 0;
}

/** The originals waiting for a window, locked, by group and time. */
async function lockWaiting(tx: pg.PoolClient): Promise<Original[]> {
  const { rows } = await tx.query<{ id: number; recipient: string; digest_key: string; session: string | null; content: string; priority: number; at: Date }>(
    `SELECT id, recipient, digest_key, session, content, priority, created_at AT TIME ZONE current_setting('TimeZone') AS at
       FROM wa_outbox
      WHERE digest_key IS NOT NULL AND digest_id IS NULL AND status = 'pending'
      ORDER BY recipient, digest_key, session NULLS FIRST, created_at, id
      FOR UPDATE SKIP LOCKED`,
  );
  return rows.map((r) => ({ id: r.id, recipient: r.recipient, key: r.digest_key, session: r.session, content: r.content, priority: r.priority, at: r.at }));
}

/** Groups by recipient, key and session, each in time order (the order lockWaiting reads them in). */
function groups(originals: readonly Original[]): Original[][] {
  const byGroup = new Map<string, Original[]>();
  for (const o of originals) {
    const id = JSON.stringify([o.recipient, o.key, o.session]);
    byGroup.set(id, [...(byGroup.get(id) ?? []), o]);
  }
  return [...byGroup.values()];
}

/**
 * One run of the composer as of `now`: folds every closed window, and writes on the originals still
 * waiting until when they wait. Safe to run on several instances at once and to run again after a crash.
 */
export async function composeDigests(pool: pg.Pool, settings: DigestSettings, now: Date): Promise<DigestRunResult> {
  return withTransaction(pool, async (tx) => {
    const { rows: lock } = await tx.query<{ got: boolean }>("SELECT pg_try_advisory_xact_lock(hashtext('cicero_wa_outbox_digests')) AS got");
    if (!lock[0]!.got) return { digests: 0, folded: 0, plain: 0, waiting: 0, ran: false };
    const plain = await clearUnfoldable(tx);
    const result: DigestRunResult = { digests: 0, folded: 0, plain, waiting: 0, ran: true };
    const waits: Array<{ id: number; until: Date; reason: string }> = [];
    for (let rest of groups(await lockWaiting(tx))) {
      const minutes = digestWindowMinutes(settings, rest[0]!.key);
      while (rest.length > 0) {
        const start = rest[0]!.at;
        const end = new Date(start.getTime() + minutes * 60_000);
        if (end > now) {
          const reason = `menunggu ringkasan ${rest[0]!.key} sampai ${clockTime(end, settings.timeZone)} ${zoneName(settings.timeZone, end)}`;
          for (const o of rest) waits.push({ id: o.id, until: end, reason });
          result.waiting += rest.length;
          break;
        }
        const members = rest.filter((o) => o.at < end);
        rest = rest.slice(members.length);
        await writeDigest(tx, members, start, end, settings.timeZone, result);
      }
    }
    if (waits.length > 0) {
      await tx.query(
        `UPDATE wa_outbox o SET deferred_until = w.until, deferred_reason = w.reason
           FROM unnest($1::int[], $2::timestamptz[], $3::text[]) AS w(id, until, reason)
          WHERE o.id = w.id AND o.deferred_reason IS DISTINCT FROM w.reason`,
        [waits.map((w) => w.id), waits.map((w) => w.until), waits.map((w) => w.reason)],
      );
    }
    return result;
  });
}

/** The digest row(s) of one closed window, their counts, and every member linked to its row. */
async function writeDigest(tx: pg.PoolClient, members: Original[], start: Date, end: Date, timeZone: string, result: DigestRunResult): Promise<void> {
  const first = members[0]!;
  const priority = priorityName(Math.min(...members.map((m) => m.priority)));
  let offset = 0;
  const texts = digestTexts(first.key, members, start, end, timeZone);
  for (const [part, { text, count }] of texts.entries()) {
    const written = await enqueueOne(tx, {
      recipient: first.recipient,
      content: text,
      type: DIGEST_TYPE,
      dedupKey: digestDedupKey(first, start, part),
      priority,
      ...(first.session !== null ? { session: first.session } : {}),
    });
    await tx.query('UPDATE wa_outbox SET digest_count = coalesce(digest_count, $2) WHERE id = $1', [written.id, count]);
    const ids = members.slice(offset, offset + count).map((m) => m.id);
    await tx.query(
      `UPDATE wa_outbox SET digest_id = $1, deferred_reason = 'dalam ringkasan #' || $1::int, deferred_until = NULL, updated_at = now()
        WHERE id = ANY($2::int[])`,
      [written.id, ids],
    );
    offset += count;
    if (written.inserted) result.digests++;
    result.folded += ids.length;
  }
}
