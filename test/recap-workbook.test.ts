/**
 * The recap workbooks on the hard-case fixture's week (23-29 November 2026) and month: built from
 * recapNumbers, read back with exceljs, checked against the layout of Cicero_V2's recaps and against
 * the numbers the text recap states; then opened by LibreOffice and printed to PDF.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import ExcelJS from 'exceljs';
import { silentLogger } from '../src/lib/logger.js';
import { rankOrder, recapNumbers, tally, type Platform, type RecapNumbers } from '../src/features/rekap/recap-numbers.js';
import { recapText } from '../src/features/rekap/recap-text.js';
import { engagementWorkbook, workbookFileName, XLSX_MIME } from '../src/features/rekap/recap-workbook.js';
import { RANKING_FIRST_ROW, rankingWorkbook } from '../src/features/rekap/ranking-workbook.js';
import { columnLetter, sheetNamer } from '../src/features/rekap/workbook-common.js';
import { REPO_ROOT } from './helpers/cli.js';
import { loadCiceroTables } from './helpers/cicero.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { tempDir } from './helpers/temp-dirs.js';

const WEEK = ['2026-11-23', '2026-11-24', '2026-11-25', '2026-11-26', '2026-11-27', '2026-11-28', '2026-11-29'];
const DAY_NAMES = ['Senin', 'Selasa', 'Rabu', 'Kamis', 'Jumat', 'Sabtu', 'Minggu'];
const GREEN = 'FFC6EFCE';
const RED = 'FFF8CBAD';

async function read(bytes: Buffer): Promise<ExcelJS.Workbook> {
  const book = new ExcelJS.Workbook();
  await book.xlsx.load(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer);
  return book;
}

const fillOf = (cell: ExcelJS.Cell) => (cell.fill?.type === 'pattern' ? cell.fill.fgColor?.argb : undefined);
const numberOf = (cell: ExcelJS.Cell): number => {
  const v = cell.value;
  if (typeof v === 'number') return v;
  // exceljs writes a formula's result 0 as <v>0</v> but reads it back as no result.
  if (v && typeof v === 'object' && 'formula' in v) return v.result === undefined ? 0 : Number(v.result);
  throw new Error(`${cell.address} holds no number: ${JSON.stringify(v)}`);
};
const formulaOf = (cell: ExcelJS.Cell) => (cell.value && typeof cell.value === 'object' && 'formula' in cell.value ? cell.value.formula : undefined);

/** The numbers a text recap states for one platform. */
function textCounts(text: string, title: string) {
  const section = text.slice(text.indexOf(title), text.indexOf('\n\n', text.indexOf(title)));
  const n = (re: RegExp) => Number(re.exec(section)?.[1] ?? 0);
  return { sudah: n(/Sudah: (\d+)/), kurang: n(/Kurang: (\d+)/), belum: n(/Belum: (\d+)/), tanpa_username: n(/username: (\d+)/) };
}

/** Where a sheet's columns are: 4 fixed, 3 per day, 3 for the period, Keterangan. */
function layout(days: number) {
  const period = 5 + 3 * days;
  return { day: (d: number) => 5 + 3 * d, period, note: period + 3 };
}

