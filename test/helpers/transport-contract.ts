/**
 * The Transport contract (src/whatsapp/transport.ts), written once and run against every implementation
 * (test/transport-conformance.test.ts): a subject is a transport, a way to open it on a fresh world
 * (what stands for WhatsApp: the fake's own record, the dry run's log, a stand-in whatsapp-web.js
 * client), and its capability table.
 *
 * Every capability is in the table, claimed or lacking with the reason. A claimed one is driven through
 * the world and checked against the interface's promises; a lacking one is checked for what the
 * transport does instead (an optional method absent, a send that comes back unknown, nothing arriving),
 * so neither is ever skipped. The checks:
 *
 * - sends: confirmed with WhatsApp's id, unknown without one (each way the world has of keeping the id
 *   back), failed with SendError kind and reason (each refusal the world can make, and not ready); the
 *   hand-over callback called exactly once, before anything reaches WhatsApp; a hand-over that throws
 *   (HandOverRefused or anything else) rethrown, and nothing sent;
 * - documents (name, type, size, bytes, caption), receipts (onAck), own messages (onOwnMessage: how an
 *   unknown outcome is confirmed later), inbound messages (onInbound), typing (showTyping: lasts its
 *   duration, cleared, abortable, never throws), history (readOwnMessages), the number check, groups
 *   (groups(): member, admin, admins-only, a group left listed as not a member; onGroupChange: a removal
 *   and a promotion as they happen; lacking it, the list throws rather than guess);
 * - states: the path up, down and back as the table declares it, each change notified once with its
 *   reason and time, isReady() agreeing with it; closed, nothing is sent.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { it } from 'node:test';
import {
  HandOverRefused,
  SendError,
  type InboundMessage,
  type OutgoingDocument,
  type OwnMessage,
  type SendHooks,
  type SendResult,
  type Transport,
  type TransportState,
  type TransportStatus,
} from '../../src/whatsapp/transport.js';
import { waitUntil } from './dispatch.js';

/** The chats the contract uses: a person, a group, a number without WhatsApp, and the person's LID (as a group member may be known). */
export const PERSON = '6281234567890@c.us';
export const GROUP = '120363000000000001@g.us';
export const NOT_ON_WHATSAPP = '6289999999999@c.us';
export const PERSON_LID = '98765432101234@lid';
/** More groups, for the group checks: none has messages. */
export const GROUP_B = '120363000000000002@g.us';
export const GROUP_C = '120363000000000003@g.us';

/** A group of the world: its id, subject, whether only admins write, and this number's place (null: not a participant). */
export interface GroupSpec {
  chatId: string;
  name: string;
  adminsOnly: boolean;
  me: 'member' | 'admin' | null;
}

const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
/** How long "nothing arrives" is waited for: longer than any world takes to raise its events. */
const QUIET_MS = 200;
const WAIT_MS = 3000;
/** "At once": a call that waits for nothing returns within this (a loaded machine included). */
const AT_ONCE_MS = 300;

/** A message WhatsApp took, as the world records it. */
export interface Taken {
  /** The chat it was given to WhatsApp for. */
  chatId: string;
  /** The text, or a document's caption ('' without one). */
  body: string;
  document: { fileName: string; mimeType: string; size: number; sha256: string } | null;
  /** WhatsApp's id of it. */
  messageId: string;
}

/** "typing…" as the world saw it: shown in a chat, then stopped (times in ms, any origin). */
export interface TypingSeen {
  chatId: string;
  state: 'typing' | 'stop';
  at: number;
}

/** A message someone sends to this number, as the contract describes it to the world. */
export interface IncomingSpec {
  keyId: string;
  chatId: string;
  /** The sender in a group; null for a personal message (the sender is the chat). */
  author: string | null;
  senderName: string | null;
  body: string;
  /** Whole seconds (WhatsApp's timestamps are). */
  sentAt: Date;
}

/** A transport on a fresh world, and the world's side of it. */
export interface Harness {
  transport: Transport;
  /** start(), and whatever the world does until the transport is ready. */
  connect(): Promise<void>;
  /** The world goes away (the connection drops; for a transport that cannot lose one, close()). */
  drop(): Promise<void>;
  /** The world comes back (after drop). */
  reconnect?(): Promise<void>;
  /** Closes the transport and removes what the world left behind (twice is harmless). */
  close(): Promise<void>;
  /** How many times anything was given to WhatsApp (taken or refused by it). */
  attempts(): number;
  taken(): Taken[];
  /** The other id (LID or phone number) the world files a chat under, if any. */
  aliasOf(id: string): string | null;
  /** WhatsApp raises the receipts of a message it took; resolves with them once raised. */
  raiseReceipts?(taken: Taken): Promise<Array<[string, number]>>;
  /** WhatsApp reports a message it took as this number's own (resolves once raised). */
  reportOwn?(taken: Taken): Promise<void>;
  /** Someone sends a message to this number; returns WhatsApp's id of it. */
  receive?(message: IncomingSpec): string;
  typingSeen?(): TypingSeen[];
  /** The chat can no longer be read. */
  makeUnreadable?(chatId: string): void;
  /** The account's groups (before connect). */
  setGroups?(groups: GroupSpec[]): void;
  /** This number is removed from a group, or made its admin, and WhatsApp raises the event. */
  groupEvent?(chatId: string, change: 'removed' | 'promoted'): void;
}

