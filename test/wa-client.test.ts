/**
 * The WhatsApp Web transport driven through a stand-in for whatsapp-web.js's Client (an EventEmitter
 * with the same methods and events); the real library and Chromium are exercised by wa-client-smoke.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { pino } from 'pino';
import { silentLogger, type Logger } from '../src/lib/logger.js';

/** A logger whose lines are kept as objects. */
function captureLogger(lines: Array<Record<string, unknown>>): Logger {
  return pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
}
import { ProfileInUseError } from '../src/whatsapp/wwebjs/profile-lock.js';
import { HandOverRefused, SendError, type TransportStatus } from '../src/whatsapp/transport.js';
import { WhatsAppWebTransport, classifySendError, createWwebjsClient, type WwebClientLike, type WwebClientSettings } from '../src/whatsapp/wwebjs/transport.js';
import { drawQrCodes } from '../src/whatsapp/terminal-qr.js';
import { waitUntil } from './helpers/dispatch.js';
import { tempDir } from './helpers/temp-dirs.js';

type InitBehaviour = { kind: 'resolve' } | { kind: 'reject'; message: string } | { kind: 'pending' };

/** Stand-in for whatsapp-web.js's Client. */
class StandInClient extends EventEmitter implements WwebClientLike {
  destroyed = 0;
  numberLookups: string[] = [];
  sent: Array<{ chatId: string; text: unknown }> = [];
  numbers = new Map<string, string | null>();
  sendResult: () => Promise<unknown> = async () => ({ id: { _serialized: `true_6281234567890@c.us_${Date.now()}` } });
  private resolveInit: (() => void) | null = null;

  constructor(readonly settings: WwebClientSettings, private readonly behaviour: InitBehaviour) {
    super();
  }

  initialize(): Promise<void> {
    if (this.behaviour.kind === 'reject') return Promise.reject(new Error(this.behaviour.message));
    if (this.behaviour.kind === 'pending') return new Promise((resolve) => (this.resolveInit = resolve));
    return Promise.resolve();
  }

  finishInitialize(): void {
    this.resolveInit?.();
  }

  async destroy(): Promise<void> {
    this.destroyed++;
  }

  async getNumberId(number: string): Promise<{ _serialized: string } | null> {
    this.numberLookups.push(number);
    const wid = this.numbers.has(number) ? this.numbers.get(number)! : number;
    return wid ? { _serialized: wid } : null;
  }

  sentOptions: Array<Record<string, unknown> | undefined> = [];

  async sendMessage(chatId: string, text: unknown, options?: Record<string, unknown>): Promise<unknown> {
    this.sent.push({ chatId, text });
    this.sentOptions.push(options);
    return this.sendResult();
  }
}

interface Harness {
  transport: WhatsAppWebTransport;
  clients: StandInClient[];
  states: TransportStatus[];
  qrPictures: string[];
  authPath: string;
  profileDir: string;
}

const harnesses: Harness[] = [];
afterEach(async () => {
  for (const h of harnesses.splice(0)) {
    await h.transport.close();
    await fs.rm(path.dirname(h.authPath), { recursive: true, force: true });
  }
});

async function harness(
  behaviours: InitBehaviour[] = [],
  options: Partial<{
    readyTimeoutMs: number;
    reconnectBaseMs: number;
    reconnectMaxMs: number;
    chromiumPath: string;
    logger: Logger;
    /** Replaces the stand-in factory (it is given the harness's client list to fill). */
    clientFactory: (settings: WwebClientSettings, clients: StandInClient[]) => WwebClientLike;
  }> = {},
): Promise<Harness> {
  const base = await tempDir('cicero-wa-client-');
  const authPath = path.join(base, 'wa-auth');
  const clients: StandInClient[] = [];
  const states: TransportStatus[] = [];
  const qrPictures: string[] = [];
  const transport = new WhatsAppWebTransport({
    authPath,
    authProfile: 'polres-test',
    chromiumPath: options.chromiumPath ?? process.execPath, // any executable stands for the browser here
    puppeteerArgs: ['--lang=id'],
    pairPhone: null,
    readyTimeoutMs: options.readyTimeoutMs ?? 60_000,
    reconnectBaseMs: options.reconnectBaseMs ?? 10,
    reconnectMaxMs: options.reconnectMaxMs ?? 1000,
    logger: options.logger ?? silentLogger(),
    random: () => 1,
    clientFactory: (settings) => {
      if (options.clientFactory) return options.clientFactory(settings, clients);
      const client = new StandInClient(settings, behaviours[clients.length] ?? { kind: 'resolve' });
      clients.push(client);
      return client;
    },
  });
  transport.onStateChange((s) => states.push(s));
  // The terminal picture is drawn by a subscriber of the pairing events, as the service does.
  drawQrCodes(transport, (text) => qrPictures.push(text), silentLogger());
  const h = { transport, clients, states, qrPictures, authPath, profileDir: path.join(authPath, 'session-polres-test') };
  harnesses.push(h);
  return h;
}