describe('recap workbooks (Cicero_V2 layout) on the fixture', () => {
  let db: TestDatabase;
  let week: RecapNumbers;
  let month: RecapNumbers;
  before(async () => {
    db = await createTestDatabase('recap_workbook');
    await loadCiceroTables(db.pool);
    await db.pool.query(await fs.readFile(path.join(REPO_ROOT, 'test/fixtures/rekap-hard-cases.sql'), 'utf8'));
    const { migrate } = await import('../src/db/migrate.js');
    await migrate(db.pool, silentLogger());
    week = await recapNumbers(db.pool, { from: '2026-11-23', to: '2026-11-29' });
    month = await recapNumbers(db.pool, { from: '2026-11-01', to: '2026-11-30' });
  });
  after(async () => db?.drop());

  it('has a sheet per unit with personnel and platform, named within Excel rules', async () => {
    const both = await read(await engagementWorkbook(week, { platforms: ['instagram', 'tiktok'], kind: 'weekly' }));
    assert.deepEqual(both.worksheets.map((s) => s.name), ['Polres A IG', 'Polres A TikTok', 'Polres Bantul IG', 'Polres Bantul TikTok'], 'Ditbinmas has no personnel');
    const ig = await read(await engagementWorkbook(week, { platforms: ['instagram'], kind: 'weekly' }));
    assert.deepEqual(ig.worksheets.map((s) => s.name), ['Polres A', 'Polres Bantul']);
    assert.equal(both.creator, 'Cicero');
    assert.equal(both.modified?.toISOString(), '2026-11-29T23:59:59.000Z');

    const none = await recapNumbers(db.pool, { from: '2026-11-23', to: '2026-11-29', clientIds: ['DIT_D'] });
    const empty = await read(await engagementWorkbook(none, { platforms: ['instagram'], kind: 'weekly' }));
    assert.deepEqual(empty.worksheets.map((s) => s.name), ['Rekap'], 'a unit without personnel: one sheet saying so');
    assert.match(String(empty.worksheets[0]!.getCell('A2').value), /tidak ada personil yang dinilai/);

    const name = sheetNamer();
    assert.equal(name('Polres [A]: Kota/Besar?'), 'Polres A Kota Besar');
    assert.equal(name('Polres a kota besar'), 'Polres a kota besar (2)', 'unique without regard to case');
    const long = name('Direktorat Pembinaan Masyarakat Polda Jawa Timur', ' TikTok');
    assert.ok(long.length <= 31 && long.endsWith(' TikTok'), long);
    assert.equal(XLSX_MIME, 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
    assert.equal(workbookFileName('Rekap Engagement Polres A', week), 'Rekap Engagement Polres A 2026-11-23 s.d. 2026-11-29.xlsx');
    assert.equal(workbookFileName('Rekap: Polres "A/B"*?', { from: '2026-11-24', to: '2026-11-24' }), 'Rekap Polres A B 2026-11-24.xlsx');
  });

  for (const [platform, words] of [
    ['instagram', { name: 'Instagram', period: 'Rekap Likes Instagram', sudah: 'Sudah Likes', belum: 'Belum Likes', text: '*Instagram (likes)*' }],
    ['tiktok', { name: 'TikTok', period: 'Rekap Komentar TikTok', sudah: 'Sudah Komentar', belum: 'Belum Komentar', text: '*TikTok (komentar)*' }],
  ] as const) {
    it(`${words.name}: titles, day headers, rank order, formulas, fills, panes and the text recap's numbers`, async () => {
      const book = await read(await engagementWorkbook(week, { platforms: [platform], kind: 'weekly' }));
      for (const unit of week.units.filter((u) => u.people.length > 0)) {
        const sheet = book.getWorksheet(unit.name)!;
        const at = layout(WEEK.length);
        const last = 4 + unit.people.length;
        const total = last + 1;
        assert.equal(sheet.getCell('A1').value, `${unit.name} – Rekap Engagement ${words.name}`);
        assert.equal(sheet.getCell('A2').value, `${words.period} Periode 23/11/2026 - 29/11/2026`);
        assert.ok(sheet.getCell(1, at.note).isMerged, 'the title spans the table');
        assert.deepEqual([1, 2, 3, 4].map((c) => sheet.getCell(3, c).value), ['No', 'Pangkat', 'Nama', 'Divisi / Satfung']);
        assert.equal(sheet.getCell(4, 3).master.address, 'C3', 'fixed headers span rows 3-4');
        WEEK.forEach((day, d) => {
          const c = at.day(d);
          assert.equal(sheet.getCell(3, c).value, `${DAY_NAMES[d]}, ${day.slice(8)}/11/2026`);
          assert.equal(sheet.getCell(3, c + 2).master.address, sheet.getCell(3, c).address, 'the date spans its three columns');
          assert.deepEqual([0, 1, 2].map((j) => sheet.getCell(4, c + j).value), ['Jumlah Post', words.sudah, words.belum]);
        });
        assert.equal(sheet.getCell(3, at.period).value, 'Jumlah Periode');
        assert.equal(sheet.getCell(3, at.note).value, 'Keterangan');

        // Personnel in recap-numbers' order, which is by rank.
        assert.deepEqual(unit.people.map((_, i) => sheet.getCell(5 + i, 3).value), unit.people.map((p) => p.name));
        const ranks = unit.people.map((_, i) => rankOrder((sheet.getCell(5 + i, 2).value as string) || null));
        assert.deepEqual(ranks, [...ranks].sort((a, b) => a - b), 'highest rank first');
        assert.deepEqual(unit.people.map((_, i) => sheet.getCell(5 + i, 1).value), unit.people.map((_, i) => i + 1));

        // Per person and day; the period's totals equal recap-numbers'.
        unit.people.forEach((person, i) => {
          const row = 5 + i;
          WEEK.forEach((day, d) => {
            const [posts, sudah, belum] = [0, 1, 2].map((j) => numberOf(sheet.getCell(row, at.day(d) + j)));
            assert.equal(posts, unit.postsByDay[platform][day] ?? 0, `${person.name} ${day} posts`);
            assert.equal(sudah, person.engagedByDay[platform][day] ?? 0, `${person.name} ${day} sudah`);
            assert.equal(belum, posts - sudah);
            assert.equal(fillOf(sheet.getCell(row, at.day(d) + 1)), GREEN);
            assert.equal(fillOf(sheet.getCell(row, at.day(d) + 2)), RED);
            assert.equal(fillOf(sheet.getCell(row, at.day(d))), undefined);
          });
          assert.equal(numberOf(sheet.getCell(row, at.period)), unit.posts[platform]);
          assert.equal(numberOf(sheet.getCell(row, at.period + 1)), person.engaged[platform], `${person.name} engaged`);
          assert.equal(numberOf(sheet.getCell(row, at.period + 2)), unit.posts[platform] - person.engaged[platform]);
          assert.equal(formulaOf(sheet.getCell(row, at.period + 1)), `SUM(${WEEK.map((_, d) => `${columnLetter(at.day(d) + 1)}${row}`).join(',')})`);
        });

        // TOTAL: SUM formulas with their values.
        assert.equal(sheet.getCell(total, 1).value, 'TOTAL');
        for (let c = 5; c < at.note; c++) {
          const letter = columnLetter(c);
          assert.equal(formulaOf(sheet.getCell(total, c)), `SUM(${letter}5:${letter}${last})`);
          let sum = 0;
          for (let r = 5; r <= last; r++) sum += numberOf(sheet.getCell(r, c));
          assert.equal(numberOf(sheet.getCell(total, c)), sum, `${letter}${total}`);
        }
        assert.equal(numberOf(sheet.getCell(total, at.period + 1)), unit.people.reduce((s, p) => s + p.engaged[platform], 0));

        // The text recap states the same posts and verdicts.
        const text = recapText('weekly', unit, week.from, week.to);
        const posts = Number((platform === 'instagram' ? /Konten: Instagram (\d+)/ : /· TikTok (\d+)\n/).exec(text)?.[1]);
        assert.equal(numberOf(sheet.getCell(5, at.period)), posts, 'posts as the text states them');
        const notes = unit.people.map((_, i) => sheet.getCell(5 + i, at.note).value as string);
        const counted = {
          sudah: notes.filter((n) => n === 'Sudah').length,
          kurang: notes.filter((n) => n === 'Kurang').length,
          belum: notes.filter((n) => n === 'Belum').length,
          tanpa_username: notes.filter((n) => n === `Username ${words.name} belum diisi`).length,
        };
        assert.deepEqual(counted, tally(unit.people)[platform]);
        if (posts > 0) assert.deepEqual(counted, textCounts(text, words.text));
        const t = tally(unit.people)[platform];
        assert.equal(sheet.getCell(total, at.note).value, `Sudah ${t.sudah} · Kurang ${t.kurang} · Belum ${t.belum} · Tanpa username ${t.tanpa_username}`);

        // Frozen at 4×4, filter over header row 4 to the last person.
        assert.equal(sheet.views[0]?.state, 'frozen');
        assert.deepEqual([(sheet.views[0] as ExcelJS.WorksheetViewFrozen).xSplit, (sheet.views[0] as ExcelJS.WorksheetViewFrozen).ySplit], [4, 4]);
        assert.equal(sheet.autoFilter, `A4:${columnLetter(at.note)}${last}`);
      }
    });
  }

  it('marks a person without a handle: sudah 0, belum the posts, grey italics, "belum diisi"', async () => {
    const book = await read(await engagementWorkbook(week, { platforms: ['instagram'], kind: 'weekly' }));
    const unit = week.units.find((u) => u.name === 'Polres A')!;
    const i = unit.people.findIndex((p) => p.name === 'Agus');
    assert.equal(unit.people[i]!.verdict.instagram, 'tanpa_username', 'the fixture has Agus without an Instagram handle');
    const sheet = book.getWorksheet('Polres A')!;
    const at = layout(WEEK.length);
    assert.equal(numberOf(sheet.getCell(5 + i, at.period + 1)), 0);
    assert.equal(numberOf(sheet.getCell(5 + i, at.period + 2)), unit.posts.instagram);
    assert.equal(sheet.getCell(5 + i, 3).font?.italic, true);
    assert.equal(sheet.getCell(5 + i, at.note).value, 'Username Instagram belum diisi');
    // The hard cases in the week: five posts of Polres A (the 00:10 post of the 25th included).
    assert.equal(unit.posts.instagram, 5);
  });

  it('monthly: a group per day of the month, totals as the text states them', async () => {
    const book = await read(await engagementWorkbook(month, { platforms: ['instagram', 'tiktok'], kind: 'monthly' }));
    const sheet = book.getWorksheet('Polres A IG')!;
    const unit = month.units.find((u) => u.name === 'Polres A')!;
    const at = layout(30);
    assert.equal(sheet.getCell('A2').value, 'Rekap Likes Instagram Periode 01/11/2026 - 30/11/2026');
    assert.equal(sheet.getCell(3, at.day(0)).value, 'Minggu, 01/11/2026');
    assert.equal(sheet.getCell(3, at.day(29)).value, 'Senin, 30/11/2026');
    const weekdays = ['Minggu', ...DAY_NAMES.slice(0, 6)];
    month.days.forEach((day, d) => {
      assert.equal(sheet.getCell(3, at.day(d)).value, `${weekdays[new Date(`${day}T00:00:00Z`).getUTCDay()]}, ${day.slice(8)}/11/2026`);
      assert.equal(sheet.getCell(4, at.day(d) + 2).value, 'Belum Likes');
    });
    const last = 4 + unit.people.length;
    assert.equal(formulaOf(sheet.getCell(last + 1, at.period)), `SUM(${columnLetter(at.period)}5:${columnLetter(at.period)}${last})`);
    assert.equal(numberOf(sheet.getCell(5, at.period)), Number(/Konten: Instagram (\d+)/.exec(recapText('monthly', unit, month.from, month.to))?.[1]));
    assert.equal(sheet.autoFilter, `A4:${columnLetter(at.note)}${last}`);
  });

  it('the same numbers give the same bytes', async () => {
    const a = await engagementWorkbook(week, { platforms: ['instagram', 'tiktok'], kind: 'weekly' });
    await new Promise((resolve) => setTimeout(resolve, 2100)); // past the zip's two-second clock
    const b = await engagementWorkbook(week, { platforms: ['instagram', 'tiktok'], kind: 'weekly' });
    assert.ok(a.equals(b));
    assert.ok((await rankingWorkbook(week, { kind: 'weekly' })).equals(await rankingWorkbook(week, { kind: 'weekly' })));
  });

  it('ranking: a row per unit, sudah counting kurang as Cicero_V2 does, ordered by engagement, TOTAL formulas', async () => {
    const book = await read(await rankingWorkbook(week, { kind: 'weekly', title: 'Ditbinmas' }));
    assert.deepEqual(book.worksheets.map((s) => s.name), ['Ranking Engagement']);
    const sheet = book.worksheets[0]!;
    assert.equal(sheet.getCell('A1').value, 'Rekap Ranking Engagement DITBINMAS');
    assert.equal(sheet.getCell('A2').value, 'Periode: Senin, 23 November 2026 s.d. Minggu, 29 November 2026');
    assert.deepEqual([1, 2, 3, 6].map((c) => sheet.getCell(7, c).value), ['NAMA SATKER', 'JUMLAH PERSONIL', 'INSTAGRAM', 'TIKTOK']);
    assert.deepEqual([3, 4, 5, 6, 7, 8].map((c) => sheet.getCell(8, c).value), ['SUDAH', 'BELUM', 'USERNAME KOSONG', 'SUDAH', 'BELUM', 'USERNAME KOSONG']);

    const engagement = (u: RecapNumbers['units'][number]) => u.people.reduce((s, p) => s + p.engaged.instagram + p.engaged.tiktok, 0);
    const rows = week.units.map((_, i) => sheet.getRow(RANKING_FIRST_ROW + i));
    const byName = new Map(week.units.map((u) => [u.name.toUpperCase(), u]));
    const ranked = rows.map((row, i) => {
      const [n, name] = /^(\d+)\. (.+)$/.exec(row.getCell(1).value as string)!.slice(1);
      assert.equal(Number(n), i + 1);
      return byName.get(name!)!;
    });
    assert.equal(new Set(ranked).size, week.units.length, 'every unit once');
    const scores = ranked.map(engagement);
    assert.deepEqual(scores, [...scores].sort((a, b) => b - a), 'most likes and comments first');
    ranked.forEach((unit, i) => {
      const row = rows[i]!;
      const t = tally(unit.people);
      const want = (p: Platform) => [t[p].sudah + t[p].kurang, t[p].belum, t[p].tanpa_username];
      assert.deepEqual([2, 3, 4, 5, 6, 7, 8].map((c) => numberOf(row.getCell(c))), [t.people, ...want('instagram'), ...want('tiktok')], unit.name);
      assert.equal(fillOf(row.getCell(3)), GREEN);
      assert.equal(fillOf(row.getCell(7)), RED);
    });
    const total = RANKING_FIRST_ROW + week.units.length;
    assert.equal(sheet.getCell(total, 1).value, 'TOTAL');
    for (let c = 2; c <= 8; c++) {
      const letter = columnLetter(c);
      assert.equal(formulaOf(sheet.getCell(total, c)), `SUM(${letter}${RANKING_FIRST_ROW}:${letter}${total - 1})`);
      assert.equal(numberOf(sheet.getCell(total, c)), rows.reduce((s, row) => s + numberOf(row.getCell(c)), 0));
    }
    assert.equal((sheet.views[0] as ExcelJS.WorksheetViewFrozen).ySplit, 8);
    assert.equal(sheet.autoFilter, `A8:H${total - 1}`);
  });

  it('LibreOffice opens both workbooks and prints them to PDF', async (t) => {
    if (spawnSync('sh', ['-c', 'command -v soffice']).status !== 0) {
      t.skip('soffice (LibreOffice) is not on PATH: the PDF check needs it (CI installs libreoffice-calc-nogui)');
      return;
    }
    const dir = await tempDir('recap-workbook-');
    try {
      const files = {
        'rekap.xlsx': await engagementWorkbook(week, { platforms: ['instagram', 'tiktok'], kind: 'weekly' }),
        'ranking.xlsx': await rankingWorkbook(week, { kind: 'weekly' }),
      };
      for (const [name, bytes] of Object.entries(files)) await fs.writeFile(path.join(dir, name), bytes);
      const code = await new Promise<number | null>((resolve, reject) => {
        const child = spawn(
          'soffice',
          [`-env:UserInstallation=file://${dir}/profile`, '--headless', '--convert-to', 'pdf', '--outdir', dir, ...Object.keys(files).map((f) => path.join(dir, f))],
          { stdio: 'ignore' },
        );
        const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
        child.on('error', reject);
        child.on('exit', (exit) => {
          clearTimeout(timer);
          resolve(exit);
        });
      });
      assert.equal(code, 0, 'soffice exits 0');
      for (const name of ['rekap.pdf', 'ranking.pdf']) {
        const pdf = await fs.readFile(path.join(dir, name));
        assert.ok(pdf.length > 1000 && pdf.subarray(0, 5).toString() === '%PDF-', `${name} is a PDF`);
      }
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
