/**
 * `notifwa#on` / `notifwa#off`, sent by personnel in a personal chat: switches that person's daily
 * reminders (`"user".wa_notification_opt_in`, found by the sender's WhatsApp number) and confirms, from
 * the session that heard the command; a number bound to nobody gets how to register, and nothing is written. The only write into Cicero_V2's
 * tables; off with INBOUND_OPT_IN_COMMANDS=false.
 */
import type pg from 'pg';
import { enqueue } from '../../outbox/enqueue.js';
import { whatsappNumberIs } from '../personnel.js';

export const NOTIFWA_REPLY_TYPE = 'notifwa-reply';
const COMMAND = /^\s*notifwa\s*#\s*(on|off)\s*[.!]?\s*$/i;

export interface OptInMessage {
  id: number;
  /** The session (WhatsApp number) that heard it: the answer goes out from it. */
  session: string;
  chatId: string;
  isGroup: boolean;
  senderPhone: string | null;
  body: string;
}

export function optInCommands(defaultCountryCode: string): (tx: pg.PoolClient, message: OptInMessage) => Promise<string | null> {
  return async (tx, message) => {
    const command = COMMAND.exec(message.body);
    if (!command || message.isGroup) return null;
    const on = command[1]!.toLowerCase() === 'on';
    const reply = (content: string) =>
      enqueue(tx, [{ recipient: message.chatId, session: message.session, content, type: NOTIFWA_REPLY_TYPE, dedupKey: `inbox:${message.id}:notifwa`, priority: 'reply' }]);
    const digits = message.senderPhone?.split('@')[0] ?? null;
    const { rows: tables } = await tx.query<{ ok: boolean }>(`SELECT to_regclass('"user"') IS NOT NULL AS ok`);
    const people = digits && tables[0]?.ok
      ? (
          await tx.query<{ user_id: string; nama: string | null; title: string | null }>(
            `UPDATE "user" u SET wa_notification_opt_in = $3, updated_at = now()
              WHERE ${whatsappNumberIs('u', '$1', '$2')}
              RETURNING user_id, nama, title`,
            [digits, defaultCountryCode, on],
          )
        ).rows
      : [];
    if (people.length === 0) {
      await reply(
        'Nomor WhatsApp ini belum terdaftar di Cicero, jadi pengaturan notifikasi tidak dapat diubah.\n' +
          'Daftarkan nomor Anda lebih dulu (ketik *userrequest* ke nomor Cicero, atau hubungi operator satker Anda), lalu kirim ulang *notifwa#on* atau *notifwa#off*.',
      );
      return 'opt_in_unknown';
    }
    const who = people.map((p) => [p.title, p.nama].filter(Boolean).join(' ') + ` (NRP ${p.user_id})`).join(', ');
    await reply(
      on
        ? `Notifikasi WhatsApp harian *diaktifkan* untuk ${who}. Kirim *notifwa#off* untuk menghentikannya.`
        : `Notifikasi WhatsApp harian *dinonaktifkan* untuk ${who}. Kirim *notifwa#on* untuk mengaktifkannya lagi.`,
    );
    return on ? 'opt_in' : 'opt_out';
  };
}
