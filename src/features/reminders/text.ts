/**
 * The engagement reminders' wording, Cicero_V2's own: "Selamat <Pagi|Siang|Sore|Malam>, Bapak/Ibu
 * <pangkat> <nama>", then either its thank-you line or the daily reminder with the links still to do,
 * its two advice lines and the opt-out line (`notifwa#off`). The greeting is right for the hour the
 * message is released (Cicero_V2 said "Malam" at 17:05).
 */
import { greeting } from '../greeting.js';

export const THANKS_LINE = 'Terimakasih, Tugas Likes dan komentar hari ini sudah dilaksanakan semua';
export const OPT_OUT_LINE = 'Balas *notifwa#off* jika ingin berhenti menerima pengingat otomatis.';

export interface Addressee {
  pangkat: string | null;
  nama: string | null;
}

/** "Selamat Sore, Bapak/Ibu AKP Budi" (only "Bapak/Ibu" when neither is known). */
export function salutation(who: Addressee, at: Date, timeZone: string): string {
  const name = [who.pangkat, who.nama].map((p) => p?.trim() ?? '').filter(Boolean).join(' ');
  return `${greeting(at, timeZone, { capitalised: true })}, ${name ? `Bapak/Ibu ${name}` : 'Bapak/Ibu'}`;
}

export function thanksText(who: Addressee, at: Date, timeZone: string): string {
  return `${salutation(who, at, timeZone)}\n\n${THANKS_LINE}`;
}

export function reminderText(who: Addressee, links: { instagram: readonly string[]; tiktok: readonly string[] }, at: Date, timeZone: string): string {
  const lines = [salutation(who, at, timeZone), '', '👋 Pengingat engagement harian', ''];
  const section = (title: string, list: readonly string[]) => {
    if (list.length === 0) return;
    lines.push(title, ...list.map((link, i) => `${i + 1}. ${link}`), '');
  };
  section('Konten Instagram yang perlu diselesaikan:', links.instagram);
  section('Konten TikTok yang perlu diselesaikan:', links.tiktok);
  lines.push(
    '1️⃣ Pastikan setiap unggahan mendapat dukungan likes sesuai target.',
    '2️⃣ Tambahkan komentar positif dan relevan pada konten terbaru.',
    '',
    OPT_OUT_LINE,
  );
  return lines.join('\n');
}
