/**
 * Cicero_V2's "Pesan Komplain" WhatsApp format, read as personnel actually type it: a line `Pesan
 * Komplain`, labelled fields (`NRP`/`NIP`/`NRP/NIP`, `Nama`, `Polres`, `Username IG`/`Username
 * Instagram`/`Instagram`, `Username TikTok`/`TikTok`), a `Kendala` header (or `Rincian`, `Detail`,
 * `Uraian`, `Keterangan`, `Deskripsi Kendala`, `Kendala yang dihadapi/dialami`) and the issues under it,
 * one per line starting `-`, `•`, `*` or a number (`1)`, `2.`). Case, spaces, Windows line breaks,
 * WhatsApp's *bold* and emoji do not matter. Two complaints in one message are two complaints.
 *
 * Pure: text in, structured complaints out, with the known issue the Kendala text describes.
 */

export type KnownIssue = 'instagram_not_recorded' | 'tiktok_not_recorded' | 'attendance_less' | 'activity_flagged_not_done' | 'generic';

export interface ParsedComplaint {
  /** Digits only (1 to 30 of them). */
  nrp: string;
  /**
   * Whether the NRP looks like one (NRP_DIGITS long). One that does not is still taken: the personnel
   * table may know it (some NIPs and old NRPs are shorter); inbound-complaints.ts decides.
   */
  nrpPlausible: boolean;
  name: string | null;
  unit: string | null;
  /** Handles without `@` or a profile URL around them. */
  instagram: string | null;
  tiktok: string | null;
  issues: string[];
  knownIssue: KnownIssue;
}

export type ComplaintParse =
  | { kind: 'not_a_complaint' }
  | { kind: 'complaints'; complaints: ParsedComplaint[] }
  /** Starts like a complaint but cannot be taken: what is missing, per complaint in the message. */
  | { kind: 'malformed'; missing: Array<'NRP' | 'Kendala'> };

const START = /^pesan\s+komplain\b[^\p{L}\p{N}]*$/iu;
/** The Kendala header, alone on its line or followed by the first issue after `:`. */
const KENDALA = /^(?:(?:rincian|detail|uraian|keterangan|deskripsi)\s+)?kendala(?:\s+yang\s+(?:dihadapi|dialami))?\s*(?:[:.-]\s*(.*))?$|^(?:rincian|detail|uraian|keterangan)\s*(?:[:.-]\s*(.*))?$/i;
const FIELDS: Array<[keyof Pick<ParsedComplaint, 'nrp' | 'name' | 'unit' | 'instagram' | 'tiktok'>, RegExp]> = [
  ['nrp', /^(?:nrp\s*\/\s*nip|nip\s*\/\s*nrp|nrp|nip)$/i],
  ['name', /^nama(?:\s+lengkap)?$/i],
  ['unit', /^(?:polres|polda|satker|satuan|kesatuan|polsek)$/i],
  ['instagram', /^(?:username\s+(?:ig|instagram)|akun\s+(?:ig|instagram)|instagram|ig)$/i],
  ['tiktok', /^(?:username\s+tik\s?tok|akun\s+tik\s?tok|tik\s?tok)$/i],
];
const BULLET = /^(?:[-•*·–]|\d{1,2}\s*[).]|[a-z]\))\s*/i;
/** How many digits an NRP or NIP usually has. */
export const NRP_DIGITS = { min: 8, max: 18 } as const;
/** More digits than this is no identifier at all: the NRP field is read as missing. */
const NRP_MAX_READ = 30;

/** Text as typed: line breaks unified, invisible characters and WhatsApp's bold/italic marks gone. */
function clean(text: string): string[] {
  return text
    .replace(/\r\n?/g, '\n')
    .replace(/[\u200b-\u200f\u2060\ufeff]/g, '')
    .split('\n')
    .map((line) =>
      line
        .replace(/[*~]/g, '') // WhatsApp bold and strike-through (never part of a handle)
        .replace(/^_(.*)_$/, '$1') // a line in italics (an underscore inside a handle stays)
        .replace(/^[\p{Extended_Pictographic}\uFE0F\s]+/u, '') // an emoji in front of a line
        .replace(/\s+/g, ' ')
        .trim(),
    );
}

