/**
 * One dispatcher process draining the outbox (for the drain, statement and memory measurements):
 * the dispatcher with a transport that costs nothing and no rate limit. Prints one
 * JSON line: time, messages, statements issued, peak RSS.
 *
 *   node --import tsx bench/drain-child.ts <database url> <dispatchers>
 */
import { createPool } from '../src/db/pool.js';
import { silentLogger } from '../src/lib/logger.js';
import { SessionDelivery } from '../src/delivery/session-delivery.js';
import { TransportBase, type SendHooks, type SendResult, type Transport } from '../src/whatsapp/transport.js';

/** A transport that costs nothing and keeps nothing: it only counts. */
class CountingTransport extends TransportBase implements Transport {
  readonly name = 'counting';
  sent = 0;
  private static instances = 0;
  private readonly instance = ++CountingTransport.instances;
  async start(): Promise<void> {
    this.state.set('ready');
  }
  async sendText(_chatId: string, _text: string, hooks: SendHooks): Promise<SendResult> {
    await hooks.handOver();
    this.sent++;
    return { outcome: 'confirmed', messageId: `bench-${this.instance}-${this.sent}` };
  }
  async sendDocument(chatId: string, _document: unknown, hooks: SendHooks): Promise<SendResult> {
    return this.sendText(chatId, '', hooks);
  }
  async close(): Promise<void> {}
}

const [url, countArg] = process.argv.slice(2);
const dispatchers = Number(countArg ?? '1');
const pool = createPool(url!, dispatchers + 2, silentLogger());
let statements = 0;
const query = pool.query.bind(pool) as (...args: unknown[]) => Promise<unknown>;
(pool as unknown as { query: (...args: unknown[]) => Promise<unknown> }).query = (...args: unknown[]) => {
  statements++;
  return query(...args);
};

const { rows } = await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM wa_outbox WHERE status = 'pending'");
const total = rows[0]!.n;
statements = 0;
let peakRss = process.memoryUsage().rss;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 50);

const dispatch = {
  sendIntervalMs: 0, sendJitterMs: 0, maxPerMinute: 10_000_000, maxAttempts: 3,
  retryBaseMs: 1000, retryMaxMs: 1000, batchSize: 100, leaseMs: 300_000, sendTimeoutMs: 60_000, confirmTimeoutMs: 600_000, settleGraceMs: 120_000, resendChecked: true, documentMaxBytes: 16 * 1024 * 1024, failoverAfterMs: 300_000,
};
const started = performance.now();
const runners = await Promise.all(
  Array.from({ length: dispatchers }, async () => {
    const transport = new CountingTransport();
    await transport.start();
    const d = new SessionDelivery({ pool, transport, logger: silentLogger(), dispatch, defaultCountryCode: '62' });
    d.start();
    return { d, transport };
  }),
);
for (;;) {
  await Promise.all(runners.map((r) => r.d.idle()));
  const sent = runners.reduce((n, r) => n + r.transport.sent, 0);
  if (sent >= total) break;
  runners.forEach((r) => r.d.trigger('bench'));
  await new Promise((r) => setTimeout(r, 5));
}
const seconds = (performance.now() - started) / 1000;
clearInterval(sampler);
peakRss = Math.max(peakRss, process.memoryUsage().rss);
const sent = runners.reduce((n, r) => n + r.transport.sent, 0);
const counted = statements;
await Promise.all(runners.map((r) => r.d.stop()));
await pool.end();
process.stdout.write(`${JSON.stringify({ seconds, sent, statements: counted, peakRssMb: peakRss / 1024 / 1024 })}\n`);
