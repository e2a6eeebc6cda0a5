/**
 * The recap message of one unit, in Bahasa Indonesia, from its numbers: totals per platform, then the
 * same counts per division. WhatsApp formatting (`*bold*`, `_italic_`).
 */
import type { ReportKind } from './periods.js';
import type { UnitNumbers } from './recap-numbers.js';
import { sumTallies, type Tally, type VerdictCounts } from './recap-tally.js';

const DAYS = ['Minggu', 'Senin', 'Selasa', 'Rabu', 'Kamis', 'Jumat', 'Sabtu'];
const MONTHS = ['Januari', 'Februari', 'Maret', 'April', 'Mei', 'Juni', 'Juli', 'Agustus', 'September', 'Oktober', 'November', 'Desember'];

const TITLES: Record<ReportKind, string> = {
  daily: 'Rekap Harian Engagement',
  weekly: 'Rekap Mingguan Engagement',
  monthly: 'Rekap Bulanan Engagement',
};

const asDate = (day: string) => new Date(`${day}T00:00:00Z`);

/** "Selasa, 24 November 2026". */
export function dateWords(day: string): string {
  const d = asDate(day);
  return `${DAYS[d.getUTCDay()]}, ${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}`;
}

/** "November 2026". */
export function monthWords(day: string): string {
  const d = asDate(day);
  return `${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}`;
}

/** The period as the recap names it. */
export function periodWords(kind: ReportKind, from: string, to: string): string {
  if (kind === 'daily') return dateWords(from);
  if (kind === 'weekly') return `${dateWords(from)} s.d. ${dateWords(to)}`;
  return monthWords(from);
}

function platformSection(title: string, posts: number, counts: VerdictCounts): string {
  const judged = posts === 0 ? 'Tidak ada konten.\n' : `✅ Sudah: ${counts.sudah}\n⚠️ Kurang: ${counts.kurang}\n❌ Belum: ${counts.belum}\n`;
  return `*${title}*\n${judged}❔ Belum update username: ${counts.tanpa_username}\n`;
}

const slashes = (c: VerdictCounts) => `${c.sudah}/${c.kurang}/${c.belum}/${c.tanpa_username}`;
const divisionLine = (division: string, t: Tally) => `• ${division} (${t.people}): IG ${slashes(t.instagram)} · TikTok ${slashes(t.tiktok)}\n`;

/** The message for one unit and period. */
export function recapText(kind: ReportKind, unit: UnitNumbers, from: string, to: string): string {
  const divisions = unit.divisions;
  const total = sumTallies(divisions.map((d) => d.tally));
  let text =
    'Mohon ijin Komandan,\n\n' +
    `*${TITLES[kind]}*\n*${unit.name}*\n${periodWords(kind, from, to)}\n\n` +
    `Konten: Instagram ${unit.posts.instagram} · TikTok ${unit.posts.tiktok}\n` +
    `Personil dinilai: ${total.people}\n\n` +
    platformSection('Instagram (likes)', unit.posts.instagram, total.instagram) +
    '\n' +
    platformSection('TikTok (komentar)', unit.posts.tiktok, total.tiktok);
  if (divisions.length > 0) {
    text += '\n*Per divisi* (sudah/kurang/belum/tanpa username)\n' + divisions.map((d) => divisionLine(d.division, d.tally)).join('');
  }
  return `${text}\n_Pesan otomatis Cicero_`;
}
