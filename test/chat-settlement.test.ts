/**
 * Unknown outcomes settled from the chat itself (delivery/chat-settlement.ts), on the fake transport
 * standing in for WhatsApp (its chats hold what it was handed), each rule at its limit:
 *
 * - found, in any ack state: confirmed with WhatsApp's id, never sent again;
 * - not found, the history reaching back past the hand-over, the grace period gone: not delivered and
 *   sent again once (not before the grace period); with WA_RESEND_CHECKED=false, unconfirmed for an
 *   operator;
 * - one message in the chat settles one hand-over only;
 * - a chat that cannot be read, or not back far enough: left open, read again when the connection is back;
 * - every decision kept on the hand-over (`chat_check`), shown by `outbox show`.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import type { Config } from '../src/config/index.js';
import { SessionDelivery } from '../src/delivery/session-delivery.js';
import { silentLogger } from '../src/lib/logger.js';
import { enqueue } from '../src/outbox/enqueue.js';
import { FakeTransport, type FakeOutcome } from '../src/whatsapp/fake-transport.js';
import type { ChatHistory } from '../src/whatsapp/transport.js';
import { runCli } from './helpers/cli.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { fastDispatch, waitUntil } from './helpers/dispatch.js';

const CHAT = '6281311112222@c.us';

interface SendRecord {
  id: string;
  outcome: string;
  reason: string | null;
  wa_message_id: string | null;
  chat_check: Record<string, unknown> | null;
  waited_ms: number | null;
}

describe('unknown outcomes settled from the chat (fake transport standing in for WhatsApp)', () => {
  let db: TestDatabase;
  const stops: Array<() => Promise<void>> = [];
  before(async () => {
    db = await createTestDatabase('chat_settlement', { migrated: true });
  });
  afterEach(async () => {
    for (const stop of stops.splice(0)) await stop();
    await db.pool.query('DELETE FROM wa_outbox');
  });
  after(async () => db.drop());

  /**
   * A dispatcher on a fake transport whose first send of each text is `first` (unknown: handed over, no
   * id back); `lose` drops that first message from WhatsApp's record, as a hand-over WhatsApp never took.
   */
  async function gateway(options: { first: FakeOutcome; lose?: boolean; dispatch?: Partial<Config['dispatch']>; transport?: FakeTransport }) {
    const transport = options.transport ?? new FakeTransport();
    transport.setBehaviour(({ attempt }) => (attempt === 1 ? options.first : 'ok'));
    await transport.start();
    const dispatcher = new SessionDelivery({
      pool: db.pool,
      transport,
      logger: silentLogger(),
      dispatch: fastDispatch({ settleGraceMs: 400, ...options.dispatch }),
      defaultCountryCode: '62',
      instanceId: 'settlement-test',
      confirmSettleMs: 100,
    });
    dispatcher.start();
    stops.push(() => dispatcher.stop());
    const send = async (content: string) => {
      await enqueue(db.pool, [{ recipient: CHAT, content, type: 'test' }]);
      dispatcher.trigger('test');
      await waitUntil(() => transport.sends.some((s) => s.text === content), 5000, 'handed over');
      if (options.lose) transport.sends.splice(transport.sends.findIndex((s) => s.text === content), 1);
    };
    return { transport, dispatcher, send };
  }

  const sends = async (): Promise<SendRecord[]> =>
    (await db.pool.query<SendRecord>(
      `SELECT id, outcome, reason, wa_message_id, chat_check,
              (extract(epoch FROM settled_at - handed_over_at) * 1000)::int AS waited_ms
         FROM wa_outbox_sends ORDER BY id`,
    )).rows;
  const row = async () => (await db.pool.query('SELECT id, status, confirmation, attempts, last_error FROM wa_outbox')).rows[0];

  it('found in the chat: confirmed with WhatsApp\'s id, the check kept; never sent again', async () => {
    const { transport, send } = await gateway({ first: 'unknown' });
    await send('Rekap harian Polres A');
    await waitUntil(async () => (await row()).confirmation === 'confirmed', 5000, 'confirmed');
    const [record] = await sends();
    assert.equal(record!.outcome, 'confirmed');
    assert.equal(record!.wa_message_id, transport.sends[0]!.messageId);
    assert.equal(record!.chat_check!.result, 'found');
    assert.equal(record!.chat_check!.messageId, transport.sends[0]!.messageId);
    assert.equal(record!.chat_check!.chatId, CHAT);
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(transport.sends.length, 1, 'never sent again');
  });

  it("an id noted for a hand-over (a late answer, before its confirmation is written) is that hand-over's in the chat, never another's: confirmed, never sent again", async () => {
    const { transport, dispatcher, send } = await gateway({ first: 'unknown' });
    await send('Rekap harian Polres Terlambat');
    // WhatsApp's late answer names the id before the dispatcher's confirmation is written.
    const [handOver] = await sends();
    dispatcher.confirmer.noteOwnId(transport.sends[0]!.messageId!, Number(handOver!.id));
    await waitUntil(async () => (await row()).confirmation === 'confirmed', 5000, 'confirmed');
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(transport.sends.length, 1, 'never sent again: its own id is no reason to call it missing');
    const [record] = await sends();
    assert.equal(record!.outcome, 'confirmed');
    assert.equal(record!.chat_check!.result, 'found');
  });

  it("an id noted for another hand-over is never taken for this one: this one stays missing and is sent again", async () => {
    const { transport, dispatcher, send } = await gateway({ first: 'unknown' });
    await send('Rekap harian Polres Lain');
    const [handOver] = await sends();
    dispatcher.confirmer.noteOwnId(transport.sends[0]!.messageId!, Number(handOver!.id) + 1000);
    await waitUntil(() => transport.sends.length === 2, 5000, 'sent again');
  });

  it('not in the chat: not delivered once the grace period is gone (not before), sent again once, and that one confirmed', async () => {
    // The grace period (1.5 s) is longer than the first look (half the 1 s confirmation window): the
    // hand-over is looked at, flagged unconfirmed, and still not sent again before 1.5 s.
    const { transport, send } = await gateway({ first: 'unknown', lose: true, dispatch: { settleGraceMs: 1500, confirmTimeoutMs: 1000 } });
    await send('Pengingat tugas');
    await waitUntil(async () => (await sends()).length === 2 && (await row()).confirmation === 'confirmed', 8000, 'sent again and confirmed');
    const [first, second] = await sends();
    assert.equal(first!.outcome, 'rejected');
    assert.match(first!.reason!, /^not delivered \(checked in the chat\): not among this number's messages in 6281311112222@c\.us; sent again$/);
    assert.deepEqual([first!.chat_check!.result, first!.chat_check!.resent], ['not_found', true]);
    assert.ok(first!.waited_ms! >= 1500, `settled after the grace period (${first!.waited_ms} ms)`);
    assert.equal(second!.outcome, 'confirmed');
    assert.equal(transport.sends.length, 1, 'WhatsApp has the message once');
    assert.equal((await row()).attempts, 2);
    await new Promise((r) => setTimeout(r, 600));
    assert.equal((await sends()).length, 2, 'nothing more');
  });

  it('WA_RESEND_CHECKED=false: not delivered, unconfirmed for an operator, not sent again; outbox show says what was looked at', async () => {
    const { transport, send } = await gateway({ first: 'unknown', lose: true, dispatch: { resendChecked: false } });
    await send('Rekap mingguan');
    await waitUntil(async () => (await row()).confirmation === 'unconfirmed', 5000, 'unconfirmed');
    const [record] = await sends();
    assert.equal(record!.outcome, 'unconfirmed');
    assert.match(record!.reason!, /WA_RESEND_CHECKED=false: an operator decides \(cicero-wa outbox resend\)/);
    assert.deepEqual([record!.chat_check!.result, record!.chat_check!.resent], ['not_found', false]);
    await new Promise((r) => setTimeout(r, 800));
    assert.equal((await sends()).length, 1, 'not sent again');
    assert.equal(transport.sends.length, 0);
    const shown = await runCli(['outbox', 'show', String((await row()).id)], { DATABASE_URL: db.url });
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /not found in the chat \(0 own messages read\); not delivered, left to an operator/);
  });

  it('one message in the chat settles one hand-over: the same text handed over twice and taken once is sent again once', async () => {
    const transport = new FakeTransport();
    const { send, dispatcher } = await gateway({ first: 'unknown', transport });
    await send('Mohon ijin, rekap susulan');
    // The same text again (another row), taken by WhatsApp, then lost: only one copy is in the chat.
    transport.setBehaviour(() => 'unknown');
    await enqueue(db.pool, [{ recipient: CHAT, content: 'Mohon ijin, rekap susulan', type: 'test', dedupKey: 'second' }]);
    dispatcher.trigger('test');
    await waitUntil(() => transport.sends.length === 2, 5000, 'the second handed over');
    transport.sends.pop();
    transport.setBehaviour(() => 'ok');
    await waitUntil(async () => (await db.pool.query("SELECT count(*)::int AS n FROM wa_outbox WHERE confirmation = 'confirmed'")).rows[0].n === 2, 8000, 'both confirmed');
    const records = await sends();
    assert.deepEqual(records.map((r) => r.outcome), ['confirmed', 'rejected', 'confirmed']);
    assert.equal(records[0]!.chat_check!.result, 'found');
    assert.equal(records[1]!.chat_check!.result, 'not_found');
    assert.equal(transport.sends.length, 2);
  });

  it('a chat that cannot be read leaves the outcome open (the check kept); when the connection is back it is read again and settled', async () => {
    const transport = new FakeTransport();
    transport.setChatUnreadable(CHAT);
    const { send } = await gateway({ first: 'unknown', transport });
    await send('Laporan kegiatan');
    await waitUntil(async () => (await sends())[0]?.chat_check?.result === 'unreadable', 5000, 'the failed look recorded');
    const [open] = await sends();
    assert.equal(open!.outcome, 'unknown');
    assert.match(String(open!.chat_check!.error), /r: r/);
    assert.equal((await row()).confirmation, 'awaiting');
    transport.setChatUnreadable(CHAT, false);
    transport.setReady(false, 'fake: connection lost');
    transport.setReady(true);
    await waitUntil(async () => (await row()).confirmation === 'confirmed', 5000, 'settled after the reconnect');
    assert.equal((await sends())[0]!.chat_check!.result, 'found');
    assert.equal(transport.sends.length, 1);
  });

  it('a history that does not reach back to the hand-over leaves the outcome open: never called not delivered', async () => {
    class ShortHistory extends FakeTransport {
      override async readOwnMessages(chatId: string): Promise<ChatHistory> {
        return { messages: [], complete: false, looked: { chatId, fetched: 500, oldestAt: new Date().toISOString(), limit: 500 } };
      }
    }
    const transport = new ShortHistory();
    const { send } = await gateway({ first: 'unknown', lose: true, transport });
    await send('Rekap bulanan');
    await waitUntil(async () => (await sends())[0]?.chat_check?.result === 'not_far_enough', 5000, 'the look recorded');
    await new Promise((r) => setTimeout(r, 800));
    const records = await sends();
    assert.equal(records.length, 1, 'not sent again');
    assert.equal(records[0]!.outcome, 'unknown');
    assert.equal(records[0]!.chat_check!.fetched, 500);
  });

  it('sent again once: a part found missing a second time is left to an operator, not sent a third time', async () => {
    class NeverThere extends FakeTransport {
      override async readOwnMessages(chatId: string): Promise<ChatHistory> {
        return { messages: [], complete: true, looked: { chatId, fetched: 3, oldestAt: new Date(Date.now() - 86_400_000).toISOString(), limit: 50 } };
      }
    }
    const transport = new NeverThere();
    const { send } = await gateway({ first: 'unknown', transport });
    transport.setBehaviour(() => 'unknown');
    await send('Laporan harian');
    await waitUntil(async () => (await row()).confirmation === 'unconfirmed', 8000, 'left to an operator');
    await new Promise((r) => setTimeout(r, 800));
    const records = await sends();
    assert.deepEqual(records.map((r) => r.outcome), ['rejected', 'unconfirmed'], 'sent again once, then left');
    assert.match(records[1]!.reason!, /after it was already sent again once: an operator decides/);
    assert.deepEqual([records[1]!.chat_check!.result, records[1]!.chat_check!.resent], ['not_found', false]);
    assert.equal(transport.sends.length, 2, 'two hand-overs, no third');
  });
});
