/**
 * The complaint responder. A run takes pending complaints oldest first in batches (SKIP LOCKED, so
 * instances never take the same one) and, in one transaction per batch, enqueues each standard reply
 * (dedup key per complaint) and marks the complaint `queued`. A complainant that is not a phone number
 * or WhatsApp id makes the complaint `failed` with `invalid_recipient` and writes no outbox row.
 *
 * The complaint's status follows its reply: the dispatcher's outcome hook marks it `responded` (with
 * the send time) or `failed` in the transaction that marks the outbox row. Each run also reconciles
 * queued complaints whose reply ended otherwise (cancelled or deleted by an operator), so no complaint
 * stays queued forever.
 */
import type pg from 'pg';
import type { Clock } from '../../lib/clock.js';
import { withTransaction, type Queryable } from '../../db/pool.js';
import type { JobHandler } from '../../jobs.js';
import type { Logger } from '../../lib/logger.js';
import { SingleFlight } from '../../lib/single-flight.js';
import type { OutcomeHook } from '../../outbox/outcomes.js';
import { outboxStates } from '../../outbox/admin.js';
import { enqueue, type OutboxMessage } from '../../outbox/enqueue.js';
import { normaliseRecipient } from '../../whatsapp/recipient.js';
import { claimPending, markFailed, type PendingComplaint, markFailedByOutbox, markQueued, markRespondedByOutbox, normaliseStatuses, queuedComplaints } from './complaint-queue.js';
import { composeReply, type Complainant, type Templates } from './reply.js';
import { whatsappNumberIs } from '../personnel.js';

export const COMPLAINT_REPLY_TYPE = 'complaint-reply';

export interface ResponderOptions {
  pool: pg.Pool;
  templates: Templates;
  timeZone: string;
  defaultCountryCode: string;
  batchSize?: number;
}

/** Whether the database has Cicero_V2's personnel (checked without failing the transaction). */
async function hasPersonnel(db: Queryable): Promise<boolean> {
  const { rows } = await db.query<{ ok: boolean }>(`SELECT to_regclass('"user"') IS NOT NULL AND to_regclass('clients') IS NOT NULL AS ok`);
  return rows[0]?.ok === true;
}

/**
 * Who complained, from Cicero_V2's personnel when the database has it: by the NRP the complaint gave
 * (a complaint that arrived by WhatsApp), else by the number; else what the complaint itself said.
 */
async function lookUpComplainant(db: Queryable, complaint: PendingComplaint, chatId: string, defaultCountryCode: string, personnel: boolean): Promise<Complainant> {
  const digits = chatId.split('@')[0]!;
  const given = complaint.parsed;
  const who: Complainant = { nomor: complaint.complainant.trim(), nama: given?.name ?? null, pangkat: null, nrp: given?.nrp ?? null, satker: given?.unit ?? null };
  if (!personnel || (!given?.nrp && !chatId.endsWith('@c.us'))) return who;
  const { rows } = await db.query<{ user_id: string; nama: string | null; title: string | null; satker: string | null }>(
    `SELECT u.user_id, u.nama, u.title, c.nama AS satker
       FROM "user" u LEFT JOIN clients c ON c.client_id = u.client_id
      WHERE CASE WHEN $3::text IS NOT NULL THEN u.user_id = $3
                 ELSE ${whatsappNumberIs('u', '$1', '$2')} END
      ORDER BY u.status IS DISTINCT FROM false DESC LIMIT 1`,
    [digits, defaultCountryCode, given?.nrp ?? null],
  );
  const row = rows[0];
  return row ? { ...who, nama: row.nama, pangkat: row.title, nrp: row.user_id, satker: row.satker ?? who.satker } : who;
}

