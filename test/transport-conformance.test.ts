/**
 * One Transport contract (helpers/transport-contract.ts), every implementation: the fake, the dry run
 * (log), and the WhatsApp Web adapter on stand-in whatsapp-web.js clients behind the ClientFactory seam,
 * one for each state of WhatsApp Web the adapter has to live with:
 *
 * - today's page (keys under `$1`) with the message-key fix, and a build from before (keys carry
 *   `_serialized`): everything works;
 * - today's page without the fix: sendMessage resolves undefined, so every send is unknown until its
 *   own-message event; media sends throw `t: t`; chat look-ups throw `r: r`;
 * - a person WhatsApp files under a LID: sends, typing and history go to the LID's chat;
 * - a page whose chat look-ups all throw: sends work, typing and history cannot.
 *
 * Each subject's capability table says what it has and, for what it lacks, why; the table is printed by
 * the last test.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { silentLogger } from '../src/lib/logger.js';
import { FakeTransport } from '../src/whatsapp/fake-transport.js';
import { LogTransport } from '../src/whatsapp/log-transport.js';
import type { GroupMembership } from '../src/whatsapp/transport.js';
import type { WhatsAppWebTransport } from '../src/whatsapp/wwebjs/transport.js';
import { waitUntil } from './helpers/dispatch.js';
import {
  GROUP,
  NOT_ON_WHATSAPP,
  PERSON,
  PERSON_LID,
  capabilityRow,
  lacks,
  markdownTable,
  transportContract,
  type Capabilities,
  type GroupSpec,
  type Harness,
  type Subject,
  type Taken,
  type UnknownWay,
} from './helpers/transport-contract.js';
import { TodaysWhatsAppWebStandIn, standInTransport, type StandInBehaviour, type StandInMessage } from './helpers/wa-standin.js';
import { tempDir } from './helpers/temp-dirs.js';

/** A subject's describe and its row of the table. */
const run = <H extends Harness>(subject: Subject<H>) => ({ name: subject.name, row: capabilityRow(subject), register: () => transportContract(subject) });

// ── fake ───────────────────────────────────────────────────────────────────────────────────────────

interface FakeHarness extends Harness {
  transport: FakeTransport;
}

const fake: Subject<FakeHarness> = {
  name: 'fake',
  capabilities: {
    confirmed: true,
    unknown: [{ what: 'the id is kept back (scripted)', arrange: (h) => h.transport.setBehaviour(() => 'unknown'), taken: 1 }],
    refusals: [
      { what: 'a permanent failure is scripted', arrange: (h) => (h.transport.setBehaviour(() => ({ fail: 'permanent', reason: 'not_on_whatsapp' })), NOT_ON_WHATSAPP), kind: 'permanent', reason: 'not_on_whatsapp', handsOver: false },
      { what: 'a transient failure is scripted', arrange: (h) => (h.transport.setBehaviour(() => ({ fail: 'transient', reason: 'timeout' })), PERSON), kind: 'transient', reason: 'timeout', handsOver: false },
    ],
    documents: true,
    receipts: true,
    ownMessages: true,
    inbound: true,
    typing: true,
    history: true,
    numberCheck: lacks('the fake cannot tell; a test scripts not_on_whatsapp as a failure instead'),
    groups: true,
    states: { up: ['ready'], down: ['disconnected'], back: ['ready'] },
  },
  async open() {
    const transport = new FakeTransport();
    let groups: GroupSpec[] = [];
    const fakeGroup = (g: GroupSpec): GroupMembership => ({ chatId: g.chatId, name: g.name, member: g.me !== null, admin: g.me === 'admin', adminsOnly: g.adminsOnly });
    return {
      transport,
      connect: () => transport.start(),
      drop: async () => transport.setReady(false, 'fake: the connection dropped'),
      reconnect: async () => transport.setReady(true),
      close: () => transport.close(),
      attempts: () => transport.sends.length,
      taken: () =>
        transport.sends.map((s) => ({
          chatId: s.chatId,
          body: s.text,
          document: s.document ? { fileName: s.document.fileName, mimeType: s.document.mimeType, size: s.document.size, sha256: s.document.sha256 } : null,
          messageId: s.messageId,
        })),
      aliasOf: () => null,
      async raiseReceipts(taken) {
        const raised: Array<[string, number]> = [1, 2, 3].map((ack) => [taken.messageId, ack]);
        for (const [id, ack] of raised) transport.emitAck(id, ack);
        return raised;
      },
      async reportOwn(taken) {
        transport.emitOwnMessage({ messageId: taken.messageId, chatIds: [taken.chatId], body: taken.body });
      },
      receive(spec) {
        const messageId = `false_${spec.chatId}_${spec.keyId}`;
        const sender = spec.author ?? spec.chatId;
        transport.emitInbound({
          messageId, chatId: spec.chatId, isGroup: spec.chatId.endsWith('@g.us'), senderId: sender,
          senderPhone: sender.endsWith('@c.us') ? sender : null, senderLid: sender.endsWith('@lid') ? sender : null,
          senderName: spec.senderName, body: spec.body, sentAt: spec.sentAt, media: null, isStatus: false,
        });
        return messageId;
      },
      typingSeen: () =>
        transport.typing.flatMap((t) => [
          { chatId: t.chatId, state: 'typing' as const, at: t.at.getTime() },
          ...(t.endedAt ? [{ chatId: t.chatId, state: 'stop' as const, at: t.endedAt.getTime() }] : []),
        ]),
      makeUnreadable: (chatId) => transport.setChatUnreadable(chatId),
      setGroups(spec) {
        groups = spec;
        transport.setGroups(spec.map(fakeGroup));
      },
      groupEvent(chatId, change) {
        const before = fakeGroup(groups.find((g) => g.chatId === chatId)!);
        transport.changeGroup(change === 'removed' ? { ...before, member: false, admin: false } : { ...before, admin: true });
      },
    };
  },
};