function handle(value: string): string | null {
  const v = value.trim().replace(/^https?:\/\/(?:www\.)?(?:instagram\.com|tiktok\.com)\/@?/i, '').replace(/[/?].*$/, '').replace(/^@+/, '').trim();
  return v === '' || v === '-' ? null : v;
}

/** The first issue line that names a known issue; else the issue text as a whole (one issue over two lines). */
function detectIssue(issues: string[]): KnownIssue {
  for (const line of issues) {
    const known = knownIssueOf(line);
    if (known !== 'generic') return known;
  }
  return knownIssueOf(issues.join(' '));
}

function knownIssueOf(raw: string): KnownIssue {
  const text = raw.toLowerCase();
  const notRecorded = /(belum|tidak|blm|tdk)\s+(ter)?(data|catat|rekap|masuk|muncul|terbaca)/.test(text);
  if (/(absen|absensi|kehadiran)/.test(text) && /(kurang|belum lengkap|tidak lengkap|tidak sesuai)/.test(text)) return 'attendance_less';
  if (/(sudah|telah)\s+(melaksanakan|like|komen|komentar|menyukai)/.test(text) && /(dianggap|ditandai|dinyatakan|tercatat|terdata)\s+(belum|tidak)/.test(text)) return 'activity_flagged_not_done';
  const instagram = /(instagram|\big\b|insta\b)/.test(text);
  const tiktok = /tik\s?tok/.test(text);
  if (notRecorded && instagram && !tiktok) return 'instagram_not_recorded';
  if (notRecorded && tiktok && !instagram) return 'tiktok_not_recorded';
  return 'generic';
}

function parseBlock(lines: string[]): ParsedComplaint | Array<'NRP' | 'Kendala'> {
  const fields: Partial<Record<'nrp' | 'name' | 'unit' | 'instagram' | 'tiktok', string>> = {};
  const issues: string[] = [];
  let inKendala = false;
  for (const line of lines) {
    if (line === '') continue;
    const kendala = KENDALA.exec(line);
    if (kendala) {
      inKendala = true;
      const rest = (kendala[1] ?? kendala[2] ?? '').replace(BULLET, '').trim();
      if (rest) issues.push(rest);
      continue;
    }
    const labelled = /^([^:=]{1,40}?)\s*[:=]\s*(.*)$/.exec(line);
    const field = labelled ? FIELDS.find(([, re]) => re.test(labelled[1]!.trim())) : undefined;
    if (labelled && field && !inKendala) {
      const value = labelled[2]!.trim();
      if (value) fields[field[0]] ??= value;
      continue;
    }
    if (inKendala) {
      const issue = line.replace(BULLET, '').trim();
      if (issue) issues.push(issue);
    }
  }
  const nrp = (fields.nrp ?? '').replace(/\D/g, '');
  const missing: Array<'NRP' | 'Kendala'> = [];
  if (nrp.length === 0 || nrp.length > NRP_MAX_READ) missing.push('NRP');
  if (issues.length === 0) missing.push('Kendala');
  if (missing.length > 0) return missing;
  return {
    nrp,
    nrpPlausible: nrp.length >= NRP_DIGITS.min && nrp.length <= NRP_DIGITS.max,
    name: fields.name ?? null,
    unit: fields.unit ?? null,
    instagram: fields.instagram ? handle(fields.instagram) : null,
    tiktok: fields.tiktok ? handle(fields.tiktok) : null,
    issues,
    knownIssue: detectIssue(issues),
  };
}

export function parseComplaintMessage(text: string): ComplaintParse {
  const lines = clean(text);
  const first = lines.findIndex((l) => l !== '');
  if (first < 0 || !START.test(lines[first]!)) return { kind: 'not_a_complaint' };
  const blocks: string[][] = [];
  for (const line of lines.slice(first)) {
    if (START.test(line)) blocks.push([]);
    else blocks[blocks.length - 1]!.push(line);
  }
  const parsed = blocks.map(parseBlock);
  const complaints = parsed.filter((p): p is ParsedComplaint => !Array.isArray(p));
  if (complaints.length === parsed.length) return { kind: 'complaints', complaints };
  const missing = [...new Set(parsed.filter((p): p is Array<'NRP' | 'Kendala'> => Array.isArray(p)).flat())];
  return { kind: 'malformed', missing };
}