/** A capability lacking, and why. `present`: the optional method is there all the same (and does what the lack says). */
export interface Lack {
  lacks: string;
  present?: boolean;
}

export const lacks = (why: string, options: { present?: boolean } = {}): Lack => ({ lacks: why, ...options });

/** A way the world has of taking a message without giving its id back. */
export interface UnknownWay<H extends Harness> {
  what: string;
  arrange(h: H): void;
  /** Whether WhatsApp took the message after all (1) or not (0, though the transport cannot tell). */
  taken: 0 | 1;
}

/** A failure the world can make happen before the hand-over (besides not ready). */
export interface Refusal<H extends Harness> {
  what: string;
  /** Returns the chat to send to. */
  arrange(h: H): string;
  kind: SendError['kind'];
  reason: string;
  /** The transport handed the message over before it learnt that WhatsApp did not take it. */
  handsOver: boolean;
}

export interface Capabilities<H extends Harness> {
  /** A message WhatsApp takes comes back confirmed with WhatsApp's id. */
  confirmed: true | Lack;
  /** The ways a send comes back unknown. */
  unknown: UnknownWay<H>[] | Lack;
  /** The failures before the hand-over the world can make (not ready is checked for every transport). */
  refusals: Refusal<H>[] | Lack;
  documents: true | Lack;
  receipts: true | Lack;
  ownMessages: true | Lack;
  inbound: true | Lack;
  typing: true | Lack;
  history: true | Lack;
  /** isRegistered. */
  numberCheck: true | Lack;
  /** groups() and onGroupChange. */
  groups: true | Lack;
  /** The states it goes through: up (connect), down (drop) and back (reconnect, or why it cannot). */
  states: { up: TransportState[]; down: TransportState[]; back: TransportState[] | Lack };
}

export interface Subject<H extends Harness = Harness> {
  name: string;
  capabilities: Capabilities<H>;
  /** A new transport on a new world, not started. */
  open(): Promise<H>;
}

const claimed = <T>(c: T | Lack): c is T => !(c && typeof c === 'object' && 'lacks' in c);

/** The capability table's columns. */
const TABLE_HEAD = ['transport', 'confirmed', 'unknown', 'failed', 'documents', 'receipts', 'own messages', 'inbound', 'typing', 'history', 'number check', 'groups', 'states up / down / back'];

/** A subject's row of the capability table: `yes`, the ways it has, or `no: why`. */
export function capabilityRow<H extends Harness>({ name, capabilities: c }: Subject<H>): string[] {
  const cell = (claim: true | Lack | Array<{ what: string }>): string => {
    if (!claimed(claim)) return `no: ${claim.lacks}`;
    return Array.isArray(claim) ? `yes: ${claim.map((w) => w.what).join('; ')}` : 'yes';
  };
  const refusals = claimed(c.refusals) ? c.refusals.map((r) => `${r.what} (${r.kind} ${r.reason})`).join('; ') : `nothing else (${c.refusals.lacks})`;
  const back = claimed(c.states.back) ? c.states.back.join(' → ') : `no: ${c.states.back.lacks}`;
  return [
    name, cell(c.confirmed), cell(c.unknown), `not ready; ${refusals}`, cell(c.documents), cell(c.receipts), cell(c.ownMessages), cell(c.inbound),
    cell(c.typing), cell(c.history), cell(c.numberCheck), cell(c.groups), `${c.states.up.join(' → ')} / ${c.states.down.join(' → ')} / ${back}`,
  ];
}