// ── log (the dry run) ──────────────────────────────────────────────────────────────────────────────

/** The dry run's world is its log: each message one info line, its text (or caption) at debug. */
const log: Subject = {
  name: 'log (dry run)',
  capabilities: {
    confirmed: true,
    unknown: lacks('nothing is sent, so the outcome is always known: every message shown is confirmed'),
    refusals: lacks('nothing refuses a message that is only shown'),
    documents: true,
    receipts: lacks('nothing is delivered, so nothing is received or read'),
    ownMessages: lacks('no WhatsApp account reports the messages back'),
    inbound: lacks('a dry run has no number anyone can write to'),
    typing: lacks('a dry run shows no one anything: logged at debug, no time spent', { present: true }),
    history: lacks('no chat is kept to read back'),
    numberCheck: lacks('there is no WhatsApp to ask'),
    groups: lacks('a dry run is in no group'),
    states: { up: ['ready'], down: ['disconnected'], back: lacks('it goes down only when it is closed') },
  },
  async open() {
    const lines: Array<Record<string, unknown>> = [];
    const transport = new LogTransport(pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line)) }));
    const shown = () => lines.filter((l) => l.msg === 'message (dry run, not sent)' || l.msg === 'document (dry run, not sent)');
    const debugOf = (messageId: unknown, key: 'text' | 'caption') => lines.find((l) => l.messageId === messageId && key in l)?.[key];
    return {
      transport,
      connect: () => transport.start(),
      drop: () => transport.close(),
      close: () => transport.close(),
      attempts: () => shown().length,
      taken: () =>
        shown().map((l) => ({
          chatId: String(l.chatId),
          body: String(debugOf(l.messageId, l.fileName ? 'caption' : 'text') ?? ''),
          document: l.fileName ? { fileName: String(l.fileName), mimeType: String(l.mimeType), size: Number(l.size), sha256: String(l.sha256) } : null,
          messageId: String(l.messageId),
        })),
      aliasOf: () => null,
    };
  },
};

// ── the WhatsApp Web adapter on stand-in clients ───────────────────────────────────────────────────

interface StandInHarness extends Harness {
  transport: WhatsAppWebTransport;
  behaviour: StandInBehaviour;
}

/**
 * The adapter on a stand-in client: paired by a QR code, ready; the person and the group have messages
 * from an hour before (so a chat's history reaches back past a send); NOT_ON_WHATSAPP has no account.
 */
