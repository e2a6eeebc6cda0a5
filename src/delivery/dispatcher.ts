/**
 * The WA gateway dispatcher: turns one session's pending wa_outbox rows into WhatsApp messages.
 *
 * - Single-flight: one drain at a time; a trigger during a drain makes it drain once more.
 * - Its modes, changed in one place (`enter`): idle, draining, held back (a spent budget: no claim until
 *   then), paused (the session's pause: no claim until it ends or an operator resumes it), stopping.
 * - Claims due rows in batches (FOR UPDATE SKIP LOCKED, leased to this instance) and sends them one at a
 *   time through the transport with the pacer's etiquette, each part by the hand-over protocol
 *   (hand-over.ts). Leases of held rows are renewed in the background while it waits.
 * - Three outcomes per send: confirmed (WhatsApp's id), failed before the hand-over (retried with
 *   exponential backoff, or failed when permanent or out of attempts), unknown (handed over, no id:
 *   recorded as sent and awaiting confirmation, never sent again on its own; see confirmer.ts).
 * - A message to a group this number is known not to be in, or an admins-only group where it is no
 *   admin, fails at once (group-membership.ts); an unknown membership sends as before.
 * - Nothing is claimed while the transport is not ready; claimed rows not yet tried are handed back at
 *   once when it stops being ready or the dispatcher stops.
 * - The outcome hooks of the process's registry run in the transaction that marks a row.
 * - Each drain first routes the rows written without a session (routing.ts), so a seed-style INSERT goes
 *   out without waiting for the maintenance.
 * - No maintenance here: a stopped holder's rows, odd statuses, expired confirmations are the outbox
 *   maintenance's (outbox-maintenance.ts), run once a minute for every session.
 */
import type pg from 'pg';
import type { Config } from '../config/index.js';
import { isRetryableDatabaseError, withTransaction } from '../db/pool.js';
import { backoffDelay, retryDelayMs, type Backoff } from '../lib/backoff.js';
import { instanceId } from '../lib/instance-id.js';
import type { Logger } from '../lib/logger.js';
import { SingleFlight } from '../lib/single-flight.js';
import { AbortedError, sleep } from '../lib/sleep.js';
import { extendLeases, hasWaitingRows, loadDocument, nextWakeUp, type ClaimedRow } from '../outbox/claims.js';
import { DEFAULT_SESSION, MAX_CONTENT_CHARS } from '../outbox/enqueue.js';
import type { OutcomeHooks } from '../outbox/outcomes.js';
import { settleFailedHandOver, recordPartOutcome } from '../outbox/part-outcomes.js';
import { claimDueRows, deferRow, markFailed, markRetry, markSent, releaseRows } from '../outbox/row-status.js';
import { retryOrFail, summariseParts, type PartState, type Settlement } from '../outbox/vocabulary.js';
import { Router } from './routing.js';
import type { Governor } from '../governor/governor.js';
import type { OutgoingDocument, SendError, Transport } from '../whatsapp/transport.js';
import { checksumProblem } from './documents.js';
import { GovernorGate, type Granted } from './governor-gate.js';
import { groupRefusalFor } from './group-membership.js';
import { handOverPart, type ConfirmationFeed, type PartResult, type SessionTenure } from './hand-over.js';
import { SendPacer } from './pacer.js';
import { persistent, type Persist } from './persist.js';
import { checkRow } from './row-checks.js';

export interface DispatcherOptions {
  pool: pg.Pool;
  transport: Transport;
  logger: Logger;
  dispatch: Config['dispatch'];
  defaultCountryCode: string;
  /** The process's outcome hooks, run when a row is marked. */
  hooks: OutcomeHooks;
  /** The session's confirmer: told of ids recorded here and of unknown outcomes. */
  confirmations: ConfirmationFeed;
  /** Hand-overs whose send has not answered yet, shared with the confirmer. */
  inFlightSends: Set<number>;
  /** Identifies this process in `locked_by` (default: the process's instance id). */
  instanceId?: string;
  /** The WhatsApp session whose rows this dispatcher sends (default `default`). */
  session?: string;
  random?: () => number;
  /** The ban-risk governor: asked before each message, told of risk signals (none: no budgets). */
  governor?: Governor | null;
  /** Routes rows written without a session before each drain claims (default: a router on this pool). */
  router?: Router;
  /** The session's lease as this process holds it: every claim and hand-over proves its fence (none: a dispatcher outside the service's sessions). */
  tenure?: SessionTenure | null;
}

