/**
 * The complaint responder. A run takes pending complaints oldest first in batches (SKIP LOCKED, so
 * instances never take the same one) and, in one transaction per batch, enqueues each standard reply
 * (dedup key per complaint) and marks the complaint `queued`. A complainant that is not a phone number
 * or WhatsApp id makes the complaint `failed` with `invalid_recipient` and writes no outbox row.
 * Everything a complaint causes (its reply, the note to a unit's operator) goes out from the
 * complaint's session: the WhatsApp number that heard it (`default` for complaints other programs wrote).
 *
 * The complaint's status follows its reply: the dispatcher's outcome hook marks it `responded` (with
 * the send time) or `failed` in the transaction that marks the outbox row. Each run also reconciles
 * queued complaints whose reply ended otherwise (cancelled or deleted by an operator), so no complaint
 * stays queued forever.
 */
import pg from 'pg';
import type { Clock } from '../../lib/clock.js';
import { withTransaction, type Queryable } from '../../db/pool.js';
import type { JobHandler } from '../../jobs.js';
import type { Logger } from '../../lib/logger.js';
import { SingleFlight } from '../../lib/single-flight.js';
import type { OutcomeHook } from '../../outbox/outcomes.js';
import { outboxStates } from '../../outbox/listing.js';
import { enqueue, type OutboxMessage } from '../../outbox/enqueue.js';
import { normaliseRecipient } from '../../whatsapp/recipient.js';
import { claimPending, markFailed, type PendingComplaint, markFailedByOutbox, markQueued, markRespondedByOutbox, normaliseStatuses, queuedComplaints } from './complaint-queue.js';
import { composeReply, type Complainant, type Templates } from './reply.js';
import { hasPersonnel, isPersonnelNumber, numberDigits, personByNrp, whatsappNumberIs } from '../personnel.js';

export const COMPLAINT_REPLY_TYPE = 'complaint-reply';
/** The note to a unit's operator about a complaint sent from a number that is not the person's. */
export const OPERATOR_NOTICE_TYPE = 'complaint-operator-notice';
const SIGNATURE = '_Pesan otomatis Cicero_';

/** The person whose WhatsApp number this is: name, rank, NRP, unit; null when none. */
async function personByNumber(db: Queryable, digits: string, countryCode: string): Promise<Omit<Complainant, 'nomor'> | null> {
  const { rows } = await db.query<{ user_id: string; nama: string | null; title: string | null; satker: string | null }>(
    `SELECT u.user_id, u.nama, u.title, c.nama AS satker
       FROM "user" u LEFT JOIN clients c ON c.client_id = u.client_id
      WHERE ${whatsappNumberIs('u', '$1', '$2')}
      ORDER BY u.status IS DISTINCT FROM false DESC LIMIT 1`,
    [digits, countryCode],
  );
  const r = rows[0];
  return r ? { nama: r.nama, pangkat: r.title, nrp: r.user_id, satker: r.satker } : null;
}

export interface ResponderOptions {
  pool: pg.Pool;
  templates: Templates;
  timeZone: string;
  defaultCountryCode: string;
  batchSize?: number;
}

/**
 * Who is answered, and how. A complaint that arrived by WhatsApp names an NRP: the person is named in
 * the answer only when the sender's number is that person's WhatsApp number; anyone else gets the
 * answer without personal data, and the unit's operator (clients.client_operator) is told. A complaint
 * written by another program (no NRP read) is looked up by its number, as before. Answers to a sender
 * who is not personnel go at bulk priority.
 */
