/**
 * The task broadcast's wording, as Cicero_V2 writes it (src/handler/fetchabsensi/sosmedTask.js): the
 * unit's posts of the day, each numbered, with its upload time and its count, the links the group has
 * not been sent before marked [BARU]. Pure: the job hands it what it read.
 */

/** One of the day's posts as the message lists it. */
export interface BroadcastPost {
  /** The Instagram shortcode or TikTok video id. */
  id: string;
  /** Upload time "HH:MM" in CRON_TIMEZONE; null when unknown. */
  uploadedAt: string | null;
  /** Likes (Instagram) or comments (TikTok) recorded so far. */
  count: number;
  /** Not in the group's last broadcast of the day. */
  isNew: boolean;
}

export interface BroadcastContent {
  /** The unit's name (clients.nama); shown in capitals. */
  unitName: string;
  /** The unit's TikTok account (clients.client_tiktok) without "@", or null: the links then omit it. */
  tiktokAccount: string | null;
  instagram: readonly BroadcastPost[];
  tiktok: readonly BroadcastPost[];
  /** The zone's name for the upload times, e.g. WIB. */
  zone: string;
}

function upload(post: BroadcastPost, zone: string): string {
  return post.uploadedAt ? `(upload ${post.uploadedAt} ${zone})` : '(upload tidak diketahui)';
}

function line(index: number, post: BroadcastPost, link: string, zone: string, counted: string): string {
  return `${index + 1}. ${post.isNew ? '[BARU] ' : ''}${link} ${upload(post, zone)} : ${counted}`;
}

function tiktokLink(videoId: string, account: string | null): string {
  return account ? `https://www.tiktok.com/@${account}/video/${videoId}` : `https://www.tiktok.com/video/${videoId}`;
}

/** One platform's part: how many posts, their total, the numbered lines ("-" for none). */
function section(platform: 'Instagram' | 'Tiktok', total: string, lines: readonly string[]): string[] {
  return [`Jumlah konten ${platform} hari ini: ${lines.length} `, total, '', 'Rincian:', lines.length ? lines.join('\n') : '-'];
}

/** The message the unit's group gets. */
export function taskBroadcastText(content: BroadcastContent): string {
  const name = content.unitName.toUpperCase();
  const totalLikes = content.instagram.reduce((sum, p) => sum + p.count, 0);
  const totalComments = content.tiktok.reduce((sum, p) => sum + p.count, 0);
  const instagram = content.instagram.map((p, i) =>
    line(i, p, `https://www.instagram.com/p/${p.id}`, content.zone, `${p.count} ${p.count === 1 ? 'like' : 'likes'}`),
  );
  const tiktok = content.tiktok.map((p, i) => line(i, p, tiktokLink(p.id, content.tiktokAccount), content.zone, `${p.count} komentar`));
  // The spaces before some line ends are Cicero_V2's own.
  return [
    `Mohon Ijin Komandan, Senior, Rekan Operator dan Personil pelaksana Tugas Likes dan komentar Sosial Media ${name}.`,
    '',
    'Tugas Likes dan Komentar Konten Instagram dan Tiktok ',
    name,
    ...section('Instagram', `Total likes semua konten: ${totalLikes} `, instagram),
    '',
    ...section('Tiktok', `Total komentar semua konten: ${totalComments}`, tiktok),
    '',
    'Silahkan Melaksanakan Likes, Komentar dan Share.',
  ].join('\n');
}