/** How long stop() waits for the send in flight before leaving it to its lease. */
const STOP_WAIT_MS = 5000;
/** A drain that failed (the database away) is tried again after this backoff. */
const DRAIN_RETRY: Backoff = { baseMs: 500, maxMs: 30_000 };
/** A row a dry run only logged: sent as far as the outbox goes, and marked so it can be put back. */
const DRY_RUN_SUMMARY = { confirmation: 'dry_run', lastError: 'dry run (WA_TRANSPORT=log): logged, not sent to WhatsApp' } as const;

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

/** What the drain is doing; `held_back` and `paused` say until when and why. */
export type DrainMode =
  | { name: 'idle' }
  | { name: 'draining' }
  | { name: 'held_back'; until: Date; reason: string }
  | { name: 'paused'; until: Date | null; reason: string }
  | { name: 'stopping' };

type Outcome =
  | { status: 'failed'; reason: string; countAttempt: boolean }
  | { status: 'sent'; partsSent: number; last: { sendId: number; settlement: Settlement } | null; summary: { confirmation: string; lastError: string | null } };

export class Dispatcher {
  readonly instanceId: string;
  readonly session: string;
  private mode: DrainMode = { name: 'idle' };
  private readonly pacer: SendPacer;
  private readonly gate: GovernorGate;
  private readonly persist: Persist;
  private readonly held = new Set<number>();
  private readonly abort = new AbortController();
  private readonly drains = new SingleFlight(() => this.run());
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
  private readonly router: Router;

  constructor(private readonly options: DispatcherOptions) {
    this.instanceId = options.instanceId ?? instanceId();
    this.session = options.session ?? DEFAULT_SESSION;
    this.router = options.router ?? new Router({
      pool: options.pool, logger: options.logger, defaultCountryCode: options.defaultCountryCode,
      failoverAfterMs: options.dispatch.failoverAfterMs, hooks: options.hooks,
    });
    this.pacer = new SendPacer({
      intervalMs: options.dispatch.sendIntervalMs,
      jitterMs: options.dispatch.sendJitterMs,
      maxPerMinute: options.dispatch.maxPerMinute,
      ...(options.random ? { random: options.random } : {}),
    });
    this.persist = persistent(options.logger, () => this.mode.name === 'stopping');
    this.gate = new GovernorGate(options.governor ?? null, this.session, options.logger, this.persist);
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
    const mode = this.mode;
    if (mode.name === 'paused') return { until: mode.until, reason: mode.reason };
    if (mode.name === 'held_back' && mode.until.getTime() > Date.now()) return { until: mode.until, reason: mode.reason };
    return null;
  }

  /** The rows this dispatcher holds now (claimed, or being sent): the maintenance leaves them alone. */
  heldRows(): number[] {
    return this.inFlight === null ? [...this.held] : [...new Set([...this.held, this.inFlight])];
  }

  /** Drains when the transport becomes ready, and once now. */
  start(): void {
    const { transport } = this.options;
    this.unsubscribe = transport.onStateChange((status) => {
      if (status.state === 'ready') this.trigger('transport ready');
    });
    this.renewTimer = setInterval(() => this.renewLeases(), Math.max(100, Math.floor(this.options.dispatch.leaseMs / 3)));
    this.renewTimer.unref();
    this.trigger('start');
  }

  /** Asks for a drain. Single-flight: during a drain, it makes that drain run once more after. */
  trigger(reason: string): void {
    if (this.mode.name === 'stopping') return;
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
    if (this.mode.name === 'stopping') return;
    this.enter({ name: 'stopping' });
    this.drains.stop();
    this.unsubscribe?.();
    this.abort.abort();
    const running = this.drains.inFlight;
    if (running) {
      const finished = await Promise.race([running.then(() => true), sleep(STOP_WAIT_MS).then(() => false)]);
      if (!finished) this.options.logger.warn({ waitedMs: STOP_WAIT_MS }, 'send still in flight at shutdown; its lease will settle it (its outcome is unknown: it is not sent again)');
    }
    if (this.renewTimer) clearInterval(this.renewTimer);
    // A send still in flight keeps its row: its hand-over is recorded, and the lease settles it.
    await this.releaseHeld(this.inFlight).catch((err: Error) =>
      this.options.logger.warn({ err: err.message }, 'could not hand claimed rows back at shutdown; their leases will'),
    );
  }

