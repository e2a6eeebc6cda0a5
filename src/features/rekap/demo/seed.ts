/**
 * `cicero-wa demo seed`: a small Cicero_V2-shaped dataset so the recaps can be seen without a real
 * Cicero_V2 database: 3 units, 60 personnel, Instagram and TikTok posts with likes and comments over
 * the last 40 days, and tasks delivered today. Timestamps are Jakarta local time, as Cicero_V2 stores
 * them. The data is the same on every run (a fixed random seed), relative to today.
 *
 * It refuses a database that has units of its own, so it never mixes demo rows into real data.
 */
import fs from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import type { Clock } from '../../../lib/clock.js';
import { withTransaction } from '../../../db/pool.js';
import { localTimestamp } from '../periods.js';
import { OperatorError } from '../../../lib/errors.js';
import { seededRandom } from '../../../lib/seeded-random.js';

const SCHEMA = fileURLToPath(new URL('./cicero-v2-schema.sql', import.meta.url));
const DEMO_PREFIX = 'DEMO_';

const UNITS = [
  { id: 'DEMO_SLEMAN', name: 'Polres Sleman', group: '120363000000000101@g.us', operator: '081200000101' },
  { id: 'DEMO_BANTUL', name: 'Polres Bantul', group: '120363000000000102@g.us', operator: '081200000102' },
  { id: 'DEMO_KULONPROGO', name: 'Polres Kulon Progo', group: '120363000000000103@g.us', operator: '081200000103' },
];
const DIVISIONS = ['SAT LANTAS', 'SAT RESKRIM', 'SAT SABHARA', 'SAT BINMAS', 'SAT INTELKAM'];
const RANKS = ['BRIPDA', 'BRIPTU', 'BRIGPOL', 'BRIPKA', 'AIPDA', 'AIPTU', 'IPDA', 'IPTU'];
const NAMES = ['Budi', 'Siti', 'Agus', 'Dewi', 'Eko', 'Rina', 'Andi', 'Wati', 'Joko', 'Yuni', 'Rudi', 'Sri', 'Hendra', 'Lestari', 'Bayu', 'Fitri', 'Dedi', 'Nur', 'Arif', 'Maya'];

export class DemoSeedError extends OperatorError {}

interface Person {
  id: string;
  unit: string;
  insta: string | null;
  tiktok: string | null;
  diligence: number;
}

export interface DemoSeedResult {
  created: boolean;
  units: number;
  personnel: number;
  posts: number;
  tasks: number;
}

