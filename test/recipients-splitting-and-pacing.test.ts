import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { FakeTransport } from '../src/whatsapp/fake-transport.js';
import { LogTransport } from '../src/whatsapp/log-transport.js';
import { retryDelayMs } from '../src/lib/backoff.js';
import { normaliseRecipient } from '../src/whatsapp/recipient.js';
import { SendPacer } from '../src/delivery/pacer.js';
import { AbortedError } from '../src/lib/sleep.js';
import { WHATSAPP_MAX_TEXT, splitText } from '../src/delivery/split-text.js';

describe('recipient normalisation', () => {
  const ok = (raw: string, chatId: string, cc = '62') => assert.deepEqual(normaliseRecipient(raw, cc), { ok: true, chatId }, raw);
  const bad = (raw: string, reason: RegExp) => {
    const result = normaliseRecipient(raw, '62');
    assert.equal(result.ok, false, raw);
    assert.match((result as { reason: string }).reason, reason);
  };

  it('turns Indonesian numbers in their usual spellings into 62…@c.us', () => {
    ok('081234567890', '6281234567890@c.us');
    ok('0812-3456-7890', '6281234567890@c.us');
    ok('+62 812 3456 7890', '6281234567890@c.us');
    ok('6281234567890', '6281234567890@c.us');
    ok(' (0812) 3456.7890 ', '6281234567890@c.us');
    ok('0062 812 3456 7890', '6281234567890@c.us');
    ok('081234567890', '6081234567890@c.us', '60');
  });

  it('keeps WhatsApp ids', () => {
    ok('6281234567890@c.us', '6281234567890@c.us');
    ok('6281234567890@s.whatsapp.net', '6281234567890@c.us');
    ok('120363012345678901@g.us', '120363012345678901@g.us');
    ok('6281234567890-1587654321@g.us', '6281234567890-1587654321@g.us');
    ok('123456789012345@lid', '123456789012345@lid');
    ok('120363012345678901@G.US', '120363012345678901@g.us');
  });

  it('rejects what is not a number or id, saying why', () => {
    bad('', /empty/);
    bad('budi', /not a phone number/);
    bad('0812', /has 5 digits/);
    bad('+62 812 3456 7890 1234 5', /digits/);
    bad('abc@g.us', /not a valid group id/);
    bad('62812@c.us', /not a valid number id/);
    bad('62812345678@example.com', /unknown WhatsApp domain/);
    bad('xyz@lid', /not a valid @lid/);
  });
});

describe('splitting long text', () => {
  it('keeps a text within the limit whole', () => {
    assert.deepEqual(splitText('Halo'), ['Halo']);
    const exact = 'a'.repeat(WHATSAPP_MAX_TEXT);
    assert.deepEqual(splitText(exact), [exact]);
  });

  it('splits at line breaks, loses nothing, and is deterministic', () => {
    const lines = Array.from({ length: 600 }, (_, i) => `${i + 1}. BRIPKA Budi Santoso — sudah 🙏`);
    const text = lines.join('\n');
    const parts = splitText(text);
    assert.ok(parts.length > 1);
    assert.equal(parts.join(''), text);
    assert.deepEqual(splitText(text), parts);
    for (const part of parts) assert.ok(Array.from(part).length <= WHATSAPP_MAX_TEXT);
    for (const part of parts.slice(0, -1)) assert.ok(part.endsWith('\n'), 'each cut is after a line break');
  });

  it('falls back to spaces, then to a hard cut that never splits a surrogate pair', () => {
    const words = Array.from({ length: 3000 }, () => 'kata').join(' ');
    const byWords = splitText(words, 100);
    assert.equal(byWords.join(''), words);
    assert.ok(byWords.slice(0, -1).every((p) => p.endsWith(' ')));
    const emoji = '😀'.repeat(250);
    const parts = splitText(emoji, 100);
    assert.deepEqual(parts.map((p) => Array.from(p).length), [100, 100, 50]);
    assert.equal(parts.join(''), emoji);
  });
});

describe('retry backoff', () => {
  it('doubles per attempt up to the cap, jittered within the upper half', () => {
    assert.equal(retryDelayMs(1, 1000, 60_000, () => 0), 500);
    assert.equal(retryDelayMs(1, 1000, 60_000, () => 1), 1000);
    assert.equal(retryDelayMs(3, 1000, 60_000, () => 1), 4000);
    assert.equal(retryDelayMs(20, 1000, 60_000, () => 1), 60_000);
    assert.equal(retryDelayMs(20, 1000, 60_000, () => 0), 30_000);
  });
});

