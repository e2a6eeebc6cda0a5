/**
 * The WA gateway dispatcher: turns pending wa_outbox rows into WhatsApp messages.
 *
 * - Single-flight: one drain at a time per process; a trigger during a drain makes it drain once more.
 * - Claims due rows in batches (FOR UPDATE SKIP LOCKED, leased to this instance) and sends them one at a
 *   time through the transport with the pacer's etiquette. Immediately before each hand-over it proves
 *   it still holds the row, extends the lease and records the hand-over, in one statement; a row it no
 *   longer holds is skipped. Leases of held rows are renewed in the background while it waits.
 * - Three outcomes per send: confirmed (WhatsApp's id), failed before the hand-over (retried with
 *   exponential backoff, or failed when permanent or out of attempts), unknown (handed over, no id:
 *   recorded as sent and awaiting confirmation, never sent again on its own; see confirmer.ts).
 * - Nothing is claimed while the transport is not ready; claimed rows not yet tried are handed back at
 *   once when it stops being ready or the dispatcher stops.
 * - A record that fails because the database is away is retried until it succeeds, so the outcome of a
 *   send is not lost.
 * - Modules that care about a message's fate register an outcome hook for its type; the hook runs in the
 *   transaction that marks the row.
 */
import type pg from 'pg';
import type { Config } from '../config/index.js';
import { withTransaction } from '../db/pool.js';
import type { Logger } from '../lib/logger.js';
import { HandOverRefused, SendError, type OutgoingDocument, type SendResult, type Transport } from '../whatsapp/transport.js';
import { backoffDelay, retryDelayMs, type Backoff } from '../lib/backoff.js';
import { isRetryableDatabaseError } from '../db/pool.js';
import { SingleFlight } from '../lib/single-flight.js';
import { instanceId } from '../lib/instance-id.js';
import { DEFAULT_SESSION } from '../outbox/enqueue.js';
import { Confirmer } from './confirmer.js';
import {
  claimDueRows,
  deferRow,
  hasWaitingRows,
  extendLeases,
  loadDocument,
  markFailed,
  markRetry,
  markSent,
  nextWakeUp,
  recordHandOver,
  recordPartOutcome,
  normaliseStatuses,
  recoverExpiredLeases,
  releaseRows,
  settleFailedHandOver,
  summariseParts,
  type ClaimedRow,
  type PartState,
  type Settlement,
} from '../outbox/claims.js';
import { bodyFingerprint, confirmSend } from '../outbox/hand-overs.js';
import type { OutcomeEvent, OutcomeHook, ReceiptHook } from '../outbox/outcomes.js';
import { normaliseRecipient } from '../whatsapp/recipient.js';
import { MAX_CONTENT_CHARS } from '../outbox/enqueue.js';
import { SendPacer } from './pacer.js';
import type { Governor, Permit } from '../governor/governor.js';
import type { RiskKind } from '../governor/policy.js';
import { AbortedError, sleep } from '../lib/sleep.js';
import { splitText } from './split-text.js';
import { checksumProblem, documentProblem } from './documents.js';

export interface DispatcherOptions {
  pool: pg.Pool;
  transport: Transport;
  logger: Logger;
  dispatch: Config['dispatch'];
  defaultCountryCode: string;
  /** Identifies this process in `locked_by` (default: the process's instance id). */
  instanceId?: string;
  /** The WhatsApp session whose rows this dispatcher sends (default `default`). */
  session?: string;
  random?: () => number;
  /** How old an own-message event must be before it confirms an unknown send (tests shorten it). */
  confirmSettleMs?: number;
  /** The ban-risk governor: asked before each message, told of risk signals (none: no budgets). */
  governor?: Governor | null;
}

/** How long stop() waits for the send in flight before leaving it to its lease. */
const STOP_WAIT_MS = 5000;
/** One part's send as the dispatcher saw it: what happened, why, and how long the transport took. */
export interface SendObservation {
  type: string;
  outcome: 'confirmed' | 'unknown' | 'failed';
  /** For a failure, SendError's short reason; for an unknown outcome, why it is unknown. */
  reason: string | null;
  durationMs: number;
}

export interface DispatchObserver {
  /** A row claimed, with how long it had been due. */
  claimed?(row: { type: string; waitedMs: number }): void;
  sent?(observation: SendObservation): void;
}