async function readyHarness(): Promise<Harness & { client: StandInClient }> {
  const h = await harness();
  await h.transport.start();
  await waitUntil(() => h.clients.length === 1, 1000, 'a client');
  h.clients[0]!.emit('ready');
  assert.equal(h.transport.isReady(), true);
  return { ...h, client: h.clients[0]! };
}

describe('WhatsApp Web transport (stand-in for the whatsapp-web.js Client)', () => {
  it('launches with LocalAuth settings, a private session directory and the container flags', async () => {
    const h = await harness();
    await h.transport.start();
    await waitUntil(() => h.clients.length === 1, 1000, 'a client');
    const settings = h.clients[0]!.settings;
    assert.equal(settings.authProfile, 'polres-test');
    assert.equal(settings.authPath, h.authPath);
    assert.equal(settings.executablePath, process.execPath);
    assert.ok(settings.args.includes('--no-sandbox') && settings.args.includes('--disable-dev-shm-usage'));
    assert.equal(settings.args.at(-1), '--lang=id', 'WA_PUPPETEER_ARGS come last');
    assert.equal((await fs.stat(h.authPath)).mode & 0o777, 0o700);
    assert.equal((await fs.stat(h.profileDir)).mode & 0o777, 0o700);
  });

  it('goes starting → awaiting_qr → authenticated → ready, each change once; the QR is kept and drawn', async () => {
    const h = await harness();
    await h.transport.start();
    await waitUntil(() => h.clients.length === 1, 1000, 'a client');
    const client = h.clients[0]!;
    client.emit('qr', '2@abcdef,ghijkl,mnopqr,stuvwx');
    await waitUntil(() => h.qrPictures.length === 1, 1000, 'the QR picture');
    assert.deepEqual(h.transport.pairing()?.qr, '2@abcdef,ghijkl,mnopqr,stuvwx');
    assert.match(h.qrPictures[0]!, /[▀▄█]/, 'a terminal QR picture');
    client.emit('authenticated');
    client.emit('ready');
    client.emit('ready'); // fires again after a reconnect: no new change
    assert.deepEqual(h.states.map((s) => s.state), ['starting', 'awaiting_qr', 'authenticated', 'ready']);
    assert.ok(h.states.every((s) => s.since instanceof Date));
    assert.equal(h.transport.pairing(), null, 'paired: no code kept');
    assert.equal(h.transport.isReady(), true);
  });

  it('restarts after initialisation failures with growing, capped delays, naming the error; destroys each client', async () => {
    const failure = { kind: 'reject', message: 'net::ERR_NAME_NOT_RESOLVED at https://web.whatsapp.com/' } as const;
    const h = await harness([failure, failure, failure, failure], { reconnectBaseMs: 20, reconnectMaxMs: 80 });
    await h.transport.start();
    await waitUntil(() => h.clients.length === 5, 3000, 'four restarts');
    const reconnecting = h.states.filter((s) => s.state === 'reconnecting');
    assert.equal(reconnecting.length, 4);
    assert.ok(reconnecting.every((s) => /initialisation failed: net::ERR_NAME_NOT_RESOLVED/.test(s.reason!)));
    assert.deepEqual(reconnecting.map((s) => Number(/next try in (\d+) ms/.exec(s.reason!)![1])), [20, 40, 80, 80]);
    assert.ok(h.clients.slice(0, 4).every((c) => c.destroyed >= 1), 'no browser left from a failed start');
    h.clients[4]!.emit('ready');
    assert.equal(h.transport.isReady(), true);
  });

  it('LOGOUT clears the session directory and waits for a new QR scan', async () => {
    const h = await readyHarness();
    await fs.writeFile(path.join(h.profileDir, 'Local State'), '{}');
    h.client.emit('disconnected', 'LOGOUT');
    await waitUntil(() => h.clients.length === 2, 1000, 'a new client');
    assert.deepEqual(await fs.readdir(h.profileDir), [], 'auth profile cleared');
    assert.equal(h.client.destroyed >= 1, true);
    h.clients[1]!.emit('qr', 'new-qr');
    assert.equal(h.transport.status().state, 'awaiting_qr');
    assert.ok(h.states.some((s) => s.state === 'disconnected' && s.reason === 'LOGOUT'));
  });

  it('a plain disconnect restarts the client and keeps the session', async () => {
    const h = await readyHarness();
    await fs.writeFile(path.join(h.profileDir, 'Local State'), '{}');
    h.client.emit('disconnected', 'NAVIGATION');
    await waitUntil(() => h.clients.length === 2, 1000, 'a new client');
    assert.deepEqual(await fs.readdir(h.profileDir), ['Local State']);
    assert.ok(h.states.some((s) => s.state === 'reconnecting' && /disconnected: NAVIGATION/.test(s.reason!)));
  });

  it('restarts when ready does not come in time, but not while waiting for a QR scan', async () => {
    const h = await harness([], { readyTimeoutMs: 60 });
    await h.transport.start();
    await waitUntil(() => h.clients.length === 2, 2000, 'a restart after the ready timeout');
    assert.ok(h.states.some((s) => s.state === 'reconnecting' && /ready_timeout/.test(s.reason!)));
    h.clients[1]!.emit('qr', 'qr-code');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(h.clients.length, 2, 'no timeout while a person has to scan');
    assert.equal(h.transport.status().state, 'awaiting_qr');
  });

  it('checks a number before sending (cached); failures before the hand-over throw, after it the outcome is unknown', async () => {
    const h = await readyHarness();
    const client = h.client;
    let handOvers = 0;
    const hooks = { handOver: async () => void handOvers++ };
    client.numbers.set('6281234567890@c.us', '6281234567890@c.us');
    client.numbers.set('6289999999999@c.us', null);
    const sent = await h.transport.sendText('6281234567890@c.us', 'Halo', hooks);
    assert.equal(sent.outcome, 'confirmed');
    assert.match(sent.outcome === 'confirmed' ? sent.messageId : '', /^true_/);
    await h.transport.sendText('6281234567890@c.us', 'Halo lagi', hooks);
    assert.deepEqual(client.numberLookups, ['6281234567890@c.us'], 'the lookup is cached');
    await h.transport.sendText('120363012345678901@g.us', 'Grup', hooks);
    assert.equal(client.numberLookups.length, 1, 'groups are not looked up');
    assert.equal(handOvers, 3);
    assert.deepEqual(client.sentOptions.at(-1), { linkPreview: false, sendSeen: false }, 'no sendSeen (the markedUnread crash), no link preview');

    await assert.rejects(h.transport.sendText('6289999999999@c.us', 'x', hooks), (e: SendError) => e.kind === 'permanent' && e.reason === 'not_on_whatsapp');
    assert.equal(handOvers, 3, 'a number without WhatsApp is refused before the hand-over');
    client.sendResult = async () => undefined;
    assert.deepEqual(await h.transport.sendText('6281234567890@c.us', 'x', hooks), { outcome: 'unknown', reason: 'no_message_id: WhatsApp Web returned no message id' });
    client.sendResult = async () => ({ id: { fromMe: true, remote: '6281234567890@c.us', id: '3EB0AA', $1: 'true_6281234567890@c.us_3EB0AA' } });
    assert.deepEqual(await h.transport.sendText('6281234567890@c.us', 'x', hooks), { outcome: 'confirmed', messageId: 'true_6281234567890@c.us_3EB0AA' }, 'a $1-shaped key is read');
    client.sendResult = async () => {
      throw new Error('Protocol error (Runtime.callFunctionOn): Session closed. Most likely the page has been closed.');
    };
    const closed = await h.transport.sendText('6281234567890@c.us', 'x', hooks);
    assert.equal(closed.outcome, 'unknown', 'an error after the hand-over is an unknown outcome');
    client.sendResult = async () => {
      throw new Error('Evaluation failed: Error: invalid wid');
    };
    await assert.rejects(h.transport.sendText('6281234567890@c.us', 'x', hooks), (e: SendError) => e.kind === 'permanent' && e.reason === 'rejected');
    const before = handOvers;
    await assert.rejects(
      h.transport.sendText('6281234567890@c.us', 'x', { handOver: async () => { throw new HandOverRefused('not held'); } }),
      (e: Error) => e instanceof HandOverRefused,
    );
    assert.equal(client.sent.length, before, 'nothing sent when the hand-over is refused');
    h.client.emit('disconnected', 'TIMEOUT');
    await assert.rejects(h.transport.sendText('6281234567890@c.us', 'x', hooks), (e: SendError) => e.kind === 'transient' && e.reason === 'not_ready');
    assert.equal(classifySendError(new Error('something odd')).kind, 'transient');
  });

  it('passes delivery receipts to the ack listeners, whatever the key shape', async () => {
    const h = await readyHarness();
    const acks: Array<[string, number]> = [];
    h.transport.onAck((id, ack) => acks.push([id, ack]));
    h.client.emit('message_ack', { id: { _serialized: 'true_6281234567890@c.us_ABC' } }, 2);
    h.client.emit('message_ack', { id: { fromMe: true, remote: '6281234567890@c.us', id: 'DEF', $1: 'true_6281234567890@c.us_DEF' } }, 3);
    h.client.emit('message_ack', { id: { fromMe: true, remote: '6281234567890@c.us', id: 'GHI' } }, 1); // rebuilt from its parts
    assert.deepEqual(acks, [['true_6281234567890@c.us_ABC', 2], ['true_6281234567890@c.us_DEF', 3], ['true_6281234567890@c.us_GHI', 1]]);
  });

  it('reports own messages (message_create, and acks that carry them) with the chat\'s phone number for a LID chat', async () => {
    const h = await readyHarness();
    (h.client as unknown as { getContactLidAndPhone: (ids: string[]) => Promise<Array<{ lid?: string; pn?: string }>> }).getContactLidAndPhone = async (ids) =>
      ids.map(() => ({ lid: '141880100663303@lid', pn: '6281234567890@c.us' }));
    const own: Array<{ messageId: string; chatIds: string[]; body: string; ack: number | null }> = [];
    h.transport.onOwnMessage((m) => own.push(m));
    const key = { fromMe: true, remote: '141880100663303@lid', id: '3EB0X', $1: 'true_141880100663303@lid_3EB0X' };
    h.client.emit('message_create', { id: key, fromMe: true, to: '141880100663303@lid', body: 'Rekap' });
    h.client.emit('message_create', { id: { ...key, fromMe: false }, fromMe: false, to: 'me', body: 'bukan milik kita' });
    h.client.emit('message_ack', { id: key, fromMe: true, to: '141880100663303@lid', body: 'Rekap' }, 2);
    await waitUntil(() => own.length === 2, 1000, 'two own-message reports');
    assert.deepEqual(own.map((m) => [m.messageId, m.chatIds, m.body, m.ack]), [
      ['true_141880100663303@lid_3EB0X', ['141880100663303@lid', '6281234567890@c.us'], 'Rekap', null],
      ['true_141880100663303@lid_3EB0X', ['141880100663303@lid', '6281234567890@c.us'], 'Rekap', 2],
    ]);
  });

  it('sends a document as a WhatsApp document (MessageMedia with its name, type and size; the caption), with the hand-over contract of text', async () => {
    const h = await readyHarness();
    const bytes = Buffer.from('PK\u0003\u0004 rekap workbook bytes');
    let handOvers = 0;
    const result = await h.transport.sendDocument(
      '6281234567890@c.us',
      { bytes, fileName: 'rekap-harian-2026-11-25.xlsx', mimeType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', caption: 'Rekap harian 25 November 2026' },
      { handOver: async () => void handOvers++ },
    );
    assert.equal(result.outcome, 'confirmed');
    assert.equal(handOvers, 1);
    const media = h.client.sent[0]!.text as { mimetype: string; data: string; filename: string; filesize: number };
    assert.equal(media.mimetype, 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
    assert.equal(media.filename, 'rekap-harian-2026-11-25.xlsx');
    assert.equal(Buffer.from(media.data, 'base64').toString(), bytes.toString());
    assert.equal(media.filesize, bytes.length);
    assert.deepEqual(h.client.sentOptions[0], { sendMediaAsDocument: true, sendSeen: false, caption: 'Rekap harian 25 November 2026' });
    // Refused at the hand-over: nothing goes to WhatsApp.
    await assert.rejects(
      h.transport.sendDocument('6281234567890@c.us', { bytes, fileName: 'x.xlsx', mimeType: 'application/octet-stream' }, { handOver: async () => { throw new HandOverRefused('claim lost'); } }),
      HandOverRefused,
    );
    assert.equal(h.client.sent.length, 1);
    // No id back after the hand-over (today's WhatsApp Web): unknown, never a failure to retry.
    h.client.sendResult = async () => undefined;
    const unknown = await h.transport.sendDocument('6281234567890@c.us', { bytes, fileName: 'y.xlsx', mimeType: 'application/octet-stream' }, { handOver: async () => undefined });
    assert.equal(unknown.outcome, 'unknown');
  });

  it('reports messages people send to the number (personal, group with a LID author, media, status), not its own', async () => {
    const h = await readyHarness();
    (h.client as unknown as { getContactLidAndPhone: (ids: string[]) => Promise<Array<{ lid?: string; pn?: string }>> }).getContactLidAndPhone = async (ids) =>
      ids.map((id) => (id === '141880100663303@lid' ? { lid: '141880100663303@lid', pn: '6281299990000@c.us' } : {}));
    const inbound: Array<Record<string, unknown>> = [];
    h.transport.onInbound((m) => inbound.push(m as unknown as Record<string, unknown>));
    h.client.emit('message', {
      id: { fromMe: false, remote: '6281211112222@c.us', id: 'A1', $1: 'false_6281211112222@c.us_A1' },
      from: '6281211112222@c.us', fromMe: false, body: 'Lapor, akun saya sudah like tapi tercatat belum', timestamp: 1764036000, _data: { notifyName: 'Budi' },
    });
    h.client.emit('message', {
      id: { fromMe: false, remote: '120363012345670000@g.us', id: 'B2', $1: 'false_120363012345670000@g.us_B2_141880100663303@lid' },
      from: '120363012345670000@g.us', author: '141880100663303@lid', fromMe: false, body: '', hasMedia: true, timestamp: 1764036060,
      _data: { mimetype: 'image/jpeg', size: 52_000 },
    });
    h.client.emit('message', { id: { $1: 'false_status@broadcast_C3' }, from: 'status@broadcast', fromMe: false, body: 'status', isStatus: true, timestamp: 1764036100 });
    h.client.emit('message', { id: { $1: 'true_6281211112222@c.us_D4' }, from: '6281211112222@c.us', fromMe: true, body: 'our own', timestamp: 1764036120 });
    await waitUntil(() => inbound.length === 3, 1000, 'three inbound reports');
    const [personal, group, status] = inbound;
    assert.deepEqual(
      { ...personal, sentAt: (personal!.sentAt as Date).toISOString() },
      {
        messageId: 'false_6281211112222@c.us_A1', chatId: '6281211112222@c.us', isGroup: false, senderId: '6281211112222@c.us', senderPhone: '6281211112222@c.us',
        senderLid: null, senderName: 'Budi', body: 'Lapor, akun saya sudah like tapi tercatat belum', sentAt: '2025-11-25T02:00:00.000Z', media: null, isStatus: false,
      },
    );
    assert.equal(group!.isGroup, true);
    assert.equal(group!.senderId, '6281299990000@c.us', 'the LID author is reported with its phone number');
    assert.equal(group!.senderLid, '141880100663303@lid');
    assert.deepEqual(group!.media, { mimeType: 'image/jpeg', fileName: null, size: 52_000 });
    assert.equal(status!.isStatus, true);
  });

  it('reports pairing as events: each QR code, then paired; pairing() holds the code waiting', async () => {
    const h = await harness();
    const events: string[] = [];
    h.transport.onPairing((e) => events.push(e.kind === 'qr' ? `qr:${e.qr}` : e.kind === 'code' ? `code:${e.code}` : e.kind));
    await h.transport.start();
    await waitUntil(() => h.clients.length === 1, 1000, 'a client');
    h.clients[0]!.emit('qr', 'qr-a');
    h.clients[0]!.emit('qr', 'qr-b');
    assert.equal(h.transport.pairing()?.qr, 'qr-b');
    h.clients[0]!.emit('authenticated');
    h.clients[0]!.emit('ready');
    await waitUntil(() => events.includes('paired'), 1000, 'paired');
    assert.deepEqual(events, ['qr:qr-a', 'qr:qr-b', 'paired']);
    assert.equal(h.transport.pairing(), null, 'nothing waiting once paired');
  });

  it('a pairing code goes only to whoever asked for it: never into the log or the state a read key sees', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const h = await harness([], { logger: captureLogger(lines) });
    await h.transport.start();
    await waitUntil(() => h.clients.length === 1, 1000, 'a client');
    h.clients[0]!.emit('code', 'K7Q2M9XD');
    assert.equal(h.transport.pairing()?.code, 'K7Q2M9XD', 'kept for the API (full access)');
    assert.equal(h.transport.status().state, 'awaiting_qr');
    assert.doesNotMatch(String(h.transport.status().reason), /K7Q2M9XD/);
    assert.ok(lines.length > 0 && lines.every((l) => !JSON.stringify(l).includes('K7Q2M9XD')), JSON.stringify(lines));
  });

  it('keeps waiting through QR rotations (no upper bound), and logs the WhatsApp Web build once ready', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const h = await harness([], { readyTimeoutMs: 80, logger: captureLogger(lines) });
    await h.transport.start();
    await waitUntil(() => h.clients.length === 1, 1000, 'a client');
    const client = h.clients[0]!;
    (client as unknown as { getWWebVersion: () => Promise<string> }).getWWebVersion = async () => '2.3000.1043280533';
    for (let i = 0; i < 6; i++) {
      client.emit('qr', `qr-${i}`);
      await new Promise((r) => setTimeout(r, 30));
    }
    assert.equal(h.clients.length, 1, 'no restart while waiting for a scan, however many codes');
    assert.equal(h.transport.pairing()?.qr, 'qr-5');
    assert.ok(lines.filter((l) => /still waiting for a scan/.test(String(l.msg))).length === 6);
    client.emit('authenticated');
    client.emit('ready');
    await waitUntil(() => h.transport.webVersion === '2.3000.1043280533', 1000, 'the build');
    assert.ok(lines.some((l) => l.msg === 'WhatsApp Web is ready (build 2.3000.1043280533)' && l.pinned === 'unpinned'));
  });

  it('builds the whatsapp-web.js client with options that avoid known failures, and pins the build when asked', () => {
    const settings = {
      authPath: '/tmp/wa-auth', authProfile: 's', executablePath: '/usr/bin/chromium', args: ['--no-sandbox'], pairPhone: null,
      webCacheDir: '/tmp/wa-auth/web-cache', authTimeoutMs: 45_000, webVersion: null, webVersionUrl: null,
    };
    const options = (c: unknown) => (c as { options: Record<string, unknown> }).options;
    const plain = options(createWwebjsClient(settings));
    assert.equal(plain.authTimeoutMs, 45_000);
    assert.equal(plain.takeoverOnConflict, false);
    assert.equal(plain.qrMaxRetries, 0);
    assert.deepEqual(plain.webVersionCache, { type: 'local', path: '/tmp/wa-auth/web-cache', strict: false });
    const pinned = options(createWwebjsClient({ ...settings, webVersion: '2.3000.1017054665', webVersionUrl: 'https://example.org/{version}.html' }));
    assert.equal(pinned.webVersion, '2.3000.1017054665');
    assert.deepEqual(pinned.webVersionCache, { type: 'remote', remotePath: 'https://example.org/{version}.html', strict: true });
    const cachedPin = options(createWwebjsClient({ ...settings, webVersion: '2.3000.1017054665' }));
    assert.deepEqual(cachedPin.webVersionCache, { type: 'local', path: '/tmp/wa-auth/web-cache', strict: true });
  });

  it('removes a stale Chromium profile lock and refuses a live one', async () => {
    const stale = await harness();
    await fs.mkdir(stale.profileDir, { recursive: true });
    await fs.symlink(`${os.hostname()}-999999`, path.join(stale.profileDir, 'SingletonLock'));
    await stale.transport.start();
    await assert.rejects(fs.lstat(path.join(stale.profileDir, 'SingletonLock')), 'stale lock removed');

    const live = await harness();
    await fs.mkdir(live.profileDir, { recursive: true });
    const fakeChromium = path.join(path.dirname(live.authPath), 'chromium');
    await fs.copyFile('/bin/sleep', fakeChromium);
    await fs.chmod(fakeChromium, 0o755);
    const other = spawn(fakeChromium, ['30'], { stdio: 'ignore' });
    try {
      await fs.symlink(`${os.hostname()}-${other.pid}`, path.join(live.profileDir, 'SingletonLock'));
      await assert.rejects(live.transport.start(), (err: unknown) => {
        assert.ok(err instanceof ProfileInUseError);
        assert.match(err.message, new RegExp(`in use by another Chromium \\(pid ${other.pid}\\).*WA_AUTH_PROFILE`));
        return true;
      });
      assert.equal(live.clients.length, 0, 'no client started');
    } finally {
      other.kill('SIGKILL');
    }
  });

  it('close during start-up destroys the client once its browser exists', async () => {
    const h = await harness([{ kind: 'pending' }]);
    await h.transport.start();
    await waitUntil(() => h.clients.length === 1, 1000, 'a client');
    const closing = h.transport.close();
    await new Promise((r) => setTimeout(r, 50));
    h.clients[0]!.finishInitialize();
    await closing;
    assert.ok(h.clients[0]!.destroyed >= 2, 'destroyed again after start-up got far enough');
    assert.deepEqual(h.transport.status().state, 'disconnected');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(h.clients.length, 1, 'no restart after close');
  });

  it('an error while starting a client is a failed state and a retry, never a crash', async () => {
    let calls = 0;
    const h = await harness([], {
      reconnectBaseMs: 20,
      clientFactory: (settings, clients) => {
        calls++;
        if (calls === 1) throw new Error('EACCES: permission denied, mkdir session');
        const client = new StandInClient(settings, { kind: 'resolve' });
        clients.push(client);
        return client;
      },
    });
    await h.transport.start();
    await waitUntil(() => h.clients.length === 1, 2000, 'a retry after the failure');
    assert.ok(h.states.some((s) => s.state === 'failed' && /start failed: EACCES/.test(s.reason!)));
  });

  it('without Chromium: failed, with how to install it, and keeps trying', async () => {
    const h = await harness([], { chromiumPath: '/nonexistent/chromium', reconnectBaseMs: 20 });
    await h.transport.start();
    await waitUntil(() => h.states.filter((s) => s.state === 'failed').length >= 2, 2000, 'two failed attempts');
    assert.match(h.transport.status().reason!, /Chromium not found .*apt-get install -y chromium/);
    assert.equal(h.clients.length, 0);
  });
});
