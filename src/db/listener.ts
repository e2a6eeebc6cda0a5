/**
 * LISTENs on one PostgreSQL channel on a dedicated connection, so work is picked up at once rather than
 * at the next poll. The connection is re-established after it drops (database restart, network), with
 * capped backoff, and `onReconnect` runs right after reconnecting, since notifications sent while it was
 * away are lost. Its log lines name the channel.
 */
import pg from 'pg';
import { backoffDelay } from '../lib/backoff.js';
import type { Logger } from '../lib/logger.js';

export interface ChannelListenerOptions {
  connectionString: string;
  channel: string;
  logger: Logger;
  /** A notification arrived. */
  /** A notification arrived, with its payload ('' without one). */
  onNotify: (payload: string) => void;
  /** The connection came back after being lost: look for what was missed. */
  onReconnect: () => void;
}

const RECONNECT = { baseMs: 250, maxMs: 30_000 };
/**
 * The listening connection runs one statement, LISTEN, then waits outside any transaction for
 * notifications (no statement runs while it waits, so no timeout ends the wait): LISTEN gets 10 s.
 */
const LISTEN_STATEMENT_TIMEOUT_MS = 10_000;

export class ChannelListener {
  private client: pg.Client | null = null;
  private stopped = false;
  private failures = 0;
  private everConnected = false;
  private retryTimer: NodeJS.Timeout | null = null;

  constructor(private readonly options: ChannelListenerOptions) {}

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
    const { logger, channel } = this.options;
    const client = new pg.Client({
      connectionString: this.options.connectionString,
      keepAlive: true,
      application_name: 'cicero-wa-gateway listener',
      statement_timeout: LISTEN_STATEMENT_TIMEOUT_MS,
    });
    let lost = false;
    const onLost = (err?: Error) => {
      if (lost || this.stopped) return;
      lost = true;
      this.client = null;
      logger.warn({ channel, err: err?.message ?? 'connection ended' }, `listener on ${channel} lost its database connection; reconnecting`);
      void client.end().catch(() => undefined);
      this.scheduleReconnect();
    };
    client.on('error', onLost);
    client.on('end', () => onLost());
    client.on('notification', (message) => {
      if (message.channel === channel) this.options.onNotify(message.payload ?? '');
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${client.escapeIdentifier(channel)}`);
    } catch (err) {
      if (!lost) {
        lost = true;
        logger.warn({ channel, err: (err as Error).message }, `listener on ${channel} cannot connect; retrying`);
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
      logger.info({ channel }, `listener on ${channel} reconnected; looking for what was missed`);
      this.options.onReconnect();
    } else {
      logger.debug({ channel }, `listener on ${channel} connected`);
    }
    this.everConnected = true;
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.retryTimer) return;
    this.failures++;
    const delay = backoffDelay(this.failures, RECONNECT);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.connect();
    }, delay);
    this.retryTimer.unref();
  }
}