export async function seedDemo(pool: pg.Pool, clock: Clock, timeZone: string): Promise<DemoSeedResult> {
  await pool.query(await fs.readFile(SCHEMA, 'utf8'));
  const { rows } = await pool.query<{ demo: number; other: number }>(
    `SELECT count(*) FILTER (WHERE client_id LIKE '${DEMO_PREFIX}%')::int AS demo,
            count(*) FILTER (WHERE client_id NOT LIKE '${DEMO_PREFIX}%')::int AS other FROM clients`,
  );
  if (rows[0]!.other > 0) {
    throw new DemoSeedError(`this database already has ${rows[0]!.other} real unit(s) in clients: the demo data is only for an empty database (e.g. the embedded one)`);
  }
  if (rows[0]!.demo > 0) return { created: false, units: rows[0]!.demo, personnel: 0, posts: 0, tasks: 0 };

  const rand = seededRandom(20261124);
  const pick = <T>(items: readonly T[]) => items[Math.floor(rand() * items.length)]!;
  const now = clock.now();
  // Local wall times: today's local date, taken as a UTC date, shifted, and printed in UTC.
  const todayLocal = Date.parse(`${localTimestamp(now, timeZone).slice(0, 10)}T00:00:00Z`);
  const localDay = (daysAgo: number, minutes: number) => localTimestamp(new Date(todayLocal - daysAgo * 86_400_000 + minutes * 60_000), 'UTC');
  // Today's posts fall between midnight and now, whatever the hour, so there are always tasks today.
  const minutesToday = Math.max(1, Math.floor((Date.parse(`${localTimestamp(now, timeZone).replace(' ', 'T')}Z`) - todayLocal) / 60_000));
  const postTime = (daysAgo: number, fromMinute: number, spanMinutes: number) =>
    daysAgo === 0 ? localDay(0, Math.floor(rand() * minutesToday)) : localDay(daysAgo, fromMinute + Math.floor(rand() * spanMinutes));

  return withTransaction(pool, async (tx) => {
    const people: Person[] = [];
    for (const unit of UNITS) {
      await tx.query(
        `INSERT INTO clients (client_id, nama, client_type, client_status, client_insta, client_tiktok, client_operator, client_super, client_group)
         VALUES ($1, $2, 'org', true, $3, $3, $4, $4, $5)`,
        [unit.id, unit.name, unit.name.toLowerCase().replaceAll(' ', ''), unit.operator, unit.group],
      );
      for (let i = 0; i < 20; i++) {
        const name = NAMES[i]!;
        const id = `${unit.id.slice(5, 8)}${String(7501000 + i)}`;
        const base = `${name.toLowerCase()}.${unit.id.slice(5).toLowerCase()}`;
        // The usual mess: some handles with @ or capitals, two without an Instagram handle.
        const insta = i === 3 || i === 11 ? null : i % 5 === 0 ? `@${base}` : i % 7 === 0 ? base.toUpperCase() : base;
        const tiktok = i === 6 ? null : `${name.toLowerCase()}_${unit.id.slice(5, 8).toLowerCase()}`;
        const person = { id, unit: unit.id, insta, tiktok, diligence: 0.15 + rand() * 0.85 };
        await tx.query(
          `INSERT INTO "user" (user_id, nama, title, divisi, jabatan, insta, tiktok, whatsapp, client_id, status, exception)
           VALUES ($1, $2, $3, $4, 'Anggota', $5, $6, $7, $8, $9, $10)`,
          [id, `${name} ${unit.name.split(' ').at(-1)}`, pick(RANKS), DIVISIONS[i % DIVISIONS.length], insta, tiktok,
            `0813${String(10000000 + people.length)}`, unit.id, i !== 19, i === 18],
        );
        people.push(person);
      }
    }

    let posts = 0;
    const normalise = (h: string | null) => (h ?? '').replace(/^@/, '').toLowerCase();
    for (let daysAgo = 40; daysAgo >= 0; daysAgo--) {
      for (const unit of UNITS) {
        const members = people.filter((p) => p.unit === unit.id);
        const igCount = 1 + Math.floor(rand() * 3);
        for (let n = 0; n < igCount; n++) {
          const shortcode = `D${unit.id.slice(5, 7)}${daysAgo}${n}${Math.floor(rand() * 1e6).toString(36)}`;
          const at = postTime(daysAgo, 7 * 60, 15 * 60);
          if (at > localTimestamp(now, timeZone)) continue;
          const likers = members.filter((p) => p.insta && rand() < p.diligence).map((p) => (rand() < 0.2 ? p.insta!.toUpperCase() : normalise(p.insta)));
          await tx.query('INSERT INTO insta_post (shortcode, client_id, caption, created_at) VALUES ($1, $2, $3, $4)', [shortcode, unit.id, `Kegiatan ${unit.name} hari ke-${40 - daysAgo}`, at]);
          await tx.query('INSERT INTO insta_like (shortcode, likes, updated_at) VALUES ($1, $2, $3)', [shortcode, JSON.stringify(likers), at]);
          posts++;
          if (daysAgo === 0) {
            for (const member of members) {
              await tx.query('INSERT INTO tasks (shortcode, user_id, created_at) VALUES ($1, $2, $3)', [shortcode, member.id, at]);
            }
          }
        }
        if (rand() < 0.6) {
          const videoId = `73${unit.id.length}${daysAgo}${Math.floor(rand() * 1e9)}`;
          const at = postTime(daysAgo, 9 * 60, 12 * 60);
          if (at > localTimestamp(now, timeZone)) continue;
          const commenters = members.filter((p) => p.tiktok && rand() < p.diligence * 0.8).map((p) => p.tiktok!);
          await tx.query('INSERT INTO tiktok_post (video_id, client_id, caption, like_count, comment_count, created_at) VALUES ($1, $2, $3, $4, $5, $6)', [
            videoId, unit.id, `Video ${unit.name}`, commenters.length * 3, commenters.length, at]);
          await tx.query('INSERT INTO tiktok_comment (video_id, comments, updated_at) VALUES ($1, $2, $3)', [videoId, JSON.stringify(commenters), at]);
          posts++;
        }
      }
    }
    const { rows: taskRows } = await tx.query<{ n: number }>("SELECT count(*)::int AS n FROM tasks WHERE user_id IN (SELECT user_id FROM \"user\" WHERE client_id LIKE 'DEMO_%')");
    return { created: true, units: UNITS.length, personnel: people.length, posts, tasks: taskRows[0]!.n };
  });
}
