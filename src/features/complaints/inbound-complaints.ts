/**
 * Complaints that arrive by WhatsApp: a message in Cicero_V2's "Pesan Komplain" format becomes one
 * complaint per report in it (pending, with what was read, the chat to answer in and the session that
 * heard it; the responder answers it within seconds, from that session), with a `complaint.received`
 * webhook event. All in the transaction that marks the incoming message handled. Every answer written
 * here (the format, the notes) goes out from the session that heard the message too.
 *
 * Anyone can write to the number, so:
 * - at most `perMessage` reports of one message, and `perSenderHour` of one sender in an hour, are
 *   taken; the rest get one answer saying so;
 * - an NRP the personnel table does not know is no complaint: the answer says the NRP was not found
 *   (an NRP it knows is taken whatever its length; without a personnel table, one of 8–18 digits);
 * - a message that starts like a complaint but lacks the NRP or the Kendala gets the expected format;
 * - answers to a sender who is not personnel go at bulk priority (never ahead of the units' recaps),
 *   and such a sender gets at most one of these notes an hour.
 */
import type pg from 'pg';
import { zonedParts } from '../../lib/zoned-time.js';
import { enqueue, type OutboxMessage } from '../../outbox/enqueue.js';
import type { WebhookEvents } from '../../webhooks/events.js';
import { hasPersonnel, isPersonnelNumber, knownNrps, numberDigits } from '../personnel.js';
import { complaintsFromSince, insertComplaints } from './complaint-queue.js';
import { NRP_DIGITS, parseComplaintMessage, type ParsedComplaint } from './parser.js';

export const FORMAT_REPLY_TYPE = 'complaint-format-reply';
/** Notes about reports not taken (over a limit, an NRP not found). */
export const NOTE_REPLY_TYPE = 'complaint-note';

/** What this handler needs of an incoming message. */
export interface IncomingMessage {
  id: number;
  /** The session (WhatsApp number) that heard it: the complaint, and every answer, belong to it. */
  session: string;
  chatId: string;
  senderId: string;
  senderPhone: string | null;
  body: string;
}

export interface InboundComplaintOptions {
  /** COMPLAINTS_PER_MESSAGE: reports taken from one message. */
  perMessage: number;
  /** COMPLAINTS_PER_SENDER_HOUR: reports taken from one sender in an hour. */
  perSenderHour: number;
  defaultCountryCode: string;
  timeZone: string;
}

export const FORMAT_HELP = [
  'Mohon kirim ulang dengan format berikut:',
  '',
  'Pesan Komplain',
  'NRP : 75020201',
  'Nama : Nama Anda',
  'Polres : Satuan Anda',
  'Username IG : @akun_instagram',
  'Username TikTok : @akun_tiktok',
  '',
  'Kendala',
  '- Tuliskan kendala Anda, satu per baris.',
].join('\n');

const SIGNATURE = '_Pesan otomatis Cicero_';

export function inboundComplaints(webhooks: WebhookEvents, options: InboundComplaintOptions): (tx: pg.PoolClient, message: IncomingMessage) => Promise<string | null> {
  return async (tx, message) => {
    const parsed = parseComplaintMessage(message.body);
    if (parsed.kind === 'not_a_complaint') return null;
    const complainant = message.senderPhone ?? message.senderId;
    const personnelTable = await hasPersonnel(tx);
    const fromPersonnel = personnelTable && (await isPersonnelNumber(tx, numberDigits(message.senderPhone ?? message.senderId), options.defaultCountryCode));
    const answer = (content: string, type: string, key: string) =>
      note(tx, message, { content: `${content}\n\n${SIGNATURE}`, type, fromPersonnel, key, timeZone: options.timeZone, complainant });

    if (parsed.kind === 'malformed') {
      const missing = parsed.missing.join(' dan ');
      await answer(`Pesan komplain belum dapat kami proses: ${missing} tidak ditemukan.\n\n${FORMAT_HELP}`, FORMAT_REPLY_TYPE, 'format');
      return 'complaint_format_reply';
    }

    const recent = await complaintsFromSince(tx, complainant, 60 * 60_000);
    const room = Math.max(0, Math.min(options.perMessage, options.perSenderHour - recent));
    const considered = parsed.complaints.slice(0, room);
    const overLimit = parsed.complaints.length - considered.length;
    const known = personnelTable ? await knownNrps(tx, considered.map((c) => c.nrp)) : null;
    // Known to the personnel table whatever its length; without one, an NRP of the usual length.
    const taken = considered.filter((c) => (known ? known.has(c.nrp) : c.nrpPlausible));
    const notFound = considered.filter((c) => !taken.includes(c));

    const ids = await insertComplaints(
      tx,
      taken.map((c) => ({ complainant, responseTemplate: c.knownIssue, inboxId: message.id, session: message.session, parsed: c, replyChat: message.chatId })),
    );
    for (const [i, id] of ids.entries()) {
      await webhooks.record(tx, 'complaint.received', { complaintId: id, inboxId: message.id, session: message.session, chatId: message.chatId, ...taken[i] }, message.chatId);
    }
    const notes = [...notFound.map(notFoundNote), ...(overLimit > 0 ? [limitNote(overLimit, considered.length, options)] : [])];
    if (notes.length > 0) await answer(notes.join('\n\n'), NOTE_REPLY_TYPE, 'note');
    if (taken.length > 0) return 'complaint';
    return overLimit > 0 && notFound.length === 0 ? 'complaint_over_limit' : 'complaint_nrp_not_found';
  };
}

function notFoundNote(c: ParsedComplaint): string {
  const usual = c.nrpPlausible ? '' : ` (NRP/NIP biasanya ${NRP_DIGITS.min}–${NRP_DIGITS.max} angka)`;
  return `NRP ${c.nrp} tidak ditemukan di data personel${usual}. Periksa kembali NRP Anda, lalu kirim ulang laporannya.`;
}

function limitNote(overLimit: number, taken: number, options: InboundComplaintOptions): string {
  const limits = `paling banyak ${options.perMessage} laporan per pesan dan ${options.perSenderHour} laporan per nomor dalam satu jam`;
  return taken > 0
    ? `${overLimit} laporan lain dalam pesan ini tidak kami proses (${limits}). Kirim laporan tersebut nanti dalam pesan terpisah.`
    : `Laporan dalam pesan ini tidak kami proses: batasnya ${limits}. Silakan kirim kembali nanti.`;
}

/**
 * One answer about the message. To personnel, at reply priority, one per message; to anyone else at
 * bulk priority and at most one an hour (its dedup key names the hour), so a stranger cannot spend the
 * number's budget.
 */
async function note(
  tx: pg.PoolClient,
  message: IncomingMessage,
  n: { content: string; type: string; fromPersonnel: boolean; key: string; timeZone: string; complainant: string },
): Promise<void> {
  const p = zonedParts(new Date(), n.timeZone);
  const hour = `${p.year}-${String(p.month).padStart(2, '0')}-${String(p.day).padStart(2, '0')}T${String(p.hour).padStart(2, '0')}`;
  const reply: OutboxMessage = {
    recipient: message.chatId,
    session: message.session,
    content: n.content,
    type: n.type,
    dedupKey: n.fromPersonnel ? `inbox:${message.id}:${n.key}` : `complaint-notes:${n.complainant}:${hour}`,
    priority: n.fromPersonnel ? 'reply' : 'bulk',
  };
  await enqueue(tx, [reply]);
}
