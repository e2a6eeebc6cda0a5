/**
 * The WA gateway dispatcher: turns pending wa_outbox rows into WhatsApp messages.
 *
 * - Single-flight: one drain at a time per process; a trigger during a drain makes it drain once more.
 * - Claims due rows in batches (FOR UPDATE SKIP LOCKED, leased to this instance), sends them one at a
 *   time through the transport with the pacer's etiquette, and marks each: sent, retry later (transient
 *   error, exponential backoff) or failed (permanent error, or the last attempt).
 * - Nothing is claimed while the transport is not ready; claimed rows not yet attempted are handed back
 *   at once when it stops being ready or the dispatcher stops.
 * - A mark that fails because the database is away is retried until it succeeds, so a message that was
 *   sent is recorded as sent rather than sent again.
 * - Modules that care about a message's fate register an outcome hook for its type; the hook runs in the
 *   transaction that marks the row.
 */
import os from 'node:os';
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import type { Config } from '../../config.js';
import { withTransaction } from '../../db/pool.js';
import type { Logger } from '../../logger.js';
import { SendError, type Transport } from '../../services/transports/transport.js';
import { retryDelayMs } from './backoff.js';
import {
  claimDueRows,
  extendLeases,
  markFailed,
  markRetry,
  markSent,
  nextWakeUp,
  recordAck,
  recordPartsSent,
  recoverExpiredLeases,
  releaseRows,
  type ClaimedRow,
} from './outbox-claims.js';
import { normaliseRecipient } from '../../services/recipient.js';
import { AbortedError, SendPacer, sleep } from './send-pacer.js';
import { splitText } from './split-text.js';

export interface OutcomeEvent {
  row: ClaimedRow;
  status: 'sent' | 'failed';
  /** Why it failed; null when sent. */
  reason: string | null;
  /** The database's send time; null when failed. */
  sentAt: Date | null;
}

/** Runs inside the transaction that marks the outbox row. Throwing rolls the mark back (it is retried). */
export type OutcomeHook = (tx: pg.PoolClient, event: OutcomeEvent) => Promise<void>;

export interface DispatcherOptions {
  pool: pg.Pool;
  transport: Transport;
  logger: Logger;
  dispatch: Config['dispatch'];
  defaultCountryCode: string;
  /** Identifies this process in `locked_by`. */
  instanceId?: string;
  random?: () => number;
}

/** How long stop() waits for the send in flight before leaving it to its lease. */
const STOP_WAIT_MS = 5000;