function standIn(name: string, variant: { behaviour?: StandInBehaviour; pageFix?: boolean }, capabilities: Capabilities<StandInHarness>) {
  return run<StandInHarness>({
    name: `wwebjs on ${name}`,
    capabilities,
    async open() {
      const base = await tempDir('cicero-wa-conformance-');
      const lids = variant.behaviour?.lids ?? new Map<string, string>();
      const behaviour: StandInBehaviour = {
        received: [PERSON, GROUP].map((chatId) => ({ chatId: lids.get(chatId) ?? chatId, body: 'Siap' })),
        notOnWhatsApp: [NOT_ON_WHATSAPP],
        ...variant.behaviour,
      };
      const clients: TodaysWhatsAppWebStandIn[] = [];
      const raised: Array<[string, number]> = [];
      const idOf = (m: StandInMessage) => m.id.$1 ?? m.id._serialized ?? '';
      const transport = standInTransport(
        { authPath: path.join(base, 'wa-auth'), authProfile: 'conformance', logger: silentLogger(), behaviour, pageFix: variant.pageFix ?? true },
        (client) => {
          clients.push(client);
          client.on('message_ack', (m: StandInMessage, ack: number) => raised.push([idOf(m), ack]));
        },
      );
      const current = () => clients.at(-1)!;
      const becomeReady = async (count: number, pairing: string[]) => {
        await waitUntil(() => clients.length === count, 3000, `stand-in client ${count}`);
        for (const event of pairing) current().emit(event, ...(event === 'qr' ? ['stand-in-qr-1'] : []));
        current().emit('ready');
        await waitUntil(() => transport.isReady(), 3000, 'ready');
      };
      let dropped = 0;
      return {
        transport,
        behaviour,
        connect: async () => {
          await transport.start();
          await becomeReady(1, ['qr', 'authenticated']);
        },
        drop: async () => {
          dropped = clients.length;
          current().emit('disconnected', 'TIMEOUT');
        },
        reconnect: () => becomeReady(dropped + 1, ['authenticated']),
        close: async () => {
          await transport.close();
          await fs.rm(base, { recursive: true, force: true });
        },
        attempts: () => clients.reduce((n, c) => n + c.sendMessageCalls, 0),
        taken: () =>
          clients.flatMap((c) =>
            c.sendCalls
              .filter((call) => call.outcome === 'taken')
              .map((call): Taken => ({
                chatId: call.chatId,
                body: call.text,
                document: call.file ? { fileName: call.file.filename, mimeType: call.file.mimetype, size: call.file.size, sha256: call.file.sha256 } : null,
                messageId: call.messageId!,
              })),
          ),
        aliasOf: (id) => lids.get(id) ?? [...lids].find(([, lid]) => lid === id)?.[0] ?? null,
        async raiseReceipts(taken) {
          // The stand-in raises 1, 2, 3 for every message it took, on its own.
          const mine = () => raised.filter(([id]) => id === taken.messageId);
          await waitUntil(() => mine().length >= 3, 3000, 'the stand-in\'s receipts');
          return mine();
        },
        reportOwn: async () => undefined, // the stand-in raises message_create on its own
        receive(spec) {
          const serialized = `false_${spec.chatId}_${spec.keyId}${spec.author ? `_${spec.author}` : ''}`;
          const before = current().page.build === 'before';
          current().emit('message', {
            id: { fromMe: false, remote: spec.chatId, id: spec.keyId, ...(before ? { _serialized: serialized } : { $1: serialized }) },
            from: spec.chatId, to: TodaysWhatsAppWebStandIn.ME, ...(spec.author ? { author: spec.author } : {}), fromMe: false, body: spec.body,
            timestamp: spec.sentAt.getTime() / 1000, hasMedia: false, type: 'chat', isStatus: false,
            _data: { type: 'chat', ...(spec.senderName ? { notifyName: spec.senderName } : {}) },
          });
          return serialized;
        },
        typingSeen: () => clients.flatMap((c) => c.chatStates.map((s) => ({ chatId: s.chatId, state: s.state, at: s.at }))),
        makeUnreadable: (chatId) => void (behaviour.chatLookupThrows = [...(behaviour.chatLookupThrows ?? []), chatId]),
        setGroups: (groups) => void (behaviour.groups = groups),
        groupEvent: (chatId, change) => current().groupEvent(chatId, change === 'removed' ? 'remove' : 'promote'),
      };
    },
  });
}

