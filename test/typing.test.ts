/**
 * "typing…" (Transport.showTyping): the fake transport records it and takes its time; the dry run logs
 * it and takes none; the WhatsApp Web adapter, on stand-in whatsapp-web.js clients, shows it in the chat
 * (found under its LID or phone number, as today's WhatsApp Web needs), renews it, clears it, and never
 * throws for a chat it cannot reach.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { pino } from 'pino';
import type { Logger } from '../src/lib/logger.js';
import { FakeTransport } from '../src/whatsapp/fake-transport.js';
import { LogTransport } from '../src/whatsapp/log-transport.js';
import { Typing } from '../src/whatsapp/wwebjs/typing.js';
import type { WhatsAppWebTransport } from '../src/whatsapp/wwebjs/transport.js';
import { waitUntil } from './helpers/dispatch.js';
import { TodaysWhatsAppWebStandIn, standInTransport, type StandInBehaviour } from './helpers/wa-standin.js';
import { tempDir } from './helpers/temp-dirs.js';

/** A logger whose lines are kept as objects. */
function captureLogger(lines: Array<Record<string, unknown>>): Logger {
  return pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
}

const GROUP = '120363000000000001@g.us';
const PHONE = '6281234567890@c.us';
const LID = '98765432101234@lid';

describe('typing: the fake and dry-run transports', () => {
  it('the fake transport records each call (chat, duration, time) and waits the duration', async () => {
    const transport = new FakeTransport();
    await transport.start();
    const started = performance.now();
    await transport.showTyping(PHONE, 60);
    await transport.showTyping(GROUP, 20);
    assert.ok(performance.now() - started >= 75, 'both durations waited');
    assert.deepEqual(transport.typing.map((t) => [t.chatId, t.durationMs]), [[PHONE, 60], [GROUP, 20]]);
    assert.ok(transport.typing.every((t) => t.at instanceof Date && Math.abs(t.at.getTime() - Date.now()) < 5000));
  });

  it('the fake transport returns early, without an error, when the signal aborts', async () => {
    const transport = new FakeTransport();
    await transport.start();
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 30);
    const started = performance.now();
    await transport.showTyping(PHONE, 5000, controller.signal);
    assert.ok(performance.now() - started < 1000, 'cut short');
    const aborted = new AbortController();
    aborted.abort();
    await transport.showTyping(PHONE, 5000, aborted.signal);
    assert.equal(transport.typing.length, 2);
  });

  it('the dry run logs it at debug and waits nothing', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const transport = new LogTransport(captureLogger(lines));
    await transport.start();
    const started = performance.now();
    await transport.showTyping(GROUP, 10_000);
    assert.ok(performance.now() - started < 100);
    const line = lines.find((l) => l.msg === 'typing (dry run, not shown)');
    assert.ok(line, JSON.stringify(lines));
    assert.equal(line.level, 20, 'debug');
    assert.equal(line.chatId, GROUP);
    assert.equal(line.durationMs, 10_000);
  });
});

