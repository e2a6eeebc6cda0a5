/**
 * Renders the README's picture of the engagement workbook: a demo-like unit (eight personnel, one without
 * an Instagram username) over the week of 23-29 November 2026, built by engagementWorkbook, printed to
 * PDF by LibreOffice and its first page (the Instagram sheet) to PNG by pdftoppm, cropped to the table
 * (the sheet is printed fitted to an A4 landscape page, so the page is mostly margin).
 *
 *   npx tsx scripts/render-recap-sample.ts [out.png]    (default docs/screenshots/recap-workbook.png)
 *
 * Needs soffice (LibreOffice) and pdftoppm (poppler-utils) on PATH. The numbers are fixed, so the
 * picture changes only when the layout does.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import { compareText, daysOf, divisionsOf, rankOrder, type PersonNumbers, type Verdict, type Platform, type RecapNumbers, type UnitNumbers } from '../src/features/rekap/recap-numbers.js';
import { engagementWorkbook } from '../src/features/rekap/recap-workbook.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OUT = path.resolve(process.argv[2] ?? path.join(ROOT, 'docs/screenshots/recap-workbook.png'));

const DAYS = daysOf('2026-11-23', '2026-11-29');
const POSTS: Record<Platform, number[]> = { instagram: [2, 1, 3, 0, 2, 1, 1], tiktok: [1, 1, 0, 1, 2, 0, 1] };
/** name, rank, division, Instagram handle, TikTok handle, diligence (share of posts engaged with). */
const PEOPLE: [string, string, string, string | null, string | null, number][] = [
  ['Hendra Wijaya', 'IPTU', 'SAT BINMAS', 'hendra.w', 'hendra_w', 1],
  ['Siti Rahmawati', 'AIPDA', 'SAT LANTAS', 'siti.rahma', 'sitirahma', 0.9],
  ['Budi Santoso', 'BRIPKA', 'SAT LANTAS', 'budi.santoso', 'budi_s', 0.6],
  ['Dewi Lestari', 'BRIGPOL', 'SAT RESKRIM', 'dewi.lestari', null, 0.4],
  ['Agus Pratama', 'BRIGPOL', 'SAT SABHARA', null, 'agus.p', 0.5],
  ['Rudi Hartono', 'BRIPTU', 'SAT SABHARA', 'rudi.h', 'rudi_h', 0.15],
  ['Yuni Astuti', 'BRIPDA', 'SAT INTELKAM', 'yuni.astuti', 'yuni_a', 0.75],
  ['Eko Saputra', 'BRIPDA', 'SAT BINMAS', 'eko.saputra', 'eko_s', 0],
];

/** The sample's verdicts, by the rule the recap's SQL applies (at least half: sudah; some: kurang). */
function sampleVerdict(handle: string | null, engaged: number, posts: number): Verdict {
  if (handle === null) return 'tanpa_username';
  if (posts > 0 && engaged * 2 >= posts) return 'sudah';
  return engaged > 0 ? 'kurang' : 'belum';
}

function sampleNumbers(): RecapNumbers {
  const byDay = (counts: number[]) => Object.fromEntries(DAYS.map((day, d) => [day, counts[d]!]).filter(([, n]) => n !== 0));
  const total = (counts: number[]) => counts.reduce((a, b) => a + b, 0);
  const people = PEOPLE.map(([name, rank, division, ig, tt, diligence], i): PersonNumbers => {
    const handles = { instagram: ig, tiktok: tt };
    const engagedCounts = (p: Platform) => POSTS[p].map((posts, d) => (handles[p] ? Math.min(posts, Math.round(posts * diligence + ((i + d) % 3 === 0 ? 0.4 : -0.4))) : 0));
    const counts = { instagram: engagedCounts('instagram'), tiktok: engagedCounts('tiktok') };
    const engaged = { instagram: total(counts.instagram), tiktok: total(counts.tiktok) };
    return {
      userId: `7501${String(i + 1).padStart(4, '0')}`,
      name,
      rank,
      division,
      handles,
      engagedByDay: { instagram: byDay(counts.instagram), tiktok: byDay(counts.tiktok) },
      engaged,
      verdict: {
        instagram: sampleVerdict(ig, engaged.instagram, total(POSTS.instagram)),
        tiktok: sampleVerdict(tt, engaged.tiktok, total(POSTS.tiktok)),
      },
    };
  });
  people.sort((a, b) => rankOrder(a.rank) - rankOrder(b.rank) || compareText(a.name, b.name));
  const unit: UnitNumbers = {
    clientId: 'DEMO_SLEMAN',
    name: 'Polres Sleman',
    group: null,
    postsByDay: { instagram: byDay(POSTS.instagram), tiktok: byDay(POSTS.tiktok) },
    posts: { instagram: total(POSTS.instagram), tiktok: total(POSTS.tiktok) },
    divisions: divisionsOf(people),
    people,
  };
  return { from: DAYS[0]!, to: DAYS.at(-1)!, days: DAYS, units: [unit] };
}

/** The picture cut to what is not white, with a margin. */
function cropToContent(page: PNG, margin: number): Buffer {
  let [left, top, right, bottom] = [page.width, page.height, 0, 0];
  for (let y = 0; y < page.height; y++) {
    for (let x = 0; x < page.width; x++) {
      const i = (y * page.width + x) * 4;
      if (page.data[i]! < 240 || page.data[i + 1]! < 240 || page.data[i + 2]! < 240) {
        [left, top, right, bottom] = [Math.min(left, x), Math.min(top, y), Math.max(right, x), Math.max(bottom, y)];
      }
    }
  }
  [left, top] = [Math.max(0, left - margin), Math.max(0, top - margin)];
  [right, bottom] = [Math.min(page.width - 1, right + margin), Math.min(page.height - 1, bottom + margin)];
  const out = new PNG({ width: right - left + 1, height: bottom - top + 1 });
  PNG.bitblt(page, out, left, top, out.width, out.height, 0, 0);
  return PNG.sync.write(out, { colorType: 2 });
}

const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'recap-sample-'));
try {
  const xlsx = path.join(dir, 'rekap.xlsx');
  await fs.writeFile(xlsx, await engagementWorkbook(sampleNumbers(), { platforms: ['instagram', 'tiktok'], kind: 'weekly' }));
  execFileSync('soffice', [`-env:UserInstallation=file://${dir}/profile`, '--headless', '--convert-to', 'pdf', '--outdir', dir, xlsx], { stdio: 'ignore', timeout: 90_000 });
  execFileSync('pdftoppm', ['-png', '-r', '160', '-f', '1', '-l', '1', '-singlefile', path.join(dir, 'rekap.pdf'), path.join(dir, 'page')]);
  await fs.mkdir(path.dirname(OUT), { recursive: true });
  await fs.writeFile(OUT, cropToContent(PNG.sync.read(await fs.readFile(path.join(dir, 'page.png'))), 16));
  process.stdout.write(`${path.relative(process.cwd(), OUT)}\n`);
} finally {
  await fs.rm(dir, { recursive: true, force: true });
}