const NO_ID: UnknownWay<StandInHarness> = {
  what: 'sendMessage resolves undefined (no id back)',
  arrange: (h) => void (h.behaviour.resolveWith = 'undefined'),
  taken: 1,
};
const pageThrows = (letter: string, when: 'before' | 'after') => (h: StandInHarness) => void (h.behaviour.pageError = () => ({ letter, when }));
const NO_ACCOUNT = { what: 'the number has no WhatsApp account', arrange: () => NOT_ON_WHATSAPP, kind: 'permanent' as const, reason: 'not_on_whatsapp', handsOver: false };
const UP_DOWN_BACK = {
  up: ['starting', 'awaiting_qr', 'authenticated', 'ready'],
  down: ['disconnected', 'reconnecting', 'starting'],
  back: ['authenticated', 'ready'],
} satisfies Capabilities<StandInHarness>['states'];

/** A page where everything works (today's with the fix, or a build from before). */
const working = (): Capabilities<StandInHarness> => ({
  confirmed: true,
  unknown: [NO_ID, { what: 'the page throws after taking the message (n: n), found in the chat', arrange: pageThrows('n', 'after'), taken: 1 }],
  refusals: [
    NO_ACCOUNT,
    { what: 'the page throws before taking the message (t: t), the chat shows it was not taken', arrange: (h) => (pageThrows('t', 'before')(h), GROUP), kind: 'transient', reason: 'not_taken', handsOver: true },
  ],
  documents: true,
  receipts: true,
  ownMessages: true,
  inbound: true,
  typing: true,
  history: true,
  numberCheck: true,
  groups: true,
  states: UP_DOWN_BACK,
});

const subjects = [
  run(fake),
  run(log),
  standIn('the stand-in of today\'s WhatsApp Web (keys under $1), page fixed', {}, working()),
  standIn('the stand-in of an older build (keys carry _serialized)', { behaviour: { build: 'before' } }, working()),
  standIn('the stand-in of today\'s WhatsApp Web with the person filed under a LID', { behaviour: { lids: new Map([[PERSON, PERSON_LID]]) } }, working()),
  standIn('the stand-in of today\'s WhatsApp Web without the page fix', { pageFix: false }, {
    confirmed: lacks('sendMessage resolves undefined: the library reads key._serialized, which today\'s keys lack'),
    unknown: [{ what: 'the page gives no id back (every send)', arrange: () => undefined, taken: 1 }],
    refusals: [NO_ACCOUNT],
    documents: lacks('the page throws t: t on a media send before taking it'),
    receipts: true,
    ownMessages: true,
    inbound: true,
    typing: lacks('the chat look-up throws r: r for a chat with a received message', { present: true }),
    history: lacks('the chat look-up throws r: r for a chat with a received message', { present: true }),
    numberCheck: true,
    groups: lacks('getChats serialises every chat by its last received key and throws r: r', { present: true }),
    states: UP_DOWN_BACK,
  }),
  standIn('the stand-in whose chat look-ups all throw (r: r, a page no fix reaches)', { behaviour: { lookupsFail: true } }, {
    ...working(),
    unknown: [
      NO_ID,
      { what: 'the page throws after taking the message (n: n), the chat unreadable', arrange: pageThrows('n', 'after'), taken: 1 },
      { what: 'the page throws before taking the message (t: t), the chat unreadable: never resent on a guess', arrange: pageThrows('t', 'before'), taken: 0 },
    ],
    refusals: [NO_ACCOUNT],
    typing: lacks('no chat can be looked up', { present: true }),
    history: lacks('no chat can be looked up', { present: true }),
    groups: lacks("getChats throws (reading 'participants'), as on today's pages (#24251)", { present: true }),
  }),
];

for (const subject of subjects) describe(`Transport contract: ${subject.name}`, subject.register);

describe('Transport contract: the capability table', () => {
  it('names each transport once and is printed', (t) => {
    const names = subjects.map((s) => s.name);
    if (new Set(names).size !== names.length) throw new Error(`a subject is named twice: ${names.join(', ')}`);
    for (const line of markdownTable(subjects.map((s) => s.row)).split('\n')) t.diagnostic(line);
  });
});