describe('send pacer', () => {
  it('with interval 50 ms and no jitter, 40 sends take at least 1.95 s and no gap is under 50 ms', async () => {
    // The pacer's own start times: the last time it reads before letting a send start (what the test
    // reads after the await would also count how late this loop got back to it).
    let lastRead = 0;
    const pacer = new SendPacer({ intervalMs: 50, jitterMs: 0, maxPerMinute: 1000, now: () => (lastRead = performance.now()) });
    const starts: number[] = [];
    for (let i = 0; i < 40; i++) {
      await pacer.waitTurn();
      starts.push(lastRead);
    }
    const gaps = starts.slice(1).map((t, i) => t - starts[i]!);
    assert.ok(starts.at(-1)! - starts[0]! >= 1950, `took ${starts.at(-1)! - starts[0]!} ms`);
    assert.ok(Math.min(...gaps) >= 50, `smallest gap ${Math.min(...gaps)} ms`);
  });

  it('caps sends per minute (simulated clock)', async () => {
    let now = 0;
    const pacer = new SendPacer({ intervalMs: 0, jitterMs: 0, maxPerMinute: 3, now: () => now });
    await pacer.waitTurn();
    await pacer.waitTurn();
    await pacer.waitTurn();
    now = 59_000;
    const controller = new AbortController();
    const fourth = pacer.waitTurn(controller.signal);
    setTimeout(() => controller.abort(), 20);
    await assert.rejects(fourth, AbortedError, 'the fourth send in the same minute waits');
    now = 60_001;
    await pacer.waitTurn();
  });
});

describe('the log and fake transports implement the whole Transport (documents, inbound, pairing)', () => {
  const workbook = { bytes: Buffer.from('PK\u0003\u0004 workbook'), fileName: 'rekap.xlsx', mimeType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', caption: 'Rekap harian' };

  it('log (dry run): a text is one info line with its length, the text itself only at debug', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => lines.push(JSON.parse(line)) });
    const transport = new LogTransport(logger, () => undefined);
    await transport.start();
    const text = 'Yth. Bapak AKP Budi, NRP 87020123: rahasia';
    await transport.sendText('6281234567890@c.us', text, { handOver: async () => undefined });
    const info = lines.filter((l) => (l.level as number) >= 30);
    assert.ok(info.some((l) => l.msg === 'message (dry run, not sent)' && l.length === text.length), 'the info line with the length');
    assert.ok(!JSON.stringify(info).includes('rahasia'), 'no message body at info');
    assert.ok(lines.some((l) => l.level === 20 && l.text === text), 'the text at debug');
  });

  it('log (dry run): a document is one info line without its bytes or caption, echoed for the reader', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => lines.push(JSON.parse(line)) });
    const echoed: string[] = [];
    const transport = new LogTransport(logger, (text) => echoed.push(text));
    await transport.start();
    let handOvers = 0;
    const result = await transport.sendDocument('6281234567890@c.us', workbook, { handOver: async () => void handOvers++ });
    assert.equal(result.outcome, 'confirmed');
    assert.equal(handOvers, 1);
    const info = lines.find((l) => l.msg === 'document (dry run, not sent)')!;
    assert.deepEqual([info.fileName, info.mimeType, info.size, info.level], ['rekap.xlsx', workbook.mimeType, workbook.bytes.length, 30]);
    assert.deepEqual([info.sha256, info.captionLength], [createHash('sha256').update(workbook.bytes).digest('hex'), 'Rekap harian'.length]);
    assert.ok(!('caption' in info), 'the caption only at debug');
    assert.ok(!JSON.stringify(lines).includes('workbook'), 'no bytes in the log');
    assert.ok(echoed[0]!.includes(`[document rekap.xlsx, ${workbook.mimeType}, ${workbook.bytes.length} bytes]\nRekap harian`), echoed[0]);
    assert.equal(transport.pairing(), null);
  });

  it('fake: documents are recorded with their bytes; inbound and pairing events reach subscribers', async () => {
    const transport = new FakeTransport();
    await transport.start();
    const result = await transport.sendDocument('6281234567890@c.us', workbook, { handOver: async () => undefined });
    assert.equal(result.outcome, 'confirmed');
    const sha256 = createHash('sha256').update(workbook.bytes).digest('hex');
    assert.deepEqual(transport.sends[0]!.document, { fileName: 'rekap.xlsx', mimeType: workbook.mimeType, size: workbook.bytes.length, sha256, bytes: workbook.bytes });
    assert.equal(transport.sends[0]!.text, 'Rekap harian');

    const inbound: string[] = [];
    transport.onInbound((m) => inbound.push(m.body));
    transport.emitInbound({
      messageId: 'false_6281211112222@c.us_A1', chatId: '6281211112222@c.us', isGroup: false, senderId: '6281211112222@c.us', senderPhone: '6281211112222@c.us',
      senderLid: null, senderName: 'Budi', body: 'Lapor', sentAt: new Date(), media: null, isStatus: false,
    });
    assert.deepEqual(inbound, ['Lapor']);

    const pairing: string[] = [];
    transport.onPairing((e) => pairing.push(e.kind));
    transport.emitPairing({ kind: 'qr', qr: 'qr-1', at: new Date() });
    assert.equal(transport.pairing()?.qr, 'qr-1');
    transport.emitPairing({ kind: 'paired', at: new Date() });
    assert.equal(transport.pairing(), null);
    assert.deepEqual(pairing, ['qr', 'paired']);
  });
});