async function answerFor(
  db: Queryable,
  complaint: PendingComplaint,
  recipient: string,
  options: ResponderOptions,
  personnel: boolean,
): Promise<{ who: Complainant; priority: 'reply' | 'bulk'; note: string | null; operator: OutboxMessage | null }> {
  const { defaultCountryCode } = options;
  const sender = normaliseRecipient(complaint.complainant, defaultCountryCode);
  const senderDigits = sender.ok ? numberDigits(sender.chatId) : null;
  const given = complaint.parsed;
  const anonymous: Complainant = { nomor: complaint.complainant.trim(), nama: null, pangkat: null, nrp: null, satker: null };
  if (!personnel) return { who: { ...anonymous, nama: given?.name ?? null, nrp: given?.nrp ?? null, satker: given?.unit ?? null }, priority: 'reply', note: null, operator: null };
  const senderIsPersonnel = await isPersonnelNumber(db, senderDigits, defaultCountryCode);
  const priority = senderIsPersonnel ? 'reply' : 'bulk';
  if (!given?.nrp) {
    // Written by another program: the person is the number's owner, as Cicero_V2's own complaints are.
    const own = senderDigits ? await personByNumber(db, senderDigits, defaultCountryCode) : null;
    return { who: own ? { ...anonymous, ...own } : anonymous, priority: 'reply', note: null, operator: null };
  }
  const person = await personByNrp(db, given.nrp, senderDigits, defaultCountryCode);
  if (person?.isSender) {
    return { who: { nomor: anonymous.nomor, nama: person.nama, pangkat: person.pangkat, nrp: person.nrp, satker: person.satker }, priority, note: null, operator: null };
  }
  const note = 'Data personel tidak kami tampilkan karena nomor ini bukan nomor WhatsApp yang terdaftar untuk NRP tersebut. Operator satuan akan memeriksa laporan ini.';
  const operatorChat = person?.operator ? normaliseRecipient(person.operator, defaultCountryCode) : null;
  const operator: OutboxMessage | null = operatorChat?.ok && operatorChat.chatId !== recipient
    ? {
        recipient: operatorChat.chatId,
        session: complaint.session,
        content: [
          '*Laporan komplain perlu diperiksa*',
          `Satker: ${person!.satker ?? person!.clientId ?? '-'}`,
          `NRP: ${person!.nrp}${person!.nama ? ` (${[person!.pangkat, person!.nama].filter(Boolean).join(' ')})` : ''}`,
          `Dikirim dari nomor ${complaint.complainant.trim()}, yang bukan nomor WhatsApp terdaftar personel tersebut; jawaban kepadanya tidak memuat data personel.`,
          '',
          SIGNATURE,
        ].join('\n'),
        type: OPERATOR_NOTICE_TYPE,
        dedupKey: `complaint:${complaint.id}:operator`,
        priority: 'normal',
      }
    : null;
  return { who: anonymous, priority, note, operator };
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
      let written = 0;
      let refused = 0;
      for (const complaint of complaints) {
        // A complaint that arrived by WhatsApp is answered in its chat (the reporter's, or the unit's group).
        const recipient = normaliseRecipient(complaint.replyChat ?? complaint.complainant, defaultCountryCode);
        if (!recipient.ok) {
          await markFailed(tx, [complaint.id], `invalid_recipient: ${recipient.reason}`);
          refused++;
          continue;
        }
        // One complaint that cannot be answered fails alone, with its reason; the others are answered.
        try {
          const how = await answerFor(tx, complaint, recipient.chatId, options, personnel);
          const reply = composeReply(complaint.responseTemplate, how.who, templates, clock.now(), timeZone, how.note);
          if (reply.unknownKey) logger.warn({ complaint: complaint.id, key: reply.unknownKey }, 'unknown complaint template key; answered with the generic template');
          if (reply.unknownPlaceholders.length) logger.warn({ complaint: complaint.id, placeholders: reply.unknownPlaceholders }, 'unknown placeholders left as written');
          const messages: OutboxMessage[] = [
            { recipient: recipient.chatId, session: complaint.session, content: reply.text, type: COMPLAINT_REPLY_TYPE, dedupKey: `complaint:${complaint.id}`, priority: how.priority },
          ];
          if (how.operator) messages.push(how.operator);
          const results = await enqueue(tx, messages);
          await markQueued(tx, [{ id: complaint.id, outboxId: results[0]!.id }]);
          written += results.filter((r) => r.inserted).length;
        } catch (err) {
          if (err instanceof pg.DatabaseError) throw err; // the transaction is lost: the whole batch is tried again
          const reason = `reply_invalid: ${String((err as Error)?.message ?? err).slice(0, 300)}`;
          logger.warn({ complaint: complaint.id, reason }, 'complaint cannot be answered: failed alone, the others are answered');
          await markFailed(tx, [complaint.id], reason);
          refused++;
        }
      }
      return { taken: complaints.length, enqueued: written, failed: refused };
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
