/**
 * LISTENs for the outbox's insert notification on a dedicated connection, so a new message is picked
 * up at once rather than at the next poll. The connection is re-established after it drops (database
 * restart, network), with capped backoff, and a sweep is triggered right after reconnecting, since
 * notifications sent while it was away are lost.
 */
import pg from 'pg';
import type { Logger } from '../lib/logger.js';

export const OUTBOX_CHANNEL = 'wa_outbox_pending';

export interface OutboxListenerOptions {
  connectionString: string;
  /** The channel to LISTEN on; default the outbox's. */
  channel?: string;
  logger: Logger;
  /** A notification arrived. */
  onNotify: () => void;
  /** The connection came back after being lost: look for what was missed. */
  onReconnect: () => void;
}

export class OutboxListener {
  private client: pg.Client | null = null;
  private stopped = false;
  private failures = 0;
  private everConnected = false;
  private retryTimer: NodeJS.Timeout | null = null;

  constructor(private readonly options: OutboxListenerOptions) {}

  /** Connects (retrying in the background if the database is not reachable yet). */
  async start(): Promise<void> {
    await this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const { logger } = this.options;
    const client = new pg.Client({ connectionString: this.options.connectionString, keepAlive: true, application_name: 'cicero-wa-gateway listener' });
    let lost = false;
    const onLost = (err?: Error) => {
      if (lost || this.stopped) return;
      lost = true;
      this.client = null;
      logger.warn({ err: err?.message ?? 'connection ended' }, 'outbox listener lost its database connection; reconnecting');
      void client.end().catch(() => undefined);
      this.scheduleReconnect();
    };
    client.on('error', onLost);
    client.on('end', () => onLost());
    const channel = this.options.channel ?? OUTBOX_CHANNEL;
    client.on('notification', (message) => {
      if (message.channel === channel) this.options.onNotify();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${client.escapeIdentifier(channel)}`);
    } catch (err) {
      if (!lost) {
        lost = true;
        logger.warn({ err: (err as Error).message }, 'outbox listener cannot connect; retrying');
        void client.end().catch(() => undefined);
        this.scheduleReconnect();
      }
      return;
    }
    if (this.stopped) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    const recovering = this.everConnected || this.failures > 0;
    this.failures = 0;
    if (recovering) {
      logger.info({ channel }, 'outbox listener reconnected; sweeping for missed messages');
      this.options.onReconnect();
    } else {
      logger.debug('outbox listener connected');
    }
    this.everConnected = true;
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.retryTimer) return;
    this.failures++;
    const delay = Math.min(30_000, 250 * 2 ** Math.min(this.failures - 1, 7));
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.connect();
    }, delay);
    this.retryTimer.unref();
  }
}