  /**
   * The one place the drain's mode changes. Held back and paused set the wake-up for when they end (a
   * pause without an end waits for an operator's resume, which notifies every dispatcher).
   */
  private enter(mode: DrainMode): void {
    if (this.mode.name === 'stopping') return;
    this.mode = mode;
    if (mode.name === 'stopping') {
      if (this.wakeTimer) clearTimeout(this.wakeTimer);
    } else if (mode.name === 'held_back' || mode.name === 'paused') {
      if (mode.until) this.setWakeTimer(Math.max(250, mode.until.getTime() - Date.now() + 20));
      else if (this.wakeTimer) clearTimeout(this.wakeTimer);
    }
  }

  private get draining(): boolean {
    return this.mode.name === 'draining' && this.options.transport.isReady();
  }

  private async run(): Promise<void> {
    try {
      await this.drain();
      this.failures = 0;
      if (this.mode.name === 'draining') this.enter({ name: 'idle' });
      await this.scheduleWakeUp();
    } catch (err) {
      if (this.mode.name === 'draining') this.enter({ name: 'idle' });
      this.failures++;
      const delay = backoffDelay(this.failures, DRAIN_RETRY);
      this.options.logger.warn({ err: (err as Error).message, retryInMs: delay }, 'dispatch failed (database unreachable?); will retry');
      this.setWakeTimer(delay);
    }
  }