/** A drain that failed (the database away) is tried again after this backoff. */
const DRAIN_RETRY: Backoff = { baseMs: 500, maxMs: 30_000 };
/** A write recording a send outcome is tried again until it succeeds, after this backoff. */
const WRITE_RETRY: Backoff = { baseMs: 250, maxMs: 5000 };
/** How long an outcome hook may wait for a row lock before it is given up (the outcome is kept). */
const HOOK_LOCK_TIMEOUT_MS = 2000;
/** A row a dry run only logged: sent as far as the outbox goes, and marked so it can be put back. */
const DRY_RUN_SUMMARY = { confirmation: 'dry_run', lastError: 'dry run (WA_TRANSPORT=log): logged, not sent to WhatsApp' } as const;


/** What one part's send came to. */
type PartResult =
  | { kind: 'handed-over'; sendId: number; settlement: Settlement }
  | { kind: 'failed'; error: SendError; sendId: number | null }
  | { kind: 'lost'; reason: string };

export class Dispatcher {
  readonly instanceId: string;
  readonly session: string;
  readonly confirmer: Confirmer;
  private readonly pacer: SendPacer;
  private readonly hooks = new Map<string, OutcomeHook[]>();
  private readonly everyType: OutcomeHook[] = [];
  private readonly receiptHooks: ReceiptHook[] = [];
  private readonly held = new Set<number>();
  /** Hand-overs whose send has not answered yet (a timeout after the hand-over leaves it running). */
  private readonly inFlightSends = new Set<number>();
  private readonly abort = new AbortController();
  private readonly drains = new SingleFlight(() => this.run());
  private stopping = false;
  private wakeTimer: NodeJS.Timeout | null = null;
  private renewTimer: NodeJS.Timeout | null = null;
  private failures = 0;
  private unsubscribe: (() => void) | null = null;
  /** The row whose send is under way, if any. */
  private inFlight: number | null = null;
  /** The row in flight once a part of it has been handed over (an error after that must not fail it). */
  private handedOverRow: number | null = null;
  private readonly observers: DispatchObserver[] = [];
  private backlogSince: Date | null = null;
  private lastHandOverAt: Date | null = null;
  /** The unknown statuses last reported, so the warning is logged once per change. */
  private lastOddStatuses = '';
  /** A spent budget holds the whole session back until then (no claim, no polling). */
  private heldBackUntil = 0;
  /** The governor's words for that budget. */
  private heldBackReason = '';
  /** The session is paused (the drain claims nothing until it is not). */
  private paused = false;
  /** Until when and why, while paused. */
  private pause: { until: Date | null; reason: string } | null = null;

  constructor(private readonly options: DispatcherOptions) {
    this.instanceId = options.instanceId ?? instanceId();
    this.session = options.session ?? DEFAULT_SESSION;
    this.pacer = new SendPacer({
      intervalMs: options.dispatch.sendIntervalMs,
      jitterMs: options.dispatch.sendJitterMs,
      maxPerMinute: options.dispatch.maxPerMinute,
      ...(options.random ? { random: options.random } : {}),
    });
    const { dispatch } = options;
    this.confirmer = new Confirmer({
      pool: options.pool,
      transport: options.transport,
      logger: options.logger,
      session: this.session,
      confirmTimeoutMs: dispatch.confirmTimeoutMs,
      settleGraceMs: dispatch.settleGraceMs,
      resendChecked: dispatch.resendChecked,
      retry: {
        maxAttempts: dispatch.maxAttempts,
        delayMs: (attempts) => retryDelayMs(attempts, dispatch.retryBaseMs, dispatch.retryMaxMs, options.random),
        onFailed: (tx, row, reason) => this.runHooks(tx, { row, status: 'failed', reason, sentAt: null }),
      },
      ...(options.confirmSettleMs !== undefined ? { settleMs: options.confirmSettleMs } : {}),
      onRequeue: () => this.trigger('ack error'),
      isInFlight: (id) => this.inFlightSends.has(id),
      onRisk: (kind, detail, session) => this.risk(kind, detail, session),
      receiptHooks: () => this.receiptHooks,
    });
  }

  /** Follows the dispatcher's work (metrics): claims and each part's send. */
  observe(observer: DispatchObserver): void {
    this.observers.push(observer);
  }