export function defaultInstanceId(): string {
  return `${os.hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
}

export class Dispatcher {
  readonly instanceId: string;
  private readonly pacer: SendPacer;
  private readonly hooks = new Map<string, OutcomeHook[]>();
  private readonly held = new Set<number>();
  private readonly abort = new AbortController();
  private current: Promise<void> | null = null;
  private again = false;
  private stopping = false;
  private wakeTimer: NodeJS.Timeout | null = null;
  private failures = 0;
  private unsubscribe: (() => void) | null = null;
  private leaseRenewAt = 0;
  /** The row whose send is under way, if any. */
  private inFlight: number | null = null;

  constructor(private readonly options: DispatcherOptions) {
    this.instanceId = options.instanceId ?? defaultInstanceId();
    this.pacer = new SendPacer({
      intervalMs: options.dispatch.sendIntervalMs,
      jitterMs: options.dispatch.sendJitterMs,
      maxPerMinute: options.dispatch.maxPerMinute,
      ...(options.random ? { random: options.random } : {}),
    });
  }

  /** Registers a hook for the outcome (sent or failed) of rows of these types. */
  onOutcome(types: string[], hook: OutcomeHook): void {
    for (const type of types) this.hooks.set(type, [...(this.hooks.get(type) ?? []), hook]);
  }

  /** Drains when the transport becomes ready, and once now; records delivery receipts. */
  start(): void {
    const { transport, pool, logger } = this.options;
    const unsubscribeState = transport.onStateChange((status) => {
      if (status.state === 'ready') this.trigger('transport ready');
    });
    const unsubscribeAck = transport.onAck?.((messageId, ack) => {
      recordAck(pool, messageId, ack).catch((err: Error) => logger.warn({ err: err.message, messageId, ack }, 'could not record a delivery receipt'));
    });
    this.unsubscribe = () => {
      unsubscribeState();
      unsubscribeAck?.();
    };
    this.trigger('start');
  }

  /** Asks for a drain. Single-flight: during a drain, it makes that drain run once more after. */
  trigger(reason: string): void {
    if (this.stopping) return;
    if (this.current) {
      this.again = true;
      return;
    }
    this.options.logger.trace({ reason }, 'dispatch triggered');
    this.current = this.run().finally(() => {
      this.current = null;
      if (this.again && !this.stopping) {
        this.again = false;
        this.trigger('again');
      }
    });
  }

  /** Resolves when no drain is running (for tests and benchmarks). */
  async idle(): Promise<void> {
    while (this.current) await this.current;
  }

  /**
   * Stops claiming, lets the send in flight finish and be marked, and hands the other claimed rows back
   * to pending at once.
   */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.unsubscribe?.();
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.abort.abort();
    const running = this.current;
    if (running) {
      const finished = await Promise.race([running.then(() => true), sleep(STOP_WAIT_MS).then(() => false)]);
      if (!finished) this.options.logger.warn({ waitedMs: STOP_WAIT_MS }, 'send still in flight at shutdown; its lease will return it to pending');
    }
    // A send still in flight keeps its row: releasing it could let another dispatcher send it again.
    await this.releaseHeld(this.inFlight).catch((err: Error) =>
      this.options.logger.warn({ err: err.message }, 'could not hand claimed rows back at shutdown; their leases will'),
    );
  }

  private async run(): Promise<void> {
    try {
      await this.drain();
      this.failures = 0;
      await this.scheduleWakeUp();
    } catch (err) {
      this.failures++;
      const delay = Math.min(30_000, 500 * 2 ** Math.min(this.failures - 1, 6));
      this.options.logger.warn({ err: (err as Error).message, retryInMs: delay }, 'dispatch failed (database unreachable?); will retry');
      this.setWakeTimer(delay);
    }
  }

  private async drain(): Promise<void> {
    const { pool, transport, dispatch, logger } = this.options;
    if (this.held.size > 0) await this.releaseHeld(); // left over from a drain the database interrupted
    if (!transport.isReady() || this.stopping) return;

    const recovered = await recoverExpiredLeases(pool, dispatch.maxAttempts);
    if (recovered > 0) logger.warn({ rows: recovered }, 'rows whose dispatcher stopped while sending are pending again');

    while (!this.stopping && transport.isReady()) {
      const rows = await claimDueRows(pool, this.instanceId, dispatch.batchSize, dispatch.leaseMs);
      if (rows.length === 0) return;
      for (const row of rows) this.held.add(row.id);
      this.leaseRenewAt = performance.now() + dispatch.leaseMs / 2;
      for (const row of rows) {
        if (this.stopping || !transport.isReady()) break;
        await this.renewLeasesIfDue();
        // The row counts as in flight until its outcome is recorded, so stop() never hands back a sent row.
        this.inFlight = row.id;
        try {
          await this.deliver(row);
        } finally {
          this.inFlight = null;
        }
      }
      await this.releaseHeld();
    }
  }

  private async deliver(row: ClaimedRow): Promise<void> {
    const { transport, defaultCountryCode, dispatch, logger } = this.options;
    const recipient = normaliseRecipient(row.recipient, defaultCountryCode);
    if (!recipient.ok) return this.finish(row, { status: 'failed', reason: `invalid_recipient: ${recipient.reason}` });
    if (row.content.trim() === '') return this.finish(row, { status: 'failed', reason: 'empty_content: the row has no text to send' });

    const parts = splitText(row.content);
    let messageId = row.waMessageId;
    for (let index = row.partsSent; index < parts.length; index++) {
      try {
        await this.pacer.waitTurn(this.abort.signal);
      } catch (err) {
        if (err instanceof AbortedError) return; // stopping: the row stays held and is handed back
        throw err;
      }
      if (!transport.isReady()) return; // handed back with the rest of the batch
      await this.renewLeasesIfDue(); // a long message must not outlive its lease
      let sent;
      try {
        sent = await withTimeout(transport.sendText(recipient.chatId, parts[index]!), dispatch.sendTimeoutMs);
        if (!sent?.messageId) throw new SendError('transient', 'no_message_id', 'the transport returned no message id');
      } catch (err) {
        return this.failedAttempt(row, err);
      }
      messageId = sent.messageId;
      if (index + 1 < parts.length) {
        await this.persist(() => recordPartsSent(this.options.pool, this.instanceId, row.id, index + 1, sent.messageId));
      }
    }
    logger.debug({ id: row.id, chatId: recipient.chatId, parts: parts.length, messageId }, 'message sent');
    await this.finish(row, { status: 'sent', reason: null, partsSent: parts.length, messageId: messageId ?? '' });
  }

  private async failedAttempt(row: ClaimedRow, err: unknown): Promise<void> {
    const error = err instanceof SendError ? err : new SendError('transient', 'send_error', (err as Error)?.message ?? String(err));
    const { dispatch, logger } = this.options;
    if (error.kind === 'permanent') {
      logger.warn({ id: row.id, reason: error.message }, 'message failed permanently');
      return this.finish(row, { status: 'failed', reason: error.message });
    }
    if (row.attempts >= dispatch.maxAttempts) {
      logger.warn({ id: row.id, attempts: row.attempts, reason: error.message }, 'message failed: attempts exhausted');
      return this.finish(row, { status: 'failed', reason: `attempts exhausted (${row.attempts}): ${error.message}` });
    }
    const delayMs = retryDelayMs(row.attempts, dispatch.retryBaseMs, dispatch.retryMaxMs, this.options.random);
    logger.info({ id: row.id, attempt: row.attempts, retryInMs: delayMs, reason: error.message }, 'send failed; will retry');
    await this.persist(() => markRetry(this.options.pool, this.instanceId, row.id, error.message, delayMs));
    this.held.delete(row.id);
  }

  private async finish(
    row: ClaimedRow,
    outcome: { status: 'failed'; reason: string } | { status: 'sent'; reason: null; partsSent: number; messageId: string },
  ): Promise<void> {
    const { pool } = this.options;
    const hooks = this.hooks.get(row.type) ?? [];
    const mark = async (db: pg.Pool | pg.PoolClient) => {
      if (outcome.status === 'sent') return markSent(db, this.instanceId, row.id, outcome.partsSent, outcome.messageId);
      return { held: await markFailed(db, this.instanceId, row.id, outcome.reason), sentAt: null };
    };
    const markWithHooks = () =>
      withTransaction(pool, async (tx) => {
        const marked = await mark(tx);
        if (marked.held) {
          for (const hook of hooks) await hook(tx, { row, status: outcome.status, reason: outcome.reason, sentAt: marked.sentAt });
        }
        return marked;
      });
    let result;
    try {
      result = await this.persist(hooks.length === 0 ? () => mark(pool) : markWithHooks);
    } catch (err) {
      if (hooks.length === 0) throw err;
      // A hook that keeps failing must not stop delivery: record the outcome without it (the module
      // that registered it reconciles from the outbox).
      this.options.logger.error({ id: row.id, err: (err as Error).message }, 'outcome hook keeps failing; marking the row without it');
      result = await this.persist(() => mark(pool));
    }
    if (!result.held) {
      this.options.logger.warn({ id: row.id }, 'row was taken over by another dispatcher (lease expired) before it could be marked');
    }
    this.held.delete(row.id);
  }

  /**
   * Runs a database write until it succeeds. While stopping it gives up after a few tries (the row's
   * lease then returns it to pending).
   */
  private async persist<T>(write: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await write();
      } catch (err) {
        // Only a lost database is worth waiting for; any other error is given up after a few tries.
        if ((this.stopping || !isConnectionError(err)) && attempt >= 3) throw err;
        const delay = Math.min(5000, 250 * 2 ** Math.min(attempt - 1, 5));
        this.options.logger.warn({ err: (err as Error).message, retryInMs: delay }, 'recording a send outcome failed; retrying');
        await sleep(delay);
      }
    }
  }

  private async renewLeasesIfDue(): Promise<void> {
    if (performance.now() < this.leaseRenewAt || this.held.size === 0) return;
    await extendLeases(this.options.pool, this.instanceId, [...this.held], this.options.dispatch.leaseMs);
    this.leaseRenewAt = performance.now() + this.options.dispatch.leaseMs / 2;
  }

  private async releaseHeld(except: number | null = null): Promise<void> {
    const ids = [...this.held].filter((id) => id !== except);
    if (ids.length === 0) return;
    await releaseRows(this.options.pool, this.instanceId, ids);
    for (const id of ids) this.held.delete(id);
  }

  /** Wakes for the earliest retry or foreign lease expiry; new rows arrive through triggers. */
  private async scheduleWakeUp(): Promise<void> {
    if (this.stopping || !this.options.transport.isReady()) return;
    const at = await nextWakeUp(this.options.pool, this.instanceId);
    // At least 250 ms: a due row that could not be claimed just now is locked by another dispatcher's claim.
    if (at) this.setWakeTimer(Math.max(250, at.getTime() - Date.now() + 20));
  }

  private setWakeTimer(delayMs: number): void {
    if (this.stopping) return;
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.wakeTimer = setTimeout(() => {
      this.wakeTimer = null;
      this.trigger('wake-up');
    }, Math.min(delayMs, 2 ** 31 - 1));
    this.wakeTimer.unref();
  }
}

/** Errors that mean the database is unreachable, as opposed to a statement it refused. */
function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: string })?.code ?? '';
  return /^(08|57P0|53300)/.test(code) || /^E(CONNREFUSED|CONNRESET|PIPE|TIMEDOUT|HOSTUNREACH)$/.test(code) || /Connection terminated|connection.*(closed|lost)/i.test((err as Error)?.message ?? '');
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new SendError('transient', 'timeout', `no answer from WhatsApp within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
