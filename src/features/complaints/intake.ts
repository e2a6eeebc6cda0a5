/**
 * Complaints that arrive by WhatsApp: a message in Cicero_V2's "Pesan Komplain" format becomes one
 * complaint per report in it (pending, with what was read and the chat to answer in; the responder
 * answers it within seconds), with a `complaint.received` webhook event. A message that starts like a
 * complaint but lacks the NRP or the Kendala gets a reply showing the expected format. All in the
 * transaction that marks the incoming message handled.
 */
import type pg from 'pg';
import { enqueue } from '../../outbox/enqueue.js';
import type { WebhookEvents } from '../../webhooks/events.js';
import { insertComplaints } from './complaint-queue.js';
import { parseComplaintMessage } from './parser.js';

export const FORMAT_REPLY_TYPE = 'complaint-format-reply';

/** What intake needs of an incoming message. */
export interface IncomingMessage {
  id: number;
  chatId: string;
  senderId: string;
  senderPhone: string | null;
  body: string;
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

export function complaintIntake(webhooks: WebhookEvents): (tx: pg.PoolClient, message: IncomingMessage) => Promise<string | null> {
  return async (tx, message) => {
    const parsed = parseComplaintMessage(message.body);
    if (parsed.kind === 'not_a_complaint') return null;
    if (parsed.kind === 'malformed') {
      const missing = parsed.missing.join(' dan ');
      await enqueue(tx, [
        {
          recipient: message.chatId,
          content: `Pesan komplain belum dapat kami proses: ${missing} tidak ditemukan.\n\n${FORMAT_HELP}\n\n_Pesan otomatis Cicero_`,
          type: FORMAT_REPLY_TYPE,
          dedupKey: `inbox:${message.id}:format`,
          priority: 'reply',
        },
      ]);
      return 'complaint_format_reply';
    }
    const ids = await insertComplaints(
      tx,
      parsed.complaints.map((c) => ({
        complainant: message.senderPhone ?? message.senderId,
        responseTemplate: c.knownIssue,
        inboxId: message.id,
        parsed: c,
        replyChat: message.chatId,
      })),
    );
    for (const [i, id] of ids.entries()) {
      await webhooks.record(tx, 'complaint.received', { complaintId: id, inboxId: message.id, chatId: message.chatId, ...parsed.complaints[i] }, message.chatId);
    }
    return 'complaint';
  };
}