  /**
   * Whether sending makes progress: since when this session has had messages waiting (due, or retrying)
   * without interruption, and when a message last went to WhatsApp. A backlog older than the last
   * hand-over by more than a threshold is a stall (`/readyz`).
   */
  progress(): { backlogSince: Date | null; lastHandOverAt: Date | null } {
    return { backlogSince: this.backlogSince, lastHandOverAt: this.lastHandOverAt };
  }

  /**
   * Why every message of this session waits now, as the governor said it (a spent budget, a pause),
   * and until when (null: until an operator resumes it); null when nothing holds the session back.
   */
  sessionHold(): { until: Date | null; reason: string } | null {
    if (this.paused && this.pause) return this.pause;
    if (this.heldBackUntil > Date.now()) return { until: new Date(this.heldBackUntil), reason: this.heldBackReason };
    return null;
  }

  private observeSend(row: ClaimedRow, result: PartResult, durationMs: number): void {
    if (result.kind === 'lost') return;
    if (result.kind === 'handed-over') this.lastHandOverAt = new Date();
    const observation: SendObservation =
      result.kind === 'failed'
        ? { type: row.type, outcome: 'failed', reason: result.error.reason, durationMs }
        : { type: row.type, outcome: result.settlement.outcome, reason: result.settlement.outcome === 'unknown' ? result.settlement.reason : null, durationMs };
    for (const observer of this.observers) observer.sent?.(observation);
  }

  /** Registers a hook for the outcome (sent or failed) of rows of these types; `'*'` for every type. */
  onOutcome(types: string[] | '*', hook: OutcomeHook): void {
    if (types === '*') this.everyType.push(hook);
    else for (const type of types) this.hooks.set(type, [...(this.hooks.get(type) ?? []), hook]);
  }

  /** Registers a hook run in the transaction that records a delivery receipt. */
  onReceipt(hook: ReceiptHook): void {
    this.receiptHooks.push(hook);
  }

  private hooksFor(type: string): OutcomeHook[] {
    return [...(this.hooks.get(type) ?? []), ...this.everyType];
  }

  /** Drains when the transport becomes ready, and once now; confirms sends and records receipts. */
  start(): void {
    const { transport } = this.options;
    this.unsubscribe = transport.onStateChange((status) => {
      if (status.state === 'ready') this.trigger('transport ready');
    });
    this.confirmer.start();
    this.renewTimer = setInterval(() => this.renewLeases(), Math.max(100, Math.floor(this.options.dispatch.leaseMs / 3)));
    this.renewTimer.unref();
    this.trigger('start');
  }

  /** Asks for a drain. Single-flight: during a drain, it makes that drain run once more after. */
  trigger(reason: string): void {
    if (this.stopping) return;
    this.options.logger.trace({ reason }, 'dispatch triggered');
    this.drains.trigger();
  }

  /** Resolves when no drain is running (for tests and benchmarks). */
  idle(): Promise<void> {
    return this.drains.idle();
  }

