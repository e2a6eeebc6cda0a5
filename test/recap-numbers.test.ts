/**
 * The recap numbers against an independent judgement in TypeScript, made from the rows as they are
 * generated (never read back through the service's SQL): on a seeded random Cicero_V2-shaped dataset
 * with the awkward cases (handles in mixed case and with @, a name twice in a list, likes from other
 * units, like lists that are not arrays, excused and inactive personnel, posts at the edges of a day),
 * and on the hard-case fixture.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '../src/lib/logger.js';
import { migrate } from '../src/db/migrate.js';
import { rankOrder, recapNumbers, type Platform, type RecapNumbers, type Verdict } from '../src/features/rekap/recap-numbers.js';
import { loadCiceroTables } from './helpers/cicero.js';
import { seededRandom as random } from '../src/lib/seeded-random.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';

interface GenPerson { userId: string; client: string; nama: string; title: string; divisi: string | null; insta: string | null; tiktok: string | null; status: boolean | null; exception: boolean | null }
interface GenPost { id: string; client: string; platform: Platform; createdAt: string; likes: unknown }

const RANKS = ['KOMBES', 'AKBP', 'KOMPOL', 'AKP', 'IPTU', 'IPDA', 'AIPTU', 'AIPDA', 'BRIPKA', 'BRIGPOL', 'BRIPTU', 'BRIPDA'];
const DIVISIONS = ['SAT LANTAS', 'SAT RESKRIM', 'SAT BINMAS', 'sat intelkam', ' BAG OPS ', null, ''];
const DAYS = ['2026-11-23', '2026-11-24', '2026-11-25', '2026-11-26', '2026-11-27', '2026-11-28', '2026-11-29'];

function generate(seed: number, unitCount: number, peoplePerUnit: number) {
  const rnd = random(seed);
  const pick = <T>(items: readonly T[]) => items[Math.floor(rnd() * items.length)]!;
  const people: GenPerson[] = [];
  const posts: GenPost[] = [];
  const units = Array.from({ length: unitCount }, (_, u) => `GEN_${u}`);
  for (const client of units) {
    for (let i = 0; i < peoplePerUnit; i++) {
      const base = `${client.toLowerCase()}.p${i}`;
      const spell = (h: string) => pick([h, h.toUpperCase(), `@${h}`, ` ${h} `, `@@${h[0]!.toUpperCase()}${h.slice(1)}`]);
      people.push({
        userId: `${client}-${i}`,
        client,
        nama: `Personil ${pick(['Adi', 'Budi', 'Citra', 'Dewi', 'Eko'])} ${i}`,
        title: pick(RANKS),
        divisi: pick(DIVISIONS),
        insta: rnd() < 0.1 ? pick([null, '', '  ', '@']) : spell(base),
        tiktok: rnd() < 0.1 ? pick([null, '']) : spell(`${base}_tt`),
        status: rnd() < 0.04 ? false : pick([true, null]),
        exception: rnd() < 0.05 ? true : pick([false, null]),
      });
    }
  }
  let n = 0;
  for (const client of units) {
    const unitPeople = people.filter((p) => p.client === client);
    // Posts from the day before the period to the day after it; a quiet unit now and then.
    for (const day of ['2026-11-22', ...DAYS, '2026-11-30']) {
      for (const platform of ['instagram', 'tiktok'] as const) {
        const count = client === 'GEN_3' ? 0 : Math.floor(rnd() * (platform === 'instagram' ? 4 : 3));
        for (let k = 0; k < count; k++) {
          const time = pick(['00:00:00', '07:15:00', '12:30:00', '23:59:59']);
          const share = 0.2 + rnd() * 0.8;
          const likers = unitPeople.filter(() => rnd() < share).map((p) => {
            const h = (platform === 'instagram' ? p.insta : p.tiktok) ?? 'nobody';
            return pick([h, h.toUpperCase(), `@${h.trim()}`]);
          });
          if (rnd() < 0.2 && likers.length > 0) likers.push(likers[0]!); // a name twice
          likers.push(`${pick(units).toLowerCase()}.p${Math.floor(rnd() * peoplePerUnit)}`); // someone of another unit, maybe
          const likes = rnd() < 0.05 ? pick([null, { users: likers }, 'rusak']) : rnd() < 0.05 ? undefined : likers;
          posts.push({ id: `${platform === 'instagram' ? 'IG' : 'TT'}${n++}`, client, platform, createdAt: `${day} ${time}`, likes });
        }
      }
    }
  }
  return { units, people, posts };
}

async function load(db: TestDatabase, data: ReturnType<typeof generate>): Promise<void> {
  await db.pool.query(
    `INSERT INTO clients (client_id, nama, client_type, client_status, client_group)
     SELECT id, 'Polres ' || id, 'org', true, '1203630000' || ord || '@g.us' FROM unnest($1::text[]) WITH ORDINALITY AS u(id, ord)`,
    [data.units],
  );
  const p = data.people;
  await db.pool.query(
    `INSERT INTO "user" (user_id, client_id, nama, title, divisi, insta, tiktok, status, exception)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::boolean[], $9::boolean[])`,
    [p.map((x) => x.userId), p.map((x) => x.client), p.map((x) => x.nama), p.map((x) => x.title), p.map((x) => x.divisi), p.map((x) => x.insta), p.map((x) => x.tiktok), p.map((x) => x.status), p.map((x) => x.exception)],
  );
  for (const platform of ['instagram', 'tiktok'] as const) {
    const posts = data.posts.filter((x) => x.platform === platform);
    const [postTable, key, likeTable, column] = platform === 'instagram' ? ['insta_post', 'shortcode', 'insta_like', 'likes'] : ['tiktok_post', 'video_id', 'tiktok_comment', 'comments'];
    await db.pool.query(`INSERT INTO ${postTable} (${key}, client_id, created_at) SELECT * FROM unnest($1::text[], $2::text[], $3::timestamp[])`, [
      posts.map((x) => x.id),
      posts.map((x) => x.client),
      posts.map((x) => x.createdAt),
    ]);
    const liked = posts.filter((x) => x.likes !== undefined);
    await db.pool.query(`INSERT INTO ${likeTable} (${key}, ${column}) SELECT * FROM unnest($1::text[], $2::jsonb[])`, [
      liked.map((x) => x.id),
      liked.map((x) => (x.likes === null ? null : JSON.stringify(x.likes))),
    ]);
  }
}

// ---- The independent judgement -------------------------------------------------------------------

const handle = (h: string | null) => {
  const v = (h ?? '').trim().replace(/^@+/, '').toLowerCase();
  return v === '' ? null : v;
};

function judge(data: ReturnType<typeof generate>, client: string, from: string, to: string) {
  const inPeriod = (p: GenPost) => p.client === client && p.createdAt.slice(0, 10) >= from && p.createdAt.slice(0, 10) <= to;
  const posts = data.posts.filter(inPeriod);
  const people = data.people.filter((p) => p.client === client && p.status !== false && p.exception !== true);
  return people.map((person) => {
    const verdicts = {} as Record<Platform, Verdict>;
    const byDay = {} as Record<Platform, Record<string, number>>;
    for (const platform of ['instagram', 'tiktok'] as const) {
      const own = handle(platform === 'instagram' ? person.insta : person.tiktok);
      const mine = posts.filter((p) => p.platform === platform);
      const engagedPosts = own === null ? [] : mine.filter((p) => Array.isArray(p.likes) && (p.likes as string[]).some((l) => handle(l) === own));
      byDay[platform] = {};
      for (const p of engagedPosts) byDay[platform][p.createdAt.slice(0, 10)] = (byDay[platform][p.createdAt.slice(0, 10)] ?? 0) + 1;
      verdicts[platform] = own === null ? 'tanpa_username' : mine.length > 0 && engagedPosts.length * 2 >= mine.length ? 'sudah' : engagedPosts.length > 0 ? 'kurang' : 'belum';
    }
    return { userId: person.userId, rank: person.title, division: person.divisi?.trim() || 'Tanpa divisi', verdicts, byDay };
  });
}

function assertMatches(numbers: RecapNumbers, data: ReturnType<typeof generate>, units: string[]): number {
  let checked = 0;
  for (const client of units) {
    const unit = numbers.units.find((u) => u.clientId === client)!;
    const want = judge(data, client, numbers.from, numbers.to);
    assert.deepEqual(unit.people.map((p) => p.userId).sort(), want.map((w) => w.userId).sort(), `${client}: the people judged`);
    for (const w of want) {
      const got = unit.people.find((p) => p.userId === w.userId)!;
      assert.deepEqual(got.verdict, w.verdicts, `${client} ${w.userId}: verdicts`);
      assert.deepEqual(got.engagedByDay, w.byDay, `${client} ${w.userId}: engagement per day`);
      assert.equal(got.division, w.division);
      checked++;
    }
    const ranks = unit.people.map((p) => rankOrder(p.rank));
    assert.deepEqual(ranks, [...ranks].sort((a, b) => a - b), `${client}: highest rank first`);
    for (const platform of ['instagram', 'tiktok'] as const) {
      const posts = data.posts.filter((p) => p.client === client && p.platform === platform && p.createdAt.slice(0, 10) >= numbers.from && p.createdAt.slice(0, 10) <= numbers.to);
      assert.equal(unit.posts[platform], posts.length, `${client} ${platform}: posts`);
    }
  }
  return checked;
}

describe('recap numbers against an independent judgement', () => {
  let db: TestDatabase;
  const data = generate(20261126, 120, 24);
  before(async () => {
    db = await createTestDatabase('recap_numbers');
    await loadCiceroTables(db.pool);
    await db.pool.query('DELETE FROM tasks; DELETE FROM insta_like; DELETE FROM tiktok_comment; DELETE FROM insta_post; DELETE FROM tiktok_post; DELETE FROM "user"; DELETE FROM clients');
    await load(db, data);
    await migrate(db.pool, silentLogger());
  });
  after(async () => db.drop());

  it('a generated week of 120 units (more than two statements of units): sampled units, every person, every day', async (t) => {
    const numbers = await recapNumbers(db.pool, { from: DAYS[0]!, to: DAYS[6]! });
    assert.equal(numbers.units.length, 120);
    assert.deepEqual(numbers.days, DAYS);
    const rnd = random(7);
    const sample = ['GEN_0', 'GEN_3', 'GEN_49', 'GEN_50', 'GEN_119', ...Array.from({ length: 15 }, () => `GEN_${Math.floor(rnd() * 120)}`)];
    const checked = assertMatches(numbers, data, [...new Set(sample)]);
    t.diagnostic(`${checked} people in ${new Set(sample).size} sampled units judged the same way`);
  });

  it('the head counts a text recap asks for (without people) equal the people counted, unit by unit and division by division', async () => {
    for (const [from, to] of [[DAYS[0]!, DAYS[6]!], ['2026-11-25', '2026-11-25']] as const) {
      const detailed = await recapNumbers(db.pool, { from, to });
      const counts = await recapNumbers(db.pool, { from, to, withPeople: false });
      assert.deepEqual(counts.units.map((u) => u.people.length), counts.units.map(() => 0));
      assert.deepEqual(
        counts.units.map((u) => [u.clientId, u.posts, u.divisions]),
        detailed.units.map((u) => [u.clientId, u.posts, u.divisions]),
        `${from}..${to}`,
      );
    }
  });

  it('a generated day and a single unit asked for by id', async () => {
    const day = await recapNumbers(db.pool, { from: '2026-11-24', to: '2026-11-24' });
    assertMatches(day, data, ['GEN_1', 'GEN_77']);
    const one = await recapNumbers(db.pool, { from: DAYS[0]!, to: DAYS[6]!, clientIds: ['GEN_42'] });
    assert.deepEqual(one.units.map((u) => u.clientId), ['GEN_42']);
    assertMatches(one, data, ['GEN_42']);
  });
});
