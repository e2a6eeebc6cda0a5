/**
 * What the holder of a session shows the rest of the cluster, and what the rest asks of it, so the API
 * and dashboard of any instance show and control every number, wherever it runs:
 *
 * - **The live view** (wa_session_live): the session's WhatsApp state as its holder sees it, QR code and
 *   pairing code included, published by the holder at every change with its fence. A reader gets it only
 *   while that holder's lease is in force (a view left by a process that lost the session is never shown).
 * - **Commands** (wa_session_commands): a pairing code or a logout asked for on an instance that does not
 *   run the session is written here and announced on `wa_session_commands`; the holder takes it (within
 *   COMMAND_TAKE_WITHIN_MS, else never: a logout is not carried out minutes after it was asked for),
 *   carries it out and writes the answer, which the asking instance waits for.
 */
import type { Queryable } from '../db/pool.js';
import type { SessionHolderProof } from './registry.js';

export const SESSION_COMMANDS_CHANNEL = 'wa_session_commands';

/** A command older than this that nobody took is never carried out. */
export const COMMAND_TAKE_WITHIN_MS = 20_000;

/** A session's WhatsApp state as its holder sees it (JSON: times as ISO strings). */
export interface LiveView {
  /** The transport's name (wwebjs, log, fake). */
  transport: string;
  dryRun: boolean;
  state: string;
  reason: string | null;
  since: string;
  /** After a failure: the attempt that failed, and the wait from `since` to the next (when to try again). */
  retry: { attempt: number; delayMs: number } | null;
  webVersion: string | null;
  number: string | null;
  pageFix: { state: string; detail: string; alias: string | null; build: string | null; at: string | null } | null;
  /** The QR code's text or the pairing code WhatsApp issued last, while one is waiting to be used. */
  pairing: { qr: string | null; code: string | null; at: string } | null;
  /** A number is paired on this session (and not logged out). */
  paired: boolean;
}

/** The live view of a session held elsewhere, and who holds it. */
export interface HeldView {
  view: LiveView;
  owner: string;
  ownerHost: string | null;
  updatedAt: Date;
}

/** The holder publishes its view; written only while it still holds the session with this fence. */
export async function publishLiveView(db: Queryable, session: string, holder: SessionHolderProof, view: LiveView): Promise<void> {
  await db.query(
    `INSERT INTO wa_session_live (session, owner, fence, view, updated_at)
     SELECT name, $2, $3, $4::jsonb, now() FROM wa_sessions WHERE name = $1 AND owner = $2 AND fence = $3
     ON CONFLICT (session) DO UPDATE SET owner = EXCLUDED.owner, fence = EXCLUDED.fence, view = EXCLUDED.view, updated_at = now()`,
    [session, holder.owner, holder.fence, JSON.stringify(view)],
  );
}

/** The view of a session whose holder's lease is in force and who published it; null otherwise. */
export async function readLiveView(db: Queryable, session: string): Promise<HeldView | null> {
  const { rows } = await db.query<{ view: LiveView; owner: string; owner_host: string | null; updated_at: Date }>(
    `SELECT l.view, l.owner, s.owner_host, l.updated_at
       FROM wa_session_live l JOIN wa_sessions s ON s.name = l.session
      WHERE l.session = $1 AND s.owner = l.owner AND s.fence = l.fence AND s.lease_until > now()`,
    [session],
  );
  const row = rows[0];
  return row ? { view: row.view, owner: row.owner, ownerHost: row.owner_host, updatedAt: row.updated_at } : null;
}

export type SessionCommand = 'pairing_code' | 'logout';

/** What a command came to: its answer, or an error with a code the API passes on. */
export type CommandOutcome = { ok: true; result: Record<string, unknown> } | { ok: false; code: string; message: string; status: number };

/** Asks the holder of `session` for a command; returns its id (see awaitCommand). */
export async function requestCommand(db: Queryable, session: string, command: SessionCommand, argument: string | null, requestedBy: string): Promise<number> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO wa_session_commands (session, command, argument, requested_by) VALUES ($1, $2, $3, $4) RETURNING id`,
    [session, command, argument, requestedBy],
  );
  return Number(rows[0]!.id);
}

/** The holder takes the commands asked of it in the last COMMAND_TAKE_WITHIN_MS (each once). */
export async function takeCommands(db: Queryable, session: string, holder: SessionHolderProof): Promise<Array<{ id: number; command: SessionCommand; argument: string | null }>> {
  const { rows } = await db.query<{ id: string; command: SessionCommand; argument: string | null }>(
    `UPDATE wa_session_commands c SET taken_by = $2
      WHERE c.session = $1 AND c.taken_by IS NULL AND c.requested_at > now() - $4 * interval '1 millisecond'
        AND EXISTS (SELECT 1 FROM wa_sessions s WHERE s.name = $1 AND s.owner = $2 AND s.fence = $3 AND s.lease_until > now())
      RETURNING c.id, c.command, c.argument`,
    [session, holder.owner, holder.fence, COMMAND_TAKE_WITHIN_MS],
  );
  return rows.map((r) => ({ id: Number(r.id), command: r.command, argument: r.argument })).sort((a, b) => a.id - b.id);
}

export async function finishCommand(db: Queryable, id: number, outcome: CommandOutcome): Promise<void> {
  await db.query(
    `UPDATE wa_session_commands SET done_at = now(), result = $2::jsonb, error = $3::jsonb WHERE id = $1`,
    [id, outcome.ok ? JSON.stringify(outcome.result) : null, outcome.ok ? null : JSON.stringify({ code: outcome.code, message: outcome.message, status: outcome.status })],
  );
}

/** A command's outcome once its holder answered; null while it has not. */
export async function commandOutcome(db: Queryable, id: number): Promise<CommandOutcome | null> {
  const { rows } = await db.query<{ done_at: Date | null; result: Record<string, unknown> | null; error: { code: string; message: string; status: number } | null }>(
    `SELECT done_at, result, error FROM wa_session_commands WHERE id = $1`,
    [id],
  );
  const row = rows[0];
  if (!row?.done_at) return null;
  return row.error ? { ok: false, ...row.error } : { ok: true, result: row.result ?? {} };
}

/**
 * A command its asker stopped waiting for: if nobody took it yet, it never will be (true: nothing was
 * done); false when the holder already took it (it may have been carried out).
 */
export async function expireCommand(db: Queryable, id: number, by: string): Promise<boolean> {
  const { rowCount } = await db.query(`UPDATE wa_session_commands SET taken_by = $2, done_at = now(), error = $3::jsonb WHERE id = $1 AND taken_by IS NULL`, [
    id,
    `expired:${by}`,
    JSON.stringify({ code: 'expired', message: 'the asking instance stopped waiting before the holder took it', status: 504 }),
  ]);
  return (rowCount ?? 0) > 0;
}

/** Commands older than a day are deleted (they are kept that long to tell who asked what). */
export async function pruneCommands(db: Queryable): Promise<number> {
  const { rowCount } = await db.query(`DELETE FROM wa_session_commands WHERE requested_at < now() - interval '1 day'`);
  return rowCount ?? 0;
}