  /**
   * Stops claiming, lets the send in flight finish and be recorded, and hands the other claimed rows
   * back to pending at once.
   */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.drains.stop();
    this.unsubscribe?.();
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.abort.abort();
    const running = this.drains.inFlight;
    if (running) {
      const finished = await Promise.race([running.then(() => true), sleep(STOP_WAIT_MS).then(() => false)]);
      if (!finished) this.options.logger.warn({ waitedMs: STOP_WAIT_MS }, 'send still in flight at shutdown; its lease will settle it (its outcome is unknown: it is not sent again)');
    }
    if (this.renewTimer) clearInterval(this.renewTimer);
    await this.confirmer.stop();
    // A send still in flight keeps its row: its hand-over is recorded, and the lease settles it.
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
      const delay = backoffDelay(this.failures, DRAIN_RETRY);
      this.options.logger.warn({ err: (err as Error).message, retryInMs: delay }, 'dispatch failed (database unreachable?); will retry');
      this.setWakeTimer(delay);
    }
  }

  private async drain(): Promise<void> {
    const { pool, transport, dispatch, logger } = this.options;
    if (this.held.size > 0) await this.releaseHeld(); // left over from a drain the database interrupted
    if (!transport.isReady() || this.stopping) return;
    if (await this.governorHoldsBack()) return;

    const recovered = await recoverExpiredLeases(pool, this.session, async (tx, sent) => {
      for (const row of sent) await this.runHooks(tx, { row, status: 'sent', reason: null, sentAt: row.sentAt });
    });
    if (recovered.pending > 0) logger.warn({ rows: recovered.pending }, 'rows whose dispatcher stopped while holding them are pending again');
    if (recovered.sent > 0) logger.warn({ rows: recovered.sent }, 'rows whose dispatcher stopped during the hand-over are sent with an unknown outcome (not sent again)');
    if (recovered.sent > 0) this.confirmer.trigger();
    const odd = await normaliseStatuses(pool);
    if (odd.length > 0 && odd.map((o) => `${o.status}:${o.rows}`).join() !== this.lastOddStatuses) {
      logger.warn(
        { statuses: odd.map((o) => ({ status: o.status, rows: o.rows })) },
        'outbox rows with a status the service does not know are left alone: see them with cicero-wa outbox list --status other; cicero-wa outbox retry <id> sends one',
      );
    }
    this.lastOddStatuses = odd.map((o) => `${o.status}:${o.rows}`).join();

    while (!this.stopping && transport.isReady() && this.heldBackUntil <= Date.now() && !this.paused) {
      const rows = await claimDueRows(pool, this.instanceId, this.session, dispatch.batchSize, dispatch.leaseMs, MAX_CONTENT_CHARS);
      if (rows.length === 0) {
        if (this.backlogSince && !(await hasWaitingRows(pool, this.session))) this.backlogSince = null;
        return;
      }
      this.backlogSince ??= new Date();
      for (const row of rows) this.held.add(row.id);
      for (const observer of this.observers) for (const row of rows) observer.claimed?.({ type: row.type, waitedMs: row.waitedMs });
      for (const row of rows) {
        if (this.stopping || !transport.isReady() || this.heldBackUntil > Date.now() || this.paused) break;
        if (!this.held.has(row.id)) continue;
        // The row counts as in flight until its outcome is recorded, so stop() never hands back a sent row.
        this.inFlight = row.id;
        try {
          await this.deliver(row);
        } catch (err) {
          // A database error stops the drain (it is retried); anything else is this row's own problem:
          // it fails alone, with the reason, and the rows behind it go on. Once a part of it went to
          // WhatsApp it is not failed: it keeps its claim, and the lease recovery records it as sent
          // with an unknown outcome.
          if (isRetryableDatabaseError(err)) throw err;
          const message = (err as Error).message;
          if (this.handedOverRow === row.id) {
            this.options.logger.error({ id: row.id, err: message }, 'recording a handed-over row failed; its lease will settle it (outcome unknown, not sent again)');
            this.held.delete(row.id);
          } else {
            this.options.logger.error({ id: row.id, err: message }, 'a row could not be processed; it fails alone');
            await this.finish(row, { status: 'failed', reason: `processing_error: ${message}`.slice(0, 500), countAttempt: true });
          }
        } finally {
          this.handedOverRow = null;
          this.inFlight = null;
        }
      }
      await this.releaseHeld();
    }
  }

  private async deliver(row: ClaimedRow): Promise<void> {
    const { transport, defaultCountryCode, logger } = this.options;
    // The size first: a huge row is failed before anything else looks at it.
    if (row.content === null) {
      const limit = MAX_CONTENT_CHARS.toLocaleString('en');
      const size = row.contentLength === null ? `${row.contentBytes.toLocaleString('en')} bytes` : `${row.contentLength.toLocaleString('en')} characters`;
      return this.finish(row, { status: 'failed', reason: `content_too_large: ${size}; the limit is ${limit} characters`, countAttempt: true });
    }
    const recipient = normaliseRecipient(row.recipient, defaultCountryCode);
    if (!recipient.ok) return this.finish(row, { status: 'failed', reason: `invalid_recipient: ${recipient.reason}`, countAttempt: true });
    if (row.document) {
      const problem = documentProblem(row.document, row.content, this.options.dispatch.documentMaxBytes);
      if (problem) return this.finish(row, { status: 'failed', reason: problem, countAttempt: true });
    } else if (row.content.trim() === '') {
      return this.finish(row, { status: 'failed', reason: 'empty_content: the row has no text to send', countAttempt: true });
    }

    // A document is one message, its caption never split; text may be several.
    const parts = row.document ? [row.content] : splitText(row.content);
    // Parts handed over by an earlier claim are never sent again; rows from before hand-overs were
    // recorded count their first `parts_sent` parts as done.
    const done = new Map<number, PartState>(
      row.doneParts.size > 0 || row.partsSent === 0 ? row.doneParts : Array.from({ length: row.partsSent }, (_, i) => [i, { outcome: 'confirmed' as const, reason: null }]),
    );
    let document: Omit<OutgoingDocument, 'caption'> | null = null;
    if (row.document && !done.has(0)) {
      // The bytes are read now, one document at a time, and must be what the row says they are.
      const bytes = await this.persist(() => loadDocument(this.options.pool, this.instanceId, row.id, this.options.dispatch.documentMaxBytes));
      if (bytes === null) return; // no longer held, or changed under it: handed back, looked at again
      const problem = checksumProblem(bytes, row.document.sha256!);
      if (problem) return this.finish(row, { status: 'failed', reason: problem, countAttempt: true });
      document = { bytes, fileName: row.document.fileName!, mimeType: row.document.mimeType! };
    }
    const permit = await this.permit(row, recipient.chatId, parts.length - done.size);
    if (!permit) return; // held back: the row says until when and why
    let handedOver = false;
    for (let index = 0; index < parts.length; index++) {
      if (done.has(index)) continue;
      try {
        await this.pacer.waitTurn(this.abort.signal);
      } catch (err) {
        if (err instanceof AbortedError) return this.giveBack(permit, handedOver); // stopping: the row stays held and is handed back
        throw err;
      }
      if (!transport.isReady()) return this.giveBack(permit, handedOver); // handed back with the rest of the batch
      if (!handedOver && permit.typingMs > 0 && transport.showTyping) await transport.showTyping(recipient.chatId, permit.typingMs, this.abort.signal);
      const started = performance.now();
      const result = await this.sendPart(row, recipient.chatId, parts, index, !handedOver, document);
      this.observeSend(row, result, performance.now() - started);
      if (result.kind === 'lost') {
        logger.warn({ id: row.id, reason: result.reason }, 'row no longer held (its lease lapsed and another dispatcher took it): not sent');
        this.held.delete(row.id);
        return this.giveBack(permit, handedOver);
      }
      if (result.kind === 'failed') {
        await this.giveBack(permit, handedOver);
        await this.riskOfFailure(result.error); // recorded before the next row asks for a permit
        // A refused hand-over record already counted this claim's attempt when it was the first.
        if (result.sendId !== null) await this.persist(() => settleFailedHandOver(this.options.pool, result.sendId!, result.error.message));
        return this.failedAttempt(row, result.error, !handedOver && result.sendId === null);
      }
      handedOver = true;
      done.set(index, { outcome: result.settlement.outcome === 'confirmed' ? 'confirmed' : 'unknown', reason: result.settlement.reason ?? null });
      const last = done.size === parts.length;
      if (result.settlement.outcome === 'unknown') {
        logger.warn({ id: row.id, part: index + 1, parts: parts.length, reason: result.settlement.reason }, 'send outcome unknown: recorded as sent, awaiting confirmation; not sent again');
      }
      if (!last) {
        await this.persist(() => recordPartOutcome(this.options.pool, this.instanceId, row.id, result.sendId, result.settlement, done.size));
        if (result.settlement.outcome === 'unknown') this.confirmer.trigger();
        continue;
      }
      logger.debug({ id: row.id, chatId: recipient.chatId, parts: parts.length, outcome: result.settlement.outcome }, 'message sent');
      const summary = transport.dryRun ? DRY_RUN_SUMMARY : summariseParts(done.values());
      await this.finish(row, { status: 'sent', partsSent: parts.length, last: { sendId: result.sendId, settlement: result.settlement }, summary });
      if (summary.confirmation !== 'confirmed') this.confirmer.trigger();
      return;
    }
    // Every part went to WhatsApp in earlier claims (e.g. a crash after the last hand-over).
    const summary = transport.dryRun ? DRY_RUN_SUMMARY : summariseParts(done.values());
    await this.finish(row, { status: 'sent', partsSent: parts.length, last: null, summary });
    if (summary.confirmation !== 'confirmed') this.confirmer.trigger();
  }

  /**
   * One part: the transport calls back just before the hand-over, and the proof (lease + hand-over
   * record) is written then. A timeout before that point is a failure; after it, an unknown outcome.
   */
  private async sendPart(
    row: ClaimedRow,
    chatId: string,
    parts: string[],
    index: number,
    countAttempt: boolean,
    document: Omit<OutgoingDocument, 'caption'> | null,
  ): Promise<PartResult> {
    const { transport, dispatch, pool } = this.options;
    const text = parts[index]!;
    let abandoned = false;
    let handOverWrite: Promise<number | null> | null = null;
    let sendId: number | null = null;
    const hooks = {
      handOver: async () => {
        if (abandoned) throw new HandOverRefused('the send was abandoned before the hand-over');
        handOverWrite = this.persist(() =>
          recordHandOver(pool, {
            rowId: row.id,
            owner: this.instanceId,
            session: this.session,
            part: index,
            parts: parts.length,
            chatId,
            // A document's own-message event carries its caption as its text ('' without one).
            bodySha256: bodyFingerprint(text),
            leaseMs: dispatch.leaseMs,
            countAttempt,
          }),
        );
        const id = await handOverWrite;
        if (id === null) throw new HandOverRefused('the row is no longer held by this dispatcher');
        if (abandoned) throw new HandOverRefused('the send was abandoned before the hand-over');
        sendId = id;
        this.inFlightSends.add(id);
        this.handedOverRow = row.id;
      },
    };
    const sending = document
      ? transport.sendDocument(chatId, { ...document, caption: text.trim() === '' ? null : text }, hooks)
      : transport.sendText(chatId, text, hooks);
    // Until the transport answers, the chat is not read to settle this hand-over (the send may still land).
    void sending.then(
      () => sendId !== null && this.inFlightSends.delete(sendId),
      () => sendId !== null && this.inFlightSends.delete(sendId),
    );
    let result: SendResult;
    try {
      result = await withTimeout(sending, dispatch.sendTimeoutMs);
    } catch (err) {
      if (err instanceof HandOverRefused) return { kind: 'lost', reason: err.message };
      if (err instanceof SendTimeout) {
        if (sendId !== null) {
          const id = sendId;
          // The late answer may still carry WhatsApp's id: confirm with it once the unknown is recorded.
          void sending.then(
            (late) => (late.outcome === 'confirmed' ? this.confirmLate(row.id, id, late.messageId) : undefined),
            () => undefined,
          );
          return { kind: 'handed-over', sendId: id, settlement: { outcome: 'unknown', reason: `timeout after hand-over: no answer from WhatsApp within ${dispatch.sendTimeoutMs} ms` } };
        }
        abandoned = true;
        // A proof being written right now: its hand-over record is settled as failed (nothing is sent).
        const pending = handOverWrite as Promise<number | null> | null;
        const written = pending ? await pending.catch(() => null) : null;
        sending.catch(() => undefined);
        return { kind: 'failed', error: new SendError('transient', 'timeout', err.message), sendId: written };
      }
      const error = err instanceof SendError ? err : new SendError('transient', 'send_error', (err as Error)?.message ?? String(err));
      return { kind: 'failed', error, sendId };
    }
    if (sendId === null) {
      // A transport that answered without handing over: nothing went to WhatsApp.
      return { kind: 'failed', error: new SendError('transient', 'no_hand_over', 'the transport did not hand the message over'), sendId: null };
    }
    if (result.outcome === 'confirmed' && result.messageId) {
      this.confirmer.noteOwnId(result.messageId);
      return { kind: 'handed-over', sendId, settlement: { outcome: 'confirmed', messageId: result.messageId } };
    }
    const reason = result.outcome === 'unknown' ? result.reason : 'no_message_id: the transport returned no message id';
    return { kind: 'handed-over', sendId, settlement: { outcome: 'unknown', reason } };
  }

  /** A send that timed out after its hand-over answered later with WhatsApp's id. */
  private async confirmLate(rowId: number, sendId: number, messageId: string): Promise<void> {
    this.confirmer.noteOwnId(messageId);
    // The unknown outcome is recorded by the drain; give it a moment, then confirm.
    for (let tries = 0; tries < 20 && !this.stopping; tries++) {
      await sleep(250);
      if (await confirmSend(this.options.pool, { id: sendId, outboxId: rowId }, messageId, null).catch(() => false)) {
        this.options.logger.info({ id: rowId, messageId }, 'a send that timed out after its hand-over was confirmed by WhatsApp');
        return;
      }
    }
  }

  private async failedAttempt(row: ClaimedRow, error: SendError, countAttempt: boolean): Promise<void> {
    const { dispatch, logger } = this.options;
    const attempt = row.attempts + 1;
    if (error.kind === 'permanent') {
      logger.warn({ id: row.id, reason: error.message }, 'message failed permanently');
      return this.finish(row, { status: 'failed', reason: error.message, countAttempt });
    }
    if (attempt >= dispatch.maxAttempts) {
      logger.warn({ id: row.id, attempts: attempt, reason: error.message }, 'message failed: attempts exhausted');
      return this.finish(row, { status: 'failed', reason: `attempts exhausted (${attempt}): ${error.message}`, countAttempt });
    }
    const delayMs = retryDelayMs(attempt, dispatch.retryBaseMs, dispatch.retryMaxMs, this.options.random);
    logger.info({ id: row.id, attempt, retryInMs: delayMs, reason: error.message }, 'send failed; will retry');
    await this.persist(() => markRetry(this.options.pool, this.instanceId, row.id, error.message, delayMs, countAttempt));
    this.held.delete(row.id);
  }

  private async finish(
    row: ClaimedRow,
    outcome:
      | { status: 'failed'; reason: string; countAttempt: boolean }
      | { status: 'sent'; partsSent: number; last: { sendId: number; settlement: Settlement } | null; summary: { confirmation: string; lastError: string | null } },
  ): Promise<void> {
    const { pool } = this.options;
    const hooks = this.hooksFor(row.type);
    const reason = outcome.status === 'failed' ? outcome.reason : null;
    const mark = async (db: pg.Pool | pg.PoolClient) => {
      if (outcome.status === 'sent') return markSent(db, this.instanceId, row.id, outcome.partsSent, outcome.last, outcome.summary);
      return { held: await markFailed(db, this.instanceId, row.id, outcome.reason, outcome.countAttempt), sentAt: null };
    };
    const markWithHooks = () =>
      withTransaction(pool, async (tx) => {
        const marked = await mark(tx);
        if (marked.held) await this.runHooks(tx, { row, status: outcome.status, reason, sentAt: marked.sentAt });
        return marked;
      });
    const result = await this.persist(hooks.length === 0 ? () => mark(pool) : markWithHooks);
    if (!result.held) {
      this.options.logger.warn({ id: row.id }, 'row was taken over by another dispatcher (lease expired) before it could be marked');
    }
    this.held.delete(row.id);
  }

  /**
   * Runs the hooks for a row's outcome inside a transaction that is not the dispatcher's own mark (lease
   * recovery, ack -1): each in a savepoint, so a failing hook is logged and never undoes the outcome.
   */
  private async runHooks(tx: pg.PoolClient, event: OutcomeEvent): Promise<void> {
    for (const hook of this.hooksFor(event.row.type)) {
      for (let attempt = 1; ; attempt++) {
        await tx.query('SAVEPOINT outcome_hook');
        try {
          // A lock held elsewhere (an operator's open transaction on the complaint) must not stall delivery.
          await tx.query(`SET LOCAL lock_timeout = '${HOOK_LOCK_TIMEOUT_MS}ms'`);
          await hook(tx, event);
          await tx.query('RELEASE SAVEPOINT outcome_hook');
          break;
        } catch (err) {
          await tx.query('ROLLBACK TO SAVEPOINT outcome_hook');
          const lockTimeout = (err as { code?: string }).code === '55P03';
          if (lockTimeout || attempt >= 3) {
            this.options.logger.error(
              { id: event.row.id, err: (err as Error).message },
              'outcome hook failed; the row keeps its outcome and the module that registered the hook reconciles',
            );
            break;
          }
        }
      }
    }
    await tx.query('SET LOCAL lock_timeout = 0');
  }

  /**
   * Runs a database write until it succeeds. While stopping it gives up after a few tries (the row's
   * lease then settles it).
   */
  private async persist<T>(write: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await write();
      } catch (err) {
        // Only a lost database (or a lock conflict) is worth waiting for; any other error is given up after a few tries.
        if ((this.stopping || !isRetryableDatabaseError(err)) && attempt >= 3) throw err;
        const delay = backoffDelay(attempt, WRITE_RETRY);
        this.options.logger.warn({ err: (err as Error).message, retryInMs: delay }, 'recording a send outcome failed; retrying');
        await sleep(delay);
      }
    }
  }

  /** Keeps the leases of held rows alive while the drain waits (pacing) or sends. */
  private renewLeases(): void {
    if (this.held.size === 0 || this.stopping) return;
    extendLeases(this.options.pool, this.instanceId, [...this.held], this.options.dispatch.leaseMs).catch((err: Error) =>
      this.options.logger.debug({ err: err.message }, 'could not renew leases (each send proves its claim anyway)'),
    );
  }

  /**
   * The governor's word on a row: a permit, or the row handed back with until when and why (its
   * attempts untouched); a hold on the whole session stops the drain until then.
   */
  private async permit(row: ClaimedRow, chatId: string, parts: number): Promise<Extract<Permit, { ok: true }> | null> {
    const governor = this.options.governor;
    if (!governor || parts === 0) return { ok: true, reservations: [], typingMs: 0, cold: false };
    const permit = await this.persist(() => governor.permit({ session: this.session, chatId, text: row.content ?? '', parts, outboxId: row.id }));
    if (permit.ok) return permit;
    // A pause may end early (an operator resumes): the row keeps its place and is due again at once then.
    const due = permit.scope === 'pause' ? null : permit.until;
    await this.persist(() => deferRow(this.options.pool, this.instanceId, row.id, due, permit.reason));
    this.held.delete(row.id);
    this.options.logger.info({ id: row.id, until: permit.until?.toISOString() ?? null, reason: permit.reason, scope: permit.scope }, 'message held back by the governor');
    if (permit.scope === 'session') this.holdBack(permit.until, permit.reason);
    if (permit.scope === 'pause') this.pausedUntil(permit.until, permit.reason);
    return null;
  }

  /** A spent budget: no claim until then. */
  private holdBack(until: Date | null, reason: string): void {
    this.heldBackUntil = until ? until.getTime() : 0;
    this.heldBackReason = reason;
    if (until) this.setWakeTimer(Math.max(250, until.getTime() - Date.now() + 20));
  }

  /**
   * A paused session: the drain stops; it looks again when the pause ends, or when woken (a resume
   * notifies every dispatcher).
   */
  private pausedUntil(until: Date | null, reason: string): void {
    this.paused = true;
    this.pause = { until, reason };
    if (until) this.setWakeTimer(Math.max(250, until.getTime() - Date.now() + 20));
    else if (this.wakeTimer) clearTimeout(this.wakeTimer);
  }

  /** Whether the session is paused or its budget spent (no claim then, and no polling). */
  private async governorHoldsBack(): Promise<boolean> {
    const governor = this.options.governor;
    if (!governor) return false;
    if (this.heldBackUntil > Date.now()) return true;
    const paused = await governor.pausedUntil(this.session);
    this.paused = paused !== null;
    if (paused) this.pausedUntil(paused.until, paused.reason);
    return this.paused;
  }

  /** A send that never reached WhatsApp gives its places in the budgets back. */
  private async giveBack(permit: Extract<Permit, { ok: true }>, handedOver: boolean): Promise<void> {
    if (handedOver || permit.reservations.length === 0 || !this.options.governor) return;
    await this.options.governor.release(permit.reservations).catch((err: Error) => this.options.logger.warn({ err: err.message }, 'could not give budget places back'));
  }

  private async riskOfFailure(error: SendError): Promise<void> {
    if (error.reason === 'not_on_whatsapp') await this.risk('not_on_whatsapp', error.message);
    else if (error.kind === 'permanent' || error.reason === 'send_error') await this.risk('send_failed', error.message);
  }

  /**
   * A risk signal for the governor (which may pause the session it concerns: this dispatcher's unless
   * named); never throws, never stops the drain.
   */
  risk(kind: RiskKind, detail: string | null, session: string = this.session): Promise<void> {
    const governor = this.options.governor;
    if (!governor) return Promise.resolve();
    return governor.observe(session, kind, detail).then(
      () => undefined,
      (err: Error) => this.options.logger.warn({ err: err.message, kind }, 'could not record a risk signal'),
    );
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
    if (this.heldBackUntil > Date.now() || this.paused) return; // the hold set its own timer (none when paused until resumed)
    const at = await nextWakeUp(this.options.pool, this.instanceId, this.session);
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

class SendTimeout extends Error {}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new SendTimeout(`no answer from WhatsApp within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