/** Rows as a markdown table. */
export function markdownTable(rows: string[][]): string {
  return [TABLE_HEAD, TABLE_HEAD.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
}

/** A hand-over callback that records when it was called: how many attempts WhatsApp had seen then. */
function watch(h: Harness, refuse?: Error): { hooks: SendHooks; before: number; calls: number[] } {
  const before = h.attempts();
  const calls: number[] = [];
  return {
    before,
    calls,
    hooks: {
      handOver: async () => {
        calls.push(h.attempts());
        if (refuse) throw refuse;
      },
    },
  };
}

function assertHandedOverOnce(h: Harness, w: ReturnType<typeof watch>): void {
  assert.deepEqual(w.calls, [w.before], 'handOver() is called exactly once, before anything reaches WhatsApp');
  assert.equal(h.attempts(), w.before + 1, 'given to WhatsApp once');
}

function assertConfirmed(result: SendResult): string {
  assert.equal(result.outcome, 'confirmed', JSON.stringify(result));
  const id = result.outcome === 'confirmed' ? result.messageId : '';
  assert.equal(typeof id, 'string');
  assert.ok(id.length > 0, 'confirmed with an id');
  return id;
}

function assertUnknown(result: SendResult): void {
  assert.equal(result.outcome, 'unknown', JSON.stringify(result));
  assert.ok(!('messageId' in result), 'an unknown outcome carries no id');
  assert.ok(result.outcome === 'unknown' && result.reason.length > 0, 'with its reason');
}

const document = (caption: string | null): OutgoingDocument => ({
  bytes: Buffer.from(`PK\u0003\u0004 rekap harian ${caption ?? 'tanpa keterangan'}`),
  fileName: 'rekap-harian-2026-11-25.xlsx',
  mimeType: XLSX,
  ...(caption === null ? {} : { caption }),
});

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** Collects what a transport reports, with an unsubscribe. */
function collect<T extends unknown[]>(subscribe: (listener: (...args: T) => void) => () => void): { got: T[]; stop: () => void } {
  const got: T[] = [];
  const stop = subscribe((...args) => void got.push(args));
  return { got, stop };
}

const quiet = () => new Promise((r) => setTimeout(r, QUIET_MS));

/** Registers the contract's checks for one subject (call it inside its describe). */
export function transportContract<H extends Harness>(subject: Subject<H>): void {
  const c = subject.capabilities;

  /** A check on a connected transport; `connect: false` leaves starting it to the check. */
  const check = (name: string, body: (h: H) => Promise<void>, options: { connect?: boolean } = {}) =>
    it(name, async () => {
      const h = await subject.open();
      try {
        if (options.connect !== false) await h.connect();
        await body(h);
      } finally {
        await h.close();
      }
    });

  const sendText = async (h: H, chatId: string, text: string) => {
    const w = watch(h);
    const result = await h.transport.sendText(chatId, text, w.hooks);
    assertHandedOverOnce(h, w);
    return result;
  };

  /** A kind of event the transport lacks: subscribing works, nothing arrives for a send, and the world has no way to raise one. */
  const silent = <T extends unknown[]>(name: string, subscribe: (h: H) => (listener: (...args: T) => void) => () => void, driver: 'raiseReceipts' | 'reportOwn' | 'receive') =>
    check(name, async (h) => {
      const events = collect<T>(subscribe(h));
      assert.equal(typeof events.stop, 'function', 'subscribing still works');
      await sendText(h, PERSON, 'Rekap harian');
      await quiet();
      assert.deepEqual(events.got, []);
      assert.equal(h[driver], undefined, 'the world cannot raise one either');
    });

  const lastTaken = (h: H): Taken => {
    const taken = h.taken().at(-1);
    assert.ok(taken, 'WhatsApp took the message');
    return taken;
  };

  const assertTakenText = (h: H, takenBefore: number, chatId: string, text: string): Taken => {
    assert.equal(h.taken().length, takenBefore + 1, 'WhatsApp took it once');
    const taken = lastTaken(h);
    assert.deepEqual([taken.chatId, taken.body, taken.document], [chatId, text, null]);
    return taken;
  };

  // ── sends ────────────────────────────────────────────────────────────────────────────────────────

  if (claimed(c.confirmed)) {
    check('send: a text WhatsApp takes is confirmed with its id, handed over exactly once before WhatsApp has it', async (h) => {
      const texts: Array<[string, string]> = [[PERSON, 'Rekap harian\n✅ 12 sudah, ❌ 3 belum'], [GROUP, 'Rekap harian grup']];
      const ids: string[] = [];
      for (const [chatId, text] of texts) {
        const takenBefore = h.taken().length;
        const id = assertConfirmed(await sendText(h, chatId, text));
        const taken = assertTakenText(h, takenBefore, chatId, text);
        assert.equal(id, taken.messageId, 'the id is WhatsApp\'s id of the message');
        ids.push(id);
      }
      assert.notEqual(ids[0], ids[1], 'each message its own id');
    });
  } else {
    check(`send: confirmed — lacks it (${c.confirmed.lacks}): a text WhatsApp takes comes back unknown, never with an invented id`, async (h) => {
      const takenBefore = h.taken().length;
      assertUnknown(await sendText(h, GROUP, 'Rekap harian grup'));
      assertTakenText(h, takenBefore, GROUP, 'Rekap harian grup');
    });
  }

  if (claimed(c.unknown)) {
    for (const way of c.unknown) {
      check(`send: unknown when ${way.what}: no id, a reason, handed over once, ${way.taken ? 'taken once' : 'not taken'}${way.taken && claimed(c.ownMessages) ? ', then reported as an own message' : ''}`, async (h) => {
        const own = collect<[OwnMessage]>((l) => h.transport.onOwnMessage(l));
        way.arrange(h);
        const takenBefore = h.taken().length;
        const w = watch(h);
        const body = 'Rekap harian grup';
        const result = await h.transport.sendText(GROUP, body, w.hooks);
        assertHandedOverOnce(h, w);
        assertUnknown(result);
        assert.equal(h.taken().length, takenBefore + way.taken, `taken ${way.taken} time(s)`);
        if (way.taken && claimed(c.ownMessages)) {
          const taken = lastTaken(h);
          await h.reportOwn!(taken);
          await waitUntil(() => own.got.some(([m]) => m.messageId === taken.messageId), WAIT_MS, 'the own-message report that confirms it');
          const [m] = own.got.find(([m]) => m.messageId === taken.messageId)!;
          assert.equal(m.body, body);
          assert.ok(m.chatIds.includes(GROUP), `reported in its chat: ${m.chatIds.join(', ')}`);
        }
      });
    }
  } else {
    check(`send: unknown — lacks it (${c.unknown.lacks}): every send is confirmed, each with its own id`, async (h) => {
      const ids = new Set<string>();
      for (const chatId of [PERSON, GROUP, PERSON]) ids.add(assertConfirmed(await sendText(h, chatId, 'Rekap harian')));
      assert.equal(ids.size, 3);
    });
  }

  if (claimed(c.refusals)) {
    for (const refusal of c.refusals) {
      check(`send: fails when ${refusal.what}: SendError ${refusal.kind} ${refusal.reason}, ${refusal.handsOver ? 'handed over once' : 'never handed over'}, nothing taken`, async (h) => {
        const chatId = refusal.arrange(h);
        const takenBefore = h.taken().length;
        const w = watch(h);
        await assert.rejects(h.transport.sendText(chatId, 'Rekap harian', w.hooks), (e: unknown) => {
          assert.ok(e instanceof SendError, String(e));
          assert.deepEqual([e.kind, e.reason], [refusal.kind, refusal.reason], e.message);
          return true;
        });
        assert.equal(h.taken().length, takenBefore, 'WhatsApp took nothing');
        assert.deepEqual(w.calls, refusal.handsOver ? [w.before] : [], refusal.handsOver ? 'handed over once (WhatsApp then refused it)' : 'never handed over');
        assert.ok(h.attempts() <= w.before + (refusal.handsOver ? 1 : 0), 'nothing given to WhatsApp before the hand-over');
      });
    }
  } else {
    check(`send: failures before the hand-over — lacks them but not ready (${c.refusals.lacks}): a number without WhatsApp is confirmed too`, async (h) => {
      assertConfirmed(await sendText(h, NOT_ON_WHATSAPP, 'Rekap harian'));
    });
  }

  check('send: not ready, a text or a document fails before the hand-over (SendError transient not_ready), nothing given to WhatsApp', async (h) => {
    await h.drop();
    assert.equal(h.transport.isReady(), false);
    const w = watch(h);
    const notReady = (e: unknown) => e instanceof SendError && e.kind === 'transient' && e.reason === 'not_ready';
    await assert.rejects(h.transport.sendText(PERSON, 'Rekap harian', w.hooks), notReady);
    await assert.rejects(h.transport.sendDocument(GROUP, document('Rekap'), w.hooks), notReady);
    assert.deepEqual(w.calls, [], 'never handed over');
    assert.equal(h.attempts(), w.before, 'nothing given to WhatsApp');
  });

  check('send: a hand-over that throws (HandOverRefused, or any error) is rethrown as is and nothing is sent, text or document', async (h) => {
    for (const refused of [new HandOverRefused('the claim on the row lapsed'), new Error('the database is gone')]) {
      const takenBefore = h.taken().length;
      for (const send of [
        (hooks: SendHooks) => h.transport.sendText(PERSON, 'Rekap harian', hooks),
        (hooks: SendHooks) => h.transport.sendDocument(GROUP, document('Rekap harian'), hooks),
      ]) {
        const w = watch(h, refused);
        await assert.rejects(send(w.hooks), (e: unknown) => e === refused);
        assert.deepEqual(w.calls, [w.before], 'handOver() called once');
        assert.equal(h.attempts(), w.before, 'nothing given to WhatsApp');
      }
      assert.equal(h.taken().length, takenBefore);
    }
  });

  // ── documents ────────────────────────────────────────────────────────────────────────────────────

  if (claimed(c.documents)) {
    check(`document: sent with its name, type, bytes and caption (none when absent), handed over once; ${claimed(c.confirmed) ? 'confirmed with its id' : 'unknown'}`, async (h) => {
      for (const caption of ['Rekap harian 25 November 2026', null]) {
        const sent = document(caption);
        const takenBefore = h.taken().length;
        const w = watch(h);
        const result = await h.transport.sendDocument(GROUP, sent, w.hooks);
        assertHandedOverOnce(h, w);
        assert.equal(h.taken().length, takenBefore + 1, 'WhatsApp took it once');
        const taken = lastTaken(h);
        if (claimed(c.confirmed)) assert.equal(assertConfirmed(result), taken.messageId);
        else assertUnknown(result);
        assert.equal(taken.chatId, GROUP);
        assert.equal(taken.body, caption ?? '', 'the caption is its text');
        assert.deepEqual(taken.document, { fileName: sent.fileName, mimeType: XLSX, size: sent.bytes.length, sha256: sha256(sent.bytes) });
      }
    });
  } else {
    check(`document — lacks it (${c.documents.lacks}): never confirmed, and WhatsApp takes no document`, async (h) => {
      const w = watch(h);
      const result = await h.transport.sendDocument(GROUP, document('Rekap mingguan'), w.hooks).catch((e: unknown) => e);
      assert.ok(result instanceof SendError || (result as SendResult).outcome === 'unknown', `neither confirmed nor another error: ${String((result as Error).message ?? JSON.stringify(result))}`);
      assert.ok(w.calls.length <= 1, 'handed over at most once');
      assert.ok(!h.taken().some((t) => t.document), 'no document taken');
    });
  }

  // ── receipts and own messages ────────────────────────────────────────────────────────────────────

  if (claimed(c.receipts)) {
    check('receipts: every receipt WhatsApp raises for a message reaches onAck once, with its id and level, in order; none after unsubscribing', async (h) => {
      const acks = collect<[string, number]>((l) => h.transport.onAck(l));
      await sendText(h, GROUP, 'Rekap harian grup');
      const first = lastTaken(h);
      const raised = await h.raiseReceipts!(first);
      assert.ok(raised.length > 0 && raised.every(([id]) => id === first.messageId), 'the world raised receipts for it');
      await waitUntil(() => acks.got.filter(([id]) => id === first.messageId).length >= raised.length, WAIT_MS, 'the receipts');
      await quiet();
      assert.deepEqual(acks.got.filter(([id]) => id === first.messageId), raised);
      acks.stop();
      await sendText(h, PERSON, 'Rekap harian');
      const second = lastTaken(h);
      assert.ok((await h.raiseReceipts!(second)).length > 0);
      await quiet();
      assert.deepEqual(acks.got.filter(([id]) => id === second.messageId), [], 'nothing after unsubscribing');
    });
  } else {
    silent(`receipts — lacks them (${c.receipts.lacks}): none arrives for a send`, (h) => (l) => h.transport.onAck(l), 'raiseReceipts');
  }

  if (claimed(c.ownMessages)) {
    check('own messages: a message WhatsApp took is reported with its id, its text and its chat among the chat ids; none after unsubscribing', async (h) => {
      const own = collect<[OwnMessage]>((l) => h.transport.onOwnMessage(l));
      await sendText(h, PERSON, 'Rekap harian');
      const taken = lastTaken(h);
      await h.reportOwn!(taken);
      await waitUntil(() => own.got.some(([m]) => m.messageId === taken.messageId), WAIT_MS, 'the own-message report');
      for (const [m] of own.got.filter(([m]) => m.messageId === taken.messageId)) {
        assert.equal(m.body, 'Rekap harian');
        assert.ok(m.chatIds.includes(PERSON), `its chat among ${m.chatIds.join(', ')}`);
        const alias = h.aliasOf(PERSON);
        if (alias) assert.ok(m.chatIds.includes(alias), `and its other id ${alias}`);
        assert.ok(m.at instanceof Date);
        assert.ok(m.ack === null || typeof m.ack === 'number');
      }
      own.stop();
      const count = own.got.length;
      await sendText(h, GROUP, 'Rekap grup');
      await h.reportOwn!(lastTaken(h));
      await quiet();
      assert.equal(own.got.length, count, 'nothing after unsubscribing');
    });
  } else {
    silent(`own messages — lacks them (${c.ownMessages.lacks}): none is reported for a send`, (h) => (l) => h.transport.onOwnMessage(l), 'reportOwn');
  }

  // ── inbound ──────────────────────────────────────────────────────────────────────────────────────

  if (claimed(c.inbound)) {
    check('inbound: a personal message and a group message from a member known by LID are reported with their fields; our own sends are not; none after unsubscribing', async (h) => {
      const inbound = collect<[InboundMessage]>((l) => h.transport.onInbound(l));
      const sentAt = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
      const specs: IncomingSpec[] = [
        { keyId: '3A0000000000000001', chatId: PERSON, author: null, senderName: 'Budi', body: 'Pesan Komplain\nNama: Budi', sentAt },
        { keyId: '3A0000000000000002', chatId: GROUP, author: PERSON_LID, senderName: null, body: 'Siap, laporan diterima', sentAt },
      ];
      const ids = specs.map((spec) => h.receive!(spec));
      await waitUntil(() => inbound.got.length >= 2, WAIT_MS, 'two inbound messages');
      specs.forEach((spec, i) => {
        const [m] = inbound.got[i]!;
        const sender = spec.author ?? spec.chatId;
        const alias = h.aliasOf(sender);
        const phone = sender.endsWith('@c.us') ? sender : alias?.endsWith('@c.us') ? alias : null;
        const lid = sender.endsWith('@lid') ? sender : alias?.endsWith('@lid') ? alias : null;
        assert.deepEqual(m, {
          messageId: ids[i], chatId: spec.chatId, isGroup: spec.chatId.endsWith('@g.us'), senderId: phone ?? sender, senderPhone: phone, senderLid: lid,
          senderName: spec.senderName, body: spec.body, sentAt: spec.sentAt, media: null, isStatus: false,
        });
      });
      await sendText(h, PERSON, 'Balasan');
      if (h.reportOwn) await h.reportOwn(lastTaken(h));
      await quiet();
      assert.equal(inbound.got.length, 2, 'our own message is not inbound');
      inbound.stop();
      h.receive!({ ...specs[0]!, keyId: '3A0000000000000003' });
      await quiet();
      assert.equal(inbound.got.length, 2, 'nothing after unsubscribing');
    });
  } else {
    silent(`inbound — lacks it (${c.inbound.lacks}): nothing is reported, our sends included`, (h) => (l) => h.transport.onInbound(l), 'receive');
  }

  // ── typing ───────────────────────────────────────────────────────────────────────────────────────

  const seenSince = (h: H, from: number) => (h.typingSeen?.() ?? []).slice(from);
  const inChat = (h: H, chatId: string) => (s: TypingSeen) => s.chatId === chatId || s.chatId === h.aliasOf(chatId);

  if (claimed(c.typing)) {
    check('typing: shown in the chat for its duration, then cleared; cut short and cleared by an abort; an aborted signal shows nothing lasting; never throws', async (h) => {
      assert.ok(h.typingSeen, 'the world shows what typing it saw');
      let started = performance.now();
      await h.transport.showTyping!(PERSON, 150);
      assert.ok(performance.now() - started >= 140, `lasted its duration (${performance.now() - started} ms)`);
      let seen = seenSince(h, 0);
      assert.deepEqual(seen.map((s) => s.state), ['typing', 'stop'], JSON.stringify(seen));
      assert.ok(seen.every(inChat(h, PERSON)), `in the chat: ${JSON.stringify(seen)}`);
      assert.ok(seen[1]!.at - seen[0]!.at >= 130, `cleared at the end (${seen[1]!.at - seen[0]!.at} ms)`);

      const controller = new AbortController();
      setTimeout(() => controller.abort(), 50);
      const from = seenSince(h, 0).length;
      started = performance.now();
      await h.transport.showTyping!(GROUP, 10_000, controller.signal);
      assert.ok(performance.now() - started < 1500, `returned soon after the abort (${performance.now() - started} ms)`);
      seen = seenSince(h, from);
      assert.deepEqual(seen.map((s) => s.state), ['typing', 'stop'], JSON.stringify(seen));
      assert.ok(seen.every(inChat(h, GROUP)));

      const aborted = new AbortController();
      aborted.abort();
      started = performance.now();
      await h.transport.showTyping!(GROUP, 10_000, aborted.signal);
      assert.ok(performance.now() - started < AT_ONCE_MS, 'returned at once');
      const after = seenSince(h, from + 2);
      assert.equal(after.filter((s) => s.state === 'typing').length, after.filter((s) => s.state === 'stop').length, 'nothing left shown');
    });

    check('typing: not ready, it returns at once without throwing and shows nothing', async (h) => {
      await h.drop();
      const from = seenSince(h, 0).length;
      const started = performance.now();
      await h.transport.showTyping!(PERSON, 5000);
      assert.ok(performance.now() - started < AT_ONCE_MS, `returned at once (${performance.now() - started} ms)`);
      assert.deepEqual(seenSince(h, from), []);
    });
  } else if (!c.typing.present) {
    check(`typing — lacks it (${c.typing.lacks}): showTyping is absent`, async (h) => {
      assert.equal(h.transport.showTyping, undefined);
    });
  } else {
    check(`typing — lacks it (${c.typing.lacks}): showTyping returns without throwing, never later than its duration, and nothing is shown`, async (h) => {
      for (const chatId of [PERSON, GROUP]) {
        const started = performance.now();
        await h.transport.showTyping!(chatId, 300);
        assert.ok(performance.now() - started < 300 + AT_ONCE_MS, `${chatId}: returned (${performance.now() - started} ms)`);
      }
      assert.deepEqual(seenSince(h, 0).filter((s) => s.state === 'typing'), []);
    });
  }

  // ── history ──────────────────────────────────────────────────────────────────────────────────────

  if (claimed(c.history)) {
    check('history: a chat\'s own messages since a time, with their ids and texts (a document\'s caption), complete when the chat reaches back that far; none before it; other chats\' not', async (h) => {
      const since = new Date(Date.now() - 2000);
      await sendText(h, GROUP, 'Rekap harian grup');
      if (claimed(c.documents)) await h.transport.sendDocument(GROUP, document('Rekap mingguan'), watch(h).hooks);
      await sendText(h, PERSON, 'Rekap harian');
      for (const chatId of [GROUP, PERSON]) {
        const mine = h.taken().filter((t) => t.chatId === chatId);
        const history = await h.transport.readOwnMessages!(chatId, since);
        const named = [chatId, h.aliasOf(chatId)].filter((id): id is string => id !== null);
        assert.equal(history.complete, true, `${chatId}: the chat's history reaches back past the time: ${JSON.stringify(history.looked)}`);
        assert.deepEqual(
          history.messages.map((m) => [m.messageId, m.body]).sort(),
          mine.map((t) => [t.messageId, t.body]).sort(),
          `${chatId}: every own message since the time (complete), and only this chat's`,
        );
        for (const m of history.messages) {
          assert.ok(m.chatIds.includes(chatId), `${chatId} among ${m.chatIds.join(', ')}`);
          assert.ok(m.at.getTime() >= since.getTime() - 1000, 'since the time');
        }
        assert.ok(named.some((id) => history.looked.chatId.includes(id)), `looked in ${history.looked.chatId}`);
        assert.ok(history.looked.fetched >= history.messages.length);
        const later = await h.transport.readOwnMessages!(chatId, new Date(Date.now() + 5000));
        assert.deepEqual(later.messages, [], 'nothing from before the time asked for');
      }
      assert.deepEqual(h.taken().map((t) => t.body).sort(), [...(claimed(c.documents) ? ['Rekap mingguan'] : []), 'Rekap harian', 'Rekap harian grup'].sort());
    });

    check('history: a chat that cannot be read, or a transport not ready, throws', async (h) => {
      assert.ok(h.makeUnreadable, 'the world can make a chat unreadable');
      await sendText(h, GROUP, 'Rekap harian grup');
      h.makeUnreadable(GROUP);
      await assert.rejects(h.transport.readOwnMessages!(GROUP, new Date(Date.now() - 60_000)));
      await sendText(h, PERSON, 'Rekap harian');
      await h.drop();
      await assert.rejects(h.transport.readOwnMessages!(PERSON, new Date(Date.now() - 60_000)));
    });
  } else if (!c.history.present) {
    check(`history — lacks it (${c.history.lacks}): readOwnMessages is absent`, async (h) => {
      assert.equal(h.transport.readOwnMessages, undefined);
    });
  } else {
    check(`history — lacks it (${c.history.lacks}): reading a chat with our messages in it throws`, async (h) => {
      await sendText(h, GROUP, 'Rekap harian grup');
      await assert.rejects(h.transport.readOwnMessages!(GROUP, new Date(Date.now() - 60_000)));
    });
  }

  // ── the number check ─────────────────────────────────────────────────────────────────────────────

  if (claimed(c.numberCheck)) {
    check('number check: a number on WhatsApp is registered, one without an account is not', async (h) => {
      assert.equal(await h.transport.isRegistered!(PERSON), true);
      assert.equal(await h.transport.isRegistered!(NOT_ON_WHATSAPP), false);
    });
  } else {
    check(`number check — lacks it (${c.numberCheck.lacks}): isRegistered is absent`, async (h) => {
      assert.equal(h.transport.isRegistered, undefined);
    });
  }

  // ── groups ───────────────────────────────────────────────────────────────────────────────────────

  const WORLD_GROUPS: GroupSpec[] = [
    { chatId: GROUP, name: 'Polres A', adminsOnly: true, me: 'admin' },
    { chatId: GROUP_B, name: 'Polres B', adminsOnly: false, me: 'member' },
    { chatId: GROUP_C, name: 'Polres C', adminsOnly: true, me: null },
  ];
  const groupCheck = (name: string, body: (h: H) => Promise<void>) =>
    check(name, async (h) => {
      h.setGroups?.(WORLD_GROUPS.map((g) => ({ ...g })));
      await h.connect();
      await body(h);
    }, { connect: false });

  if (claimed(c.groups)) {
    groupCheck('groups: each group with this number\'s place (admin, member, admins-only), a group it is not in listed as not a member; no personal chat', async (h) => {
      const listed = (await h.transport.groups!()).sort((a, b) => a.chatId.localeCompare(b.chatId));
      assert.deepEqual(listed, [
        { chatId: GROUP, name: 'Polres A', member: true, admin: true, adminsOnly: true },
        { chatId: GROUP_B, name: 'Polres B', member: true, admin: false, adminsOnly: false },
        { chatId: GROUP_C, name: 'Polres C', member: false, admin: false, adminsOnly: true },
      ]);
    });
    groupCheck('groups: a removal and a promotion are reported as they happen, once each', async (h) => {
      const changes = collect(h.transport.onGroupChange!.bind(h.transport));
      h.groupEvent!(GROUP_B, 'promoted');
      await waitUntil(() => changes.got.length >= 1, WAIT_MS, 'the promotion');
      h.groupEvent!(GROUP, 'removed');
      await waitUntil(() => changes.got.length >= 2, WAIT_MS, 'the removal');
      await quiet();
      changes.stop();
      assert.deepEqual(changes.got.map(([g]) => [g.chatId, g.member, g.admin]), [[GROUP_B, true, true], [GROUP, false, false]]);
    });
  } else if (!c.groups.present) {
    check(`groups — lacks it (${c.groups.lacks}): groups and onGroupChange are absent`, async (h) => {
      assert.equal(h.transport.groups, undefined);
      assert.equal(h.transport.onGroupChange, undefined);
    });
  } else {
    groupCheck(`groups — lacks it (${c.groups.lacks}): the list throws, it never guesses`, async (h) => {
      await assert.rejects(h.transport.groups!());
    });
  }

  // ── states ───────────────────────────────────────────────────────────────────────────────────────

  /** Every change as notified, with what the transport said at that moment. */
  const watchStates = (h: H) => {
    const seen: Array<{ status: TransportStatus; ready: boolean; current: TransportStatus }> = [];
    const stop = h.transport.onStateChange((status) => seen.push({ status, ready: h.transport.isReady(), current: h.transport.status() }));
    return { seen, stop, states: () => seen.map((s) => s.status.state) };
  };

  const assertNotified = (seen: ReturnType<typeof watchStates>['seen']) => {
    let last = 0;
    for (const { status, ready, current } of seen) {
      assert.equal(ready, status.state === 'ready', `isReady() agrees with ${status.state}`);
      assert.deepEqual(current, status, 'status() is the state notified');
      assert.ok(status.since instanceof Date && status.since.getTime() >= last, 'each with its time, in order');
      last = status.since.getTime();
      if (['awaiting_qr', 'disconnected', 'reconnecting', 'failed'].includes(status.state)) assert.ok(status.reason, `${status.state} says why`);
      if (['reconnecting', 'failed'].includes(status.state)) assert.ok(status.retry && status.retry.attempt >= 1 && status.retry.delayMs >= 0, `${status.state} carries its retry`);
    }
    for (let i = 1; i < seen.length; i++) {
      const [a, b] = [seen[i - 1]!.status, seen[i]!.status];
      assert.ok(a.state !== b.state || a.reason !== b.reason, `no change notified twice: ${b.state}`);
    }
  };

  const waitStates = async (w: ReturnType<typeof watchStates>, from: number, expected: TransportState[]) => {
    await waitUntil(() => w.seen.length - from >= expected.length, WAIT_MS, `states ${expected.join(' → ')} (saw ${w.states().slice(from).join(' → ')})`);
    await quiet();
    assert.deepEqual(w.states().slice(from), expected);
  };

  check(`states: up ${c.states.up.join(' → ')}, down ${c.states.down.join(' → ')}${claimed(c.states.back) ? `, back ${c.states.back.join(' → ')}` : ''}: each change notified once, with its reason and time, isReady() agreeing`, async (h) => {
    const w = watchStates(h);
    assert.equal(h.transport.isReady(), false, 'not ready before it starts');
    await h.connect();
    await waitStates(w, 0, c.states.up);
    assert.equal(h.transport.isReady(), true);
    const up = w.seen.length;
    await h.drop();
    await waitStates(w, up, c.states.down);
    assert.equal(h.transport.isReady(), false);
    if (claimed(c.states.back)) {
      const down = w.seen.length;
      await h.reconnect!();
      await waitStates(w, down, c.states.back);
      assert.equal(h.transport.isReady(), true);
      const takenBefore = h.taken().length;
      const result = await sendText(h, PERSON, 'Rekap harian');
      assert.equal(result.outcome, claimed(c.confirmed) ? 'confirmed' : 'unknown');
      assertTakenText(h, takenBefore, PERSON, 'Rekap harian');
    } else {
      assert.equal(h.reconnect, undefined, `it does not come back (${c.states.back.lacks})`);
    }
    assertNotified(w.seen);
  }, { connect: false });

  check('states: closed, it is disconnected (closed), not ready, sends nothing; an unsubscribed listener hears nothing; closing twice is harmless', async (h) => {
    const kept = watchStates(h);
    const dropped = watchStates(h);
    dropped.stop();
    await h.transport.close();
    assert.deepEqual([h.transport.status().state, h.transport.status().reason], ['disconnected', 'closed']);
    assert.equal(h.transport.isReady(), false);
    assert.equal(kept.states().at(-1), 'disconnected');
    assert.deepEqual(dropped.seen, []);
    const w = watch(h);
    await assert.rejects(h.transport.sendText(PERSON, 'Rekap harian', w.hooks), (e: unknown) => e instanceof SendError && e.reason === 'not_ready');
    assert.deepEqual(w.calls, []);
    await h.transport.close();
    assertNotified(kept.seen);
  });
}
