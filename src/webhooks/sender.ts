/**
 * Sends webhook deliveries: claims the due ones (the first of each receiver's chat), POSTs each with
 * an HMAC-SHA256 signature over the timestamp and the body, and records the answer. A 2xx is delivered
 * and never sent again; anything else (another status, a timeout, a refused connection) is retried with
 * exponential backoff and jitter until the delivery's retry window ends, then dead-lettered as failed
 * with the last status and error. No HTTP call happens inside a database transaction, and a receiver
 * that hangs costs at most WEBHOOK_TIMEOUT_MS per attempt, on this sender alone: WhatsApp sending never
 * waits for it.
 *
 * Headers: `X-Cicero-Event`, `X-Cicero-Event-Id` (the receiver's dedup key: a delivery can arrive twice
 * only if the service died between the receiver's answer and its record), `X-Cicero-Timestamp` (Unix
 * seconds), `X-Cicero-Signature: sha256=<hex of HMAC-SHA256(secret, timestamp + "." + body)>`.
 */
import { createHmac } from 'node:crypto';
import type pg from 'pg';
import { ChannelListener } from '../db/listener.js';
import { backoffDelay, type Backoff } from '../lib/backoff.js';
import type { Logger } from '../lib/logger.js';
import { SingleFlight } from '../lib/single-flight.js';
import { WEBHOOK_CHANNEL, claimDueDeliveries, markAttemptFailed, markDelivered, nextDue, type DueDelivery } from './deliveries.js';

const RETRY: Backoff = { baseMs: 1000, maxMs: 300_000, jitter: 0.5 };
const BATCH = 20;
/** Without a notification, pending deliveries are looked for at least this often. */
const SWEEP_MS = 5000;

export function signature(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

export interface WebhookSenderOptions {
  pool: pg.Pool;
  connectionString: string;
  secret: string;
  timeoutMs: number;
  instanceId: string;
  logger: Logger;
  /** Backoff after a failed attempt (tests shorten it). */
  retry?: Backoff;
}

export class WebhookSender {
  private readonly passes: SingleFlight;
  private readonly listener: ChannelListener;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(private readonly options: WebhookSenderOptions) {
    this.passes = new SingleFlight(
      () => this.pass(),
      (err) => options.logger.warn({ err: err.message }, 'sending webhooks failed (database unreachable?); will retry'),
    );
    this.listener = new ChannelListener({
      connectionString: options.connectionString,
      channel: WEBHOOK_CHANNEL,
      logger: options.logger,
      onNotify: () => this.passes.trigger(),
      onReconnect: () => this.passes.trigger(),
    });
  }

  async start(): Promise<void> {
    await this.listener.start();
    this.passes.trigger();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.passes.stop();
    await this.listener.stop();
    await this.passes.idle();
  }

  idle(): Promise<void> {
    return this.passes.idle();
  }

  private async pass(): Promise<void> {
    const { pool, instanceId, timeoutMs } = this.options;
    for (;;) {
      if (this.stopped) return;
      // A claim outlives one attempt by a little: a sender that died leaves its deliveries for at most that long.
      const due = await claimDueDeliveries(pool, instanceId, BATCH, timeoutMs + 5000);
      if (due.length === 0) break;
      await Promise.all(due.map((delivery) => this.deliver(delivery)));
    }
    const next = await nextDue(pool);
    if (this.timer) clearTimeout(this.timer);
    const wait = next ? Math.max(50, Math.min(SWEEP_MS, next.getTime() - Date.now())) : SWEEP_MS;
    this.timer = setTimeout(() => this.passes.trigger(), wait);
    this.timer.unref();
  }

  private async deliver(delivery: DueDelivery): Promise<void> {
    const { pool, instanceId, secret, timeoutMs, logger } = this.options;
    const body = JSON.stringify({ id: delivery.eventId, ...(delivery.payload as Record<string, unknown>) });
    const timestamp = String(Math.floor(Date.now() / 1000));
    let status: number | null = null;
    let error: string;
    try {
      const response = await fetch(delivery.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'cicero-wa-gateway',
          'x-cicero-event': delivery.event,
          'x-cicero-event-id': delivery.eventId,
          'x-cicero-timestamp': timestamp,
          'x-cicero-signature': signature(secret, timestamp, body),
        },
        body,
        signal: AbortSignal.timeout(timeoutMs),
        redirect: 'manual',
      });
      status = response.status;
      await response.arrayBuffer().catch(() => undefined);
      if (status >= 200 && status < 300) {
        await markDelivered(pool, delivery.id, instanceId, status);
        return;
      }
      error = `HTTP ${status}`;
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      error = e.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (e.cause?.code ?? e.message);
    }
    const delay = backoffDelay(delivery.attempts + 1, this.options.retry ?? RETRY);
    const outcome = await markAttemptFailed(pool, delivery.id, instanceId, status, error, delay);
    const where = new URL(delivery.url).host;
    if (outcome === 'failed') logger.warn({ delivery: delivery.id, event: delivery.event, receiver: where, error }, 'webhook delivery given up (dead letter): its retry window has passed');
    else logger.debug({ delivery: delivery.id, event: delivery.event, receiver: where, error, retryInMs: delay }, 'webhook delivery failed; will retry');
  }
}
