/**
 * The outbox maintenance, off the hot path: one shared job (`outbox-maintenance`, every minute, once per
 * slot across instances through the run ledger) and once at start-up. Session by session, each statement
 * scoped to that session:
 *
 * - rows whose holder stopped (lease expired) are pending again, or sent with an unknown outcome when
 *   their every part went to WhatsApp (never sent again), with the outcome hooks in that transaction;
 *   a row a dispatcher of this process holds right now is never taken from it (whatever a stall did to
 *   its lease);
 * - statuses written by other programs are normalised (`queued` → pending…), what is left is logged;
 * - sends unknown past WA_CONFIRM_TIMEOUT_MS are flagged unconfirmed, the risk charged to their session;
 * - sent rows whose summary is behind their hand-overs are recomputed;
 * - sent rows left with a rejected part go back to the retry path;
 * - first, the digests whose window has closed are composed (outbox/digests.ts), then rows written
 *   without a session are routed (a new digest among them); last, failover moves the rows that may move
 *   off each number that cannot send (routing.ts).
 *
 * Rows it puts back wake every dispatcher (NOTIFY); sends it recovers with an unknown outcome wake that
 * session's confirmer, in whichever process runs it (the NOTIFY's payload), which looks for them in their
 * chats.
 */
import type pg from 'pg';
import type { Config } from '../config/index.js';
import type { Governor } from '../governor/governor.js';
import type { JobHandler } from '../jobs.js';
import { systemClock, type Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import { composeDigests, type DigestSettings } from '../outbox/digests.js';
import { recoveredUnknownPayload, wakeDispatchers } from '../outbox/channel.js';
import { healSummaries, requeueRejected } from '../outbox/hand-overs.js';
import type { OutcomeHooks } from '../outbox/outcomes.js';
import { normaliseStatuses, recoverExpiredLeases } from '../outbox/row-status.js';
import { sessionsToMaintain } from '../outbox/sessions.js';
import { retryPolicy } from './retry-policy.js';
import { Router } from './routing.js';
import { expireUnconfirmed } from './unconfirmed.js';

export interface MaintenanceOptions {
  pool: pg.Pool;
  logger: Logger;
  dispatch: Config['dispatch'];
  hooks: OutcomeHooks;
  governor: Governor | null;
  defaultCountryCode?: string;
  /** The router (default: one on this pool, with `dispatch.failoverAfterMs`). */
  router?: Router;
  /** The rows this process's dispatchers hold right now: theirs, whatever a stall did to their leases (none: no dispatcher here). */
  heldHere?: () => readonly number[];
  /** The digests' windows and zone (none: no digests are composed, their messages wait). */
  digests?: DigestSettings | null;
  /** When a digest's window has closed (default: the system clock). */
  clock?: Clock;
}

/** What one run did, per kind of work, over every session. */
export interface MaintenanceResult {
  sessions: number;
  recoveredPending: number;
  recoveredSent: number;
  normalised: number;
  unconfirmed: number;
  healed: number;
  requeued: number;
  /** Rows without a session routed (or placed to wait, or failed at once). */
  routed: number;
  /** Rows moved off a number that cannot send. */
  moved: number;
  /** Digest rows written, and the messages folded into them. */
  digests: number;
  folded: number;
}

export class OutboxMaintenance {
  /** The odd statuses last reported per session, so the warning is logged once per change. */
  private readonly lastOdd = new Map<string, string>();

  private readonly router: Router;

  constructor(private readonly options: MaintenanceOptions) {
    this.router = options.router ?? new Router({
      pool: options.pool, logger: options.logger, defaultCountryCode: options.defaultCountryCode ?? '62',
      failoverAfterMs: options.dispatch.failoverAfterMs, hooks: options.hooks,
    });
  }

  /** One run over every session the outbox has work for. */
  async run(): Promise<MaintenanceResult> {
    const { pool, dispatch, digests } = this.options;
    // Digests first (a new one is routed next), then routing: a row without a session gets one (then its
    // session's maintenance normalises its status).
    const composed = digests ? await composeDigests(pool, digests, (this.options.clock ?? systemClock).now()) : null;
    if (composed && composed.plain > 0) this.options.logger.warn({ rows: composed.plain }, 'outbox rows with a digest key that cannot be folded are sent as plain messages (the reason is in last_error)');
    const routing = await this.router.routeUnrouted();
    const sessions = await sessionsToMaintain(pool, dispatch.confirmTimeoutMs);
    const total: MaintenanceResult = {
      sessions: sessions.length, recoveredPending: 0, recoveredSent: 0, normalised: 0, unconfirmed: 0, healed: 0, requeued: 0,
      routed: routing.routed + routing.waiting + routing.failed, moved: 0, digests: composed?.digests ?? 0, folded: composed?.folded ?? 0,
    };
    for (const session of sessions) {
      const done = await this.maintain(session);
      for (const key of Object.keys(done) as Array<keyof typeof done>) total[key] += done[key];
    }
    // After the leases are recovered: a row a stopped holder left is pending again and may move.
    total.moved = (await this.router.failover()).moved;
    // A row recovered as sent may be the leader a follower waits for: every put-back wakes the dispatchers.
    if (total.recoveredPending + total.recoveredSent + total.normalised + total.requeued + (composed?.plain ?? 0) > 0) await wakeDispatchers(pool);
    for (const session of this.lastOdd.keys()) if (!sessions.includes(session)) this.lastOdd.delete(session);
    return total;
  }

  /** The outbox-maintenance job. */
  job(): JobHandler {
    return async () => {
      const r = await this.run();
      return {
        detail:
          `${r.sessions} session(s): ${r.recoveredPending} row(s) of a stopped holder pending again, ${r.recoveredSent} sent with an unknown outcome, ` +
          `${r.normalised} status(es) normalised, ${r.unconfirmed} send(s) flagged unconfirmed, ${r.healed} summary(ies) recomputed, ${r.requeued} rejected row(s) retried, ` +
          `${r.routed} row(s) without a session routed, ${r.moved} moved off a number that cannot send, ${r.digests} digest(s) of ${r.folded} message(s) composed`,
      };
    };
  }

  /**
   * A session this process (`owner`) just took: the rows its former holder still held are put back now
   * (it can no longer prove the session's fence), not when their leases end.
   */
  async recoverTakenSession(session: string, owner: string): Promise<void> {
    await this.recover(session, owner);
  }

  private async recover(session: string, takenBy: string | null): Promise<{ pending: number; sent: number }> {
    const { pool, logger, hooks } = this.options;
    const recovered = await recoverExpiredLeases(
      pool,
      session,
      async (tx, sent) => {
        for (const row of sent) await hooks.run(tx, { row, status: 'sent', reason: null, sentAt: row.sentAt }, logger);
      },
      this.options.heldHere?.() ?? [],
      takenBy,
    );
    if (recovered.pending > 0) logger.warn({ session, rows: recovered.pending }, 'rows whose dispatcher stopped while holding them are pending again');
    if (recovered.sent > 0) {
      logger.warn({ session, rows: recovered.sent }, 'rows whose dispatcher stopped during the hand-over are sent with an unknown outcome (not sent again)');
      // The session's confirmer, in whichever process runs it, looks for them in their chats.
      await wakeDispatchers(pool, recoveredUnknownPayload(session));
    }
    return recovered;
  }

  private async maintain(session: string): Promise<Omit<MaintenanceResult, 'sessions' | 'routed' | 'moved' | 'digests' | 'folded'>> {
    const { pool, logger, dispatch, hooks, governor } = this.options;
    const recovered = await this.recover(session, null);
    const { normalised, odd } = await normaliseStatuses(pool, session);
    this.reportOdd(session, odd);
    const unconfirmed = await expireUnconfirmed({ pool, session, confirmTimeoutMs: dispatch.confirmTimeoutMs, logger, governor });
    const healed = await healSummaries(pool, session);
    const requeued = await requeueRejected(pool, session, retryPolicy(dispatch, hooks, logger));
    return { recoveredPending: recovered.pending, recoveredSent: recovered.sent, normalised, unconfirmed, healed, requeued };
  }

  private reportOdd(session: string, odd: Array<{ status: string | null; rows: number }>): void {
    const signature = odd.map((o) => `${o.status}:${o.rows}`).join();
    if (odd.length > 0 && signature !== this.lastOdd.get(session)) {
      this.options.logger.warn(
        { session, statuses: odd.map((o) => ({ status: o.status, rows: o.rows })) },
        'outbox rows with a status the service does not know are left alone: see them with cicero-wa outbox list --status other; cicero-wa outbox retry <id> sends one',
      );
    }
    this.lastOdd.set(session, signature);
  }
}