/** One pass: reconcile, then answer every pending complaint. Returns replies enqueued and complaints failed. */
async function respond(options: ResponderOptions, clock: Clock, logger: Logger): Promise<{ enqueued: number; failed: number }> {
  const { pool, templates, timeZone, defaultCountryCode } = options;
  const odd = await normaliseStatuses(pool);
  if (odd.length > 0) {
    logger.warn({ statuses: odd }, 'complaints with a status the service does not know are left alone: see cicero-wa complaints list --status other; cicero-wa complaints retry <id> answers one');
  }
  await reconcile(pool, logger);
  let enqueued = 0;
  let failed = 0;
  for (;;) {
    const batch = await withTransaction(pool, async (tx) => {
      const complaints = await claimPending(tx, options.batchSize ?? 100);
      const personnel = complaints.length > 0 && (await hasPersonnel(tx));
      const invalid: Array<{ id: number; reason: string }> = [];
      const replies: Array<{ id: number; message: OutboxMessage }> = [];
      for (const complaint of complaints) {
        // A complaint that arrived by WhatsApp is answered in its chat (the reporter's, or the unit's group).
        const recipient = normaliseRecipient(complaint.replyChat ?? complaint.complainant, defaultCountryCode);
        if (!recipient.ok) {
          invalid.push({ id: complaint.id, reason: `invalid_recipient: ${recipient.reason}` });
          continue;
        }
        const who = await lookUpComplainant(tx, complaint, recipient.chatId, defaultCountryCode, personnel);
        const reply = composeReply(complaint.responseTemplate, who, templates, clock.now(), timeZone);
        if (reply.unknownKey) logger.warn({ complaint: complaint.id, key: reply.unknownKey }, 'unknown complaint template key; answered with the generic template');
        if (reply.unknownPlaceholders.length) logger.warn({ complaint: complaint.id, placeholders: reply.unknownPlaceholders }, 'unknown placeholders left as written');
        replies.push({ id: complaint.id, message: { recipient: recipient.chatId, content: reply.text, type: COMPLAINT_REPLY_TYPE, dedupKey: `complaint:${complaint.id}`, priority: 'reply' } });
      }
      for (const { id, reason } of invalid) await markFailed(tx, [id], reason);
      const results = await enqueue(tx, replies.map((r) => r.message));
      await markQueued(tx, replies.map((r, i) => ({ id: r.id, outboxId: results[i]!.id })));
      return { taken: complaints.length, enqueued: results.filter((r) => r.inserted).length, failed: invalid.length };
    });
    enqueued += batch.enqueued;
    failed += batch.failed;
    if (batch.taken === 0) return { enqueued, failed };
  }
}

/** Queued complaints whose reply was sent, failed, cancelled or deleted get the status that says so. */
async function reconcile(pool: pg.Pool, logger: Logger): Promise<void> {
  const queued = await queuedComplaints(pool);
  if (queued.length === 0) return;
  const states = await outboxStates(pool, queued.flatMap((q) => (q.outboxId === null ? [] : [q.outboxId])));
  for (const complaint of queued) {
    const state = complaint.outboxId === null ? undefined : states.get(complaint.outboxId);
    if (!state) {
      await markFailed(pool, [complaint.id], 'reply_missing: its outbox row was deleted');
    } else if (state.status === 'sent' && state.sentAt) {
      await markRespondedByOutbox(pool, state.id, state.sentAt);
    } else if (state.status === 'failed' || state.status === 'cancelled') {
      await markFailedByOutbox(pool, state.id, state.status === 'cancelled' ? 'reply_cancelled: cancelled by an operator' : (state.lastError ?? 'reply failed'));
    } else {
      continue;
    }
    logger.info({ complaint: complaint.id, reply: state?.status ?? 'deleted' }, 'complaint status reconciled with its reply');
  }
}

export interface ComplaintResponder {
  /** The COMPLAINT_RESPONSE_CRON job. */
  handler: JobHandler;
  /** Answers now (a complaint was inserted); single-flight, outside the run ledger. */
  trigger(): void;
  /** Marks a complaint responded or failed when its reply's fate is known (register with the dispatcher). */
  outcomeHook: OutcomeHook;
  idle(): Promise<void>;
}

export function complaintResponder(options: ResponderOptions, clock: Clock, logger: Logger): ComplaintResponder {
  const passes = new SingleFlight(
    async () => {
      await respond(options, clock, logger);
    },
    (err) => logger.warn({ err: err.message }, 'answering complaints failed; the next run retries'),
  );
  return {
    handler: async ({ clock: runClock, logger: runLogger }) => {
      const { enqueued, failed } = await respond(options, runClock, runLogger);
      return { enqueued, detail: `${enqueued} repl${enqueued === 1 ? 'y' : 'ies'} queued, ${failed} complaint(s) failed` };
    },
    trigger: () => passes.trigger(),
    outcomeHook: async (tx, event) => {
      if (event.status === 'sent' && event.sentAt) await markRespondedByOutbox(tx, event.row.id, event.sentAt);
      else await markFailedByOutbox(tx, event.row.id, event.reason ?? 'reply failed');
    },
    idle: () => passes.idle(),
  };
}