describe('typing: the WhatsApp Web adapter on a stand-in whatsapp-web.js client', () => {
  const dirs: string[] = [];
  const transports: WhatsAppWebTransport[] = [];
  afterEach(async () => {
    for (const t of transports.splice(0)) await t.close();
    for (const d of dirs.splice(0)) await fs.rm(d, { recursive: true, force: true });
  });

  async function ready(behaviour: StandInBehaviour = {}, lines: Array<Record<string, unknown>> = [], becomeReady = true) {
    const base = await tempDir('cicero-wa-typing-');
    dirs.push(base);
    const clients: TodaysWhatsAppWebStandIn[] = [];
    const transport = standInTransport({ authPath: path.join(base, 'wa-auth'), authProfile: 'typing', logger: captureLogger(lines), behaviour }, (c) => clients.push(c));
    transports.push(transport);
    await transport.start();
    await waitUntil(() => clients.length === 1, 2000, 'a client');
    if (becomeReady) {
      clients[0]!.emit('ready');
      await waitUntil(() => transport.isReady(), 2000, 'ready (the page fixed first)');
    }
    return { transport, client: clients[0]! };
  }

  it('stand-in: shows typing in a group for the duration, then clears it', async () => {
    const { transport, client } = await ready();
    const started = performance.now();
    await transport.showTyping(GROUP, 80);
    assert.ok(performance.now() - started >= 75, 'lasted its duration');
    assert.deepEqual(client.chatStates.map((s) => [s.chatId, s.state]), [[GROUP, 'typing'], [GROUP, 'stop']]);
    assert.ok(client.chatStates[1]!.at - client.chatStates[0]!.at >= 70, 'cleared after the duration');
  });

  it('stand-in: a phone number filed under a LID ("No LID for user" for the number) shows typing in the LID\'s chat, looked for first', async () => {
    const { transport, client } = await ready({ lids: new Map([[PHONE, LID]]) });
    await transport.showTyping(PHONE, 20);
    assert.deepEqual(client.chatLookups, [LID], 'the LID first: the number is not asked for');
    assert.deepEqual(client.chatStates.map((s) => [s.chatId, s.state]), [[LID, 'typing'], [LID, 'stop']]);
  });

  it('stand-in: a LID whose chat lookup fails (#201834) shows typing under the phone number', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const { transport, client } = await ready({ chatLookupThrows: [LID] }, lines);
    // The stand-in knows this LID's number only through getContactLidAndPhone.
    client.getContactLidAndPhone = async (ids) => ids.map((id) => (id === LID ? { lid: LID, pn: PHONE } : {}));
    await transport.showTyping(LID, 20);
    assert.deepEqual(client.chatLookups, [LID, PHONE]);
    assert.deepEqual(client.chatStates.map((s) => [s.chatId, s.state]), [[PHONE, 'typing'], [PHONE, 'stop']]);
  });

  it('stand-in: a chat it cannot reach (lookup throws, or no such chat) is logged at debug and nothing is thrown', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const { transport, client } = await ready({ chatLookupThrows: [GROUP], unknownChats: [PHONE] }, lines);
    const started = performance.now();
    await transport.showTyping(GROUP, 2000);
    await transport.showTyping(PHONE, 2000);
    assert.ok(performance.now() - started < 1000, 'returns at once, without waiting the duration');
    assert.deepEqual(client.chatStates, []);
    const logged = lines.filter((l) => l.msg === 'typing not shown: WhatsApp Web could not find the chat');
    assert.equal(logged.length, 2);
    assert.ok(logged.every((l) => l.level === 20), 'debug');
    assert.match(JSON.stringify(logged[0]!.problems), /No LID for user/);
    assert.match(JSON.stringify(logged[1]!.problems), /no such chat/);
  });

  it('stand-in: typing that fails (the page closed) is logged at debug; clearing is still tried; nothing thrown', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const { transport, client } = await ready({ typingFails: true }, lines);
    await transport.showTyping(GROUP, 50);
    assert.deepEqual(client.chatStates.map((s) => s.state), ['stop']);
    assert.ok(lines.some((l) => l.msg === 'typing not shown' && l.level === 20 && /Session closed/.test(String(l.err))));
  });

  it('stand-in: not ready: returns at once without asking WhatsApp Web anything', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const { transport, client } = await ready({}, lines, false);
    await transport.showTyping(GROUP, 5000);
    assert.deepEqual(client.chatLookups, []);
    assert.ok(lines.some((l) => l.msg === 'typing not shown: WhatsApp is not ready' && l.level === 20));
  });

  it('stand-in: an abort clears typing at once and returns', async () => {
    const { transport, client } = await ready();
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 40);
    const started = performance.now();
    await transport.showTyping(GROUP, 10_000, controller.signal);
    assert.ok(performance.now() - started < 1000, 'returned early');
    assert.deepEqual(client.chatStates.map((s) => s.state), ['typing', 'stop']);
  });

  it('stand-in: typing longer than WhatsApp keeps it (about 25 s) is renewed until the duration ends', async () => {
    const client = new TodaysWhatsAppWebStandIn({} as never);
    const typing = new Typing({ readyClient: () => client, aliasOf: async () => null, preparePage: async () => undefined }, captureLogger([]), 30);
    await typing.show(GROUP, 100);
    const states = client.chatStates.map((s) => s.state);
    assert.equal(states.at(-1), 'stop');
    assert.ok(states.filter((s) => s === 'typing').length >= 3, `renewed: ${states.join(', ')}`);
  });
});