  private async drain(): Promise<void> {
    const { pool, transport, dispatch } = this.options;
    if (this.held.size > 0) await this.releaseHeld(); // left over from a drain the database interrupted
    // Rows written without a session get one first (one index look when there are none), whichever
    // session they go to: its dispatcher is woken.
    await this.router.routeUnrouted();
    if (!transport.isReady() || this.mode.name === 'stopping') return;
    if (this.options.tenure && !this.options.tenure.live()) return; // the session is being stopped: its lease may end
    if (this.mode.name === 'held_back' && this.mode.until.getTime() > Date.now()) return;
    const pause = await this.gate.pause();
    if (pause) return this.enter({ name: 'paused', ...pause });
    this.enter({ name: 'draining' });

    while (this.draining) {
      const rows = await claimDueRows(pool, this.instanceId, this.session, dispatch.batchSize, dispatch.leaseMs, MAX_CONTENT_CHARS, this.options.tenure?.fence ?? null);
      if (rows.length === 0) {
        if (this.backlogSince && !(await hasWaitingRows(pool, this.session))) this.backlogSince = null;
        return;
      }
      this.backlogSince ??= new Date();
      for (const row of rows) this.held.add(row.id);
      for (const observer of this.observers) for (const row of rows) observer.claimed?.({ type: row.type, waitedMs: row.waitedMs });
      for (const row of rows) {
        if (!this.draining) break;
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
    const { transport, logger, pool, dispatch } = this.options;
    const checked = checkRow(row, this.options.defaultCountryCode, dispatch.documentMaxBytes);
    if (!checked.ok) return this.finish(row, { status: 'failed', reason: checked.reason, countAttempt: true });
    const { chatId, parts, done } = checked;
    if (done.size === 0) {
      // A group the number is known not to be in (or may not write to) fails at once; unknown goes as before.
      const refusal = await this.persist(() => groupRefusalFor(pool, this.session, chatId));
      if (refusal) return this.finish(row, { status: 'failed', reason: refusal, countAttempt: true });
    }
    let document: Omit<OutgoingDocument, 'caption'> | null = null;
    if (row.document && !done.has(0)) {
      // The bytes are read now, one document at a time, and must be what the row says they are.
      const bytes = await this.persist(() => loadDocument(pool, this.instanceId, row.id, dispatch.documentMaxBytes));
      if (bytes === null) return; // no longer held, or changed under it: handed back, looked at again
      const problem = checksumProblem(bytes, row.document.sha256!);
      if (problem) return this.finish(row, { status: 'failed', reason: problem, countAttempt: true });
      document = { bytes, fileName: row.document.fileName!, mimeType: row.document.mimeType! };
    }
    const permit = await this.permit(row, chatId, parts.length - done.size);
    if (!permit) return; // held back: the row says until when and why
    let handedOver = false;
    for (let index = 0; index < parts.length; index++) {
      if (done.has(index)) continue;
      try {
        await this.pacer.waitTurn(this.abort.signal);
      } catch (err) {
        if (err instanceof AbortedError) return this.gate.giveBack(permit, handedOver); // stopping: the row stays held and is handed back
        throw err;
      }
      if (!transport.isReady()) return this.gate.giveBack(permit, handedOver); // handed back with the rest of the batch
      if (!handedOver && permit.typingMs > 0 && transport.showTyping) await transport.showTyping(chatId, permit.typingMs, this.abort.signal);
      const started = performance.now();
      const result = await handOverPart(this.handOverOptions(), {
        row, chatId, parts, index, countAttempt: !handedOver, document, onHandedOver: () => (this.handedOverRow = row.id),
      });
      this.observeSend(row, result, performance.now() - started);
      if (result.kind === 'lost') {
        logger.warn({ id: row.id, reason: result.reason }, 'row no longer held (its lease lapsed and another dispatcher took it): not sent');
        this.held.delete(row.id);
        return this.gate.giveBack(permit, handedOver);
      }
      if (result.kind === 'failed') {
        await this.gate.giveBack(permit, handedOver);
        await this.gate.failed(result.error); // recorded before the next row asks for a permit
        // A refused hand-over record already counted this claim's attempt when it was the first.
        if (result.sendId !== null) await this.persist(() => settleFailedHandOver(pool, result.sendId!, result.error.message));
        return this.failedAttempt(row, result.error, !handedOver && result.sendId === null);
      }
      handedOver = true;
      done.set(index, { outcome: result.settlement.outcome === 'confirmed' ? 'confirmed' : 'unknown', reason: result.settlement.reason ?? null });
      if (result.settlement.outcome === 'unknown') {
        logger.warn({ id: row.id, part: index + 1, parts: parts.length, reason: result.settlement.reason }, 'send outcome unknown: recorded as sent, awaiting confirmation; not sent again');
      }
      if (done.size < parts.length) {
        await this.persist(() => recordPartOutcome(pool, this.instanceId, row.id, result.sendId, result.settlement, done.size));
        if (result.settlement.outcome === 'unknown') this.options.confirmations.trigger();
        continue;
      }
      logger.debug({ id: row.id, chatId, parts: parts.length, outcome: result.settlement.outcome }, 'message sent');
      return this.finishSent(row, parts.length, done, { sendId: result.sendId, settlement: result.settlement });
    }
    // Every part went to WhatsApp in earlier claims (e.g. a crash after the last hand-over).
    return this.finishSent(row, parts.length, done, null);
  }

  private handOverOptions() {
    const { pool, transport, logger, dispatch, confirmations, inFlightSends } = this.options;
    return {
      pool, transport, logger, dispatch, confirmations, inFlightSends, owner: this.instanceId, session: this.session, persist: this.persist,
      tenure: this.options.tenure ?? null,
      stopping: () => this.mode.name === 'stopping',
    };
  }

  private async finishSent(row: ClaimedRow, partsSent: number, done: Map<number, PartState>, last: { sendId: number; settlement: Settlement } | null): Promise<void> {
    const summary = this.options.transport.dryRun ? DRY_RUN_SUMMARY : summariseParts(done.values());
    await this.finish(row, { status: 'sent', partsSent, last, summary });
    if (summary.confirmation !== 'confirmed') this.options.confirmations.trigger();
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

  /**
   * The governor's word on a row: a permit, or the row handed back with until when and why (its
   * attempts untouched); a hold on the whole session changes the drain's mode until then.
   */
  private async permit(row: ClaimedRow, chatId: string, parts: number): Promise<Granted | null> {
    const permit = await this.gate.permit(row, chatId, parts);
    if (permit.ok) return permit;
    // A pause may end early (an operator resumes): the row keeps its place and is due again at once then.
    const due = permit.scope === 'pause' ? null : permit.until;
    await this.persist(() => deferRow(this.options.pool, this.instanceId, row.id, due, permit.reason));
    this.held.delete(row.id);
    this.options.logger.info({ id: row.id, until: permit.until?.toISOString() ?? null, reason: permit.reason, scope: permit.scope }, 'message held back by the governor');
    if (permit.scope === 'session' && permit.until) this.enter({ name: 'held_back', until: permit.until, reason: permit.reason });
    if (permit.scope === 'pause') this.enter({ name: 'paused', until: permit.until, reason: permit.reason });
    return null;
  }

  private async failedAttempt(row: ClaimedRow, error: SendError, countAttempt: boolean): Promise<void> {
    const { dispatch, logger } = this.options;
    const attempt = row.attempts + 1;
    const next = retryOrFail(attempt, { maxAttempts: dispatch.maxAttempts, delayMs: (n) => retryDelayMs(n, dispatch.retryBaseMs, dispatch.retryMaxMs, this.options.random) }, error.message, error.kind === 'permanent');
    if (next.status === 'failed') {
      logger.warn({ id: row.id, attempts: attempt, reason: next.reason }, error.kind === 'permanent' ? 'message failed permanently' : 'message failed: attempts exhausted');
      return this.finish(row, { status: 'failed', reason: next.reason, countAttempt });
    }
    logger.info({ id: row.id, attempt, retryInMs: next.delayMs, reason: error.message }, 'send failed; will retry');
    await this.persist(() => markRetry(this.options.pool, this.instanceId, row.id, error.message, next.delayMs, countAttempt));
    this.held.delete(row.id);
  }

  /** Marks the row, with the process's outcome hooks in the same transaction (none: one statement). */
  private async finish(row: ClaimedRow, outcome: Outcome): Promise<void> {
    const { pool, hooks, logger } = this.options;
    const reason = outcome.status === 'failed' ? outcome.reason : null;
    const mark = async (db: pg.Pool | pg.PoolClient) => {
      if (outcome.status === 'sent') return markSent(db, this.instanceId, row.id, outcome.partsSent, outcome.last, outcome.summary);
      return { held: await markFailed(db, this.instanceId, row.id, outcome.reason, outcome.countAttempt), sentAt: null };
    };
    const markWithHooks = () =>
      withTransaction(pool, async (tx) => {
        const marked = await mark(tx);
        if (marked.held) await hooks.run(tx, { row, status: outcome.status, reason, sentAt: marked.sentAt }, logger);
        return marked;
      });
    const result = await this.persist(hooks.outcomeHooks(row.type).length === 0 ? () => mark(pool) : markWithHooks);
    if (!result.held) logger.warn({ id: row.id }, 'row was taken over by another dispatcher (lease expired) before it could be marked');
    this.held.delete(row.id);
  }

  /** Keeps the leases of held rows alive while the drain waits (pacing) or sends. */
  private renewLeases(): void {
    if (this.held.size === 0 || this.mode.name === 'stopping') return;
    extendLeases(this.options.pool, this.instanceId, [...this.held], this.options.dispatch.leaseMs).catch((err: Error) =>
      this.options.logger.debug({ err: err.message }, 'could not renew leases (each send proves its claim anyway)'),
    );
  }

  private async releaseHeld(except: number | null = null): Promise<void> {
    const ids = [...this.held].filter((id) => id !== except);
    if (ids.length === 0) return;
    await releaseRows(this.options.pool, this.instanceId, ids);
    for (const id of ids) this.held.delete(id);
  }

  /** Wakes for the earliest retry or scheduled row; new rows arrive through triggers. */
  private async scheduleWakeUp(): Promise<void> {
    if (this.mode.name !== 'idle' || !this.options.transport.isReady()) return; // a hold set its own timer (none when paused until resumed)
    const at = await nextWakeUp(this.options.pool, this.session);
    // At least 250 ms: a due row that could not be claimed just now is locked by another dispatcher's claim.
    if (at) this.setWakeTimer(Math.max(250, at.getTime() - Date.now() + 20));
  }

  private setWakeTimer(delayMs: number): void {
    if (this.mode.name === 'stopping') return;
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.wakeTimer = setTimeout(() => {
      this.wakeTimer = null;
      this.trigger('wake-up');
    }, Math.min(delayMs, 2 ** 31 - 1));
    this.wakeTimer.unref();
  }
}
