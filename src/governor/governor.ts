/**
 * The ban-risk governor of the WhatsApp sessions: before a message goes to WhatsApp, the dispatcher asks
 * for a permit. The answer is yes (the message's place in the budgets is taken, in the database, under
 * a lock on the session, so that instances sharing a session keep one budget), or "not before T,
 * because …": for the whole session (paused, a minute/hour/day budget spent, the warm-up's day spent)
 * or for this message only (quiet hours for a personal chat, the gap before a cold contact, the cold
 * contacts' daily budget, the same text to too many people).
 *
 * It also hears what the session sees (ack errors, numbers not on WhatsApp, failed and unconfirmed
 * sends, disconnects, logouts): a risk score over the last hour; at "high" the session pauses for
 * WA_RISK_COOLING_MINUTES, at "critical" until an operator resumes it.
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { GovernorConfig } from '../config/types.js';
import { withTransaction, type Queryable } from '../db/pool.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import { clearPause, ensureSessionState, noteSend, readSessionState, recordPairing, recordRiskEvent, restartWarmup, riskSince, setPause, setRisk, type SessionState } from './session-state.js';
import { budgetSpent, budgetsLeft, type BudgetLeft, type BudgetWindow } from './budgets.js';
import { holdOf, type Hold } from './holds.js';
import { roomOf, UNLIMITED_ROOM, type Room } from './room.js';
import { freeAt, pruneSends, recordSends, releaseSends, windowCounts, WINDOWS, wroteRecently } from './permitted-sends.js';
import { dailyBudget, isPersonalChat, unitInterval, localDaysBetween, quietUntil, RISK_WEIGHTS, RISK_WINDOW_MS, riskLevel, typingMs, type RiskKind, type RiskLevel } from './policy.js';

export interface SendRequest {
  session: string;
  chatId: string;
  text: string;
  /** Messages this send makes (the parts of a long text). */
  parts: number;
  outboxId?: number | null;
}

export type Permit =
  | { ok: true; reservations: number[]; typingMs: number; cold: boolean }
  /**
   * `message`: this message waits; `session`: every message of the session waits (a budget); `pause`:
   * the session is paused (`until` null: until an operator resumes it).
   */
  | { ok: false; scope: 'session' | 'message' | 'pause'; until: Date | null; reason: string };

export interface GovernorOptions {
  pool: pg.Pool;
  config: GovernorConfig;
  timeZone: string;
  clock: Clock;
  logger: Logger;
}

export interface SessionStatus {
  session: string;
  paused: boolean;
  pauseKind: SessionState['pauseKind'];
  pausedUntil: Date | null;
  pauseReason: string | null;
  riskScore: number;
  riskLevel: RiskLevel;
  /** Day of the warm-up (0 = the first), null when it is over or off. */
  warmupDay: number | null;
  /** Messages allowed in any 24 hours now. */
  dailyBudget: number;
  sentLastDay: number;
  sentLastHour: number;
  /** Room left now in the minute, hour and 24-hour budgets (the day's is the warm-up's day while it is smaller). */
  budgets: Record<BudgetWindow, BudgetLeft>;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
/** Two session-scope advisory lock keys: the governor's namespace and the session's hash. */
const LOCK_NAMESPACE = 4206813224;

export class Governor {
  private lastPrune = 0;

  constructor(private readonly options: GovernorOptions) {}

  get enabled(): boolean {
    return this.options.config.enabled;
  }

  /** May this send go now? Takes its place in the budgets when it may. */
  async permit(request: SendRequest): Promise<Permit> {
    const { config } = this.options;
    if (!config.enabled) return { ok: true, reservations: [], typingMs: 0, cold: false };
    const personal = isPersonalChat(request.chatId);
    const typing = personal ? typingMs(config, request.text) : 0;
    const now = this.options.clock.now();
    const textSha = sha256(request.text);
    const permit = await withTransaction(this.options.pool, async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1::int, hashtext($2))', [LOCK_NAMESPACE | 0, request.session]);
      const state = await this.sessionState(tx, request.session, now);
      const paused = await this.pauseOf(tx, state, now);
      if (paused) return paused;

      if (personal || config.quietHoursGroups) {
        const quietEnd = quietUntil(now, config.quietHours, this.options.timeZone);
        // Quiet hours are for messages nobody asked for: an answer to a chat that just wrote goes.
        const answering = quietEnd !== null && personal && (await wroteRecently(tx, request.session, request.chatId, now, config.replyWindowMs));
        if (quietEnd && !answering) return deny('message', quietEnd, `quiet hours (WA_QUIET_HOURS) for ${personal ? 'personal chats' : 'every chat'}`);
      }

      const counts = await windowCounts(tx, request.session, now, textSha);
      const parts = request.parts;
      const spent = await budgetSpent(tx, config, request.session, now, counts, this.warmupDay(state, now), parts);
      if (spent) return deny('session', spent.until, spent.reason);

      const cold = personal && !(await wroteRecently(tx, request.session, request.chatId, now, config.warmContactDays * 86_400_000));
      if (cold) {
        if (counts.coldDay > 0 && counts.coldDay + parts > config.coldPerDay) {
          return deny('message', await freeAt(tx, request.session, now, WINDOWS.day, counts.coldDay + parts - config.coldPerDay, 'cold'), `${config.coldPerDay} messages a day to people who have not written (WA_COLD_PER_DAY) reached`);
        }
        // Messages to people who have not written go one at a time, a random gap apart; groups and people
        // who wrote keep their pace in between.
        if (counts.lastCold) {
          const [low, high] = config.coldGapMs;
          const gap = Math.round(low + unitInterval(`${request.chatId}|${counts.lastCold.getTime()}`) * (high - low));
          const at = new Date(counts.lastCold.getTime() + gap);
          if (at > now) return deny('message', at, `a gap of ${Math.round(gap / 1000)} s between messages to people who have not written (WA_COLD_GAP_SECONDS)`);
        }
      }
      if (personal && counts.sameTextHour > 0 && counts.sameTextHour + 1 > config.sameTextPerHour) {
        const at = await freeAt(tx, request.session, now, WINDOWS.hour, counts.sameTextHour + 1 - config.sameTextPerHour, 'same-text', textSha);
        return deny('message', at, `the same text to ${config.sameTextPerHour} people in an hour (WA_SAME_TEXT_PER_HOUR) reached`);
      }

      const reservations = await recordSends(
        tx,
        { session: request.session, at: now, chatId: request.chatId, personal, cold, textSha256: textSha, outboxId: request.outboxId ?? null },
        parts,
      );
      await noteSend(tx, request.session, now);
      return { ok: true as const, reservations, typingMs: typing, cold };
    });
    if (now.getTime() - this.lastPrune > WINDOWS.hour) {
      this.lastPrune = now.getTime();
      await pruneSends(this.options.pool, now);
    }
    return permit;
  }

  /** Gives back the places of a send that never reached WhatsApp. */
  async release(reservations: readonly number[]): Promise<void> {
    await releaseSends(this.options.pool, reservations);
  }

  /** Whether the session is paused now, and until when (the dispatcher then claims nothing). */
  async pausedUntil(session: string): Promise<{ until: Date | null; reason: string } | null> {
    if (!this.options.config.enabled) return null;
    const state = await readSessionState(this.options.pool, session);
    if (!state) return null;
    const paused = await this.pauseOf(this.options.pool, state, this.options.clock.now());
    return paused ? { until: paused.until, reason: paused.reason } : null;
  }

  /** A risk signal: recorded, scored over the last hour, and the session paused when the score says so. */
  async observe(session: string, kind: RiskKind, detail: string | null = null): Promise<void> {
    if (!this.options.config.enabled) return;
    const now = this.options.clock.now();
    const { logger, config } = this.options;
    await withTransaction(this.options.pool, async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1::int, hashtext($2))', [LOCK_NAMESPACE | 0, session]);
      const state = await ensureSessionState(tx, session, now);
      await recordRiskEvent(tx, { session, at: now, kind, weight: RISK_WEIGHTS[kind], detail });
      const since = new Date(Math.max(now.getTime() - RISK_WINDOW_MS, state.resumedAt?.getTime() ?? 0));
      const signals = await riskSince(tx, session, since, now);
      const score = signals.reduce((sum, s) => sum + s.weight, 0);
      const level = riskLevel(score);
      await setRisk(tx, session, score, level);
      const why = `risk score ${score} (${level}) from ${signals.map((s) => `${s.count} × ${s.kind}`).join(', ')} in the last hour`;
      if (level === 'critical' && state.pauseKind !== 'critical' && state.pauseKind !== 'operator') {
        await setPause(tx, session, { kind: 'critical', at: now, until: null, reason: `${why}: paused until an operator resumes it (cicero-wa sessions resume ${session})` });
        logger.error({ session, score, level, signals, detail }, `WhatsApp session paused until an operator resumes it: ${why}`);
      } else if (level === 'high' && state.pauseKind === null) {
        const until = new Date(now.getTime() + config.riskCoolingMs);
        await setPause(tx, session, { kind: 'cooling', at: now, until, reason: `${why}: cooling for ${Math.round(config.riskCoolingMs / 60_000)} min (WA_RISK_COOLING_MINUTES)` });
        logger.warn({ session, score, level, signals, until: until.toISOString(), detail }, `WhatsApp session paused to cool down: ${why}`);
      } else {
        logger.info({ session, kind, score, level, detail }, 'risk signal');
      }
    });
  }

  /**
   * A risk signal from any part of the service (a send, a receipt, the connection): `observe` that never
   * throws and never holds up its caller's work; a signal that cannot be recorded is logged.
   */
  async signal(session: string, kind: RiskKind, detail: string | null = null): Promise<void> {
    await this.observe(session, kind, detail).catch((err: Error) => this.options.logger.warn({ err: err.message, session, kind }, 'could not record a risk signal'));
  }

  /** The number seen paired (the warm-up starts at the first pairing, and again for a new number). */
  async notePaired(session: string, number: string | null): Promise<void> {
    if (!this.options.config.enabled) return;
    const now = this.options.clock.now();
    await withTransaction(this.options.pool, async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1::int, hashtext($2))', [LOCK_NAMESPACE | 0, session]);
      await this.sessionState(tx, session, now); // a number that sent before the governor keeps its history
      await recordPairing(tx, session, number, now);
    });
  }

  /** An operator's pause: until resumed. */
  async pause(session: string, reason: string): Promise<void> {
    await setPause(this.options.pool, session, { kind: 'operator', at: this.options.clock.now(), until: null, reason });
    this.options.logger.warn({ session, reason }, 'WhatsApp session paused by an operator');
  }

  /** An operator's resume: the pause ends and the risk score starts afresh. */
  async resume(session: string): Promise<boolean> {
    const resumed = await clearPause(this.options.pool, session, this.options.clock.now(), true);
    if (resumed) this.options.logger.warn({ session }, 'WhatsApp session resumed by an operator');
    return resumed;
  }

  /**
   * What holds back every message of the session now, if anything: its pause, or a budget spent (what
   * the next message would be told). Rows the dispatcher has not asked about yet wait for this; each row
   * it asked about carries its own answer (wa_outbox.deferred_until, deferred_reason).
   */
  async sessionHold(session: string): Promise<Hold | null> {
    if (!this.options.config.enabled) return null;
    const now = this.options.clock.now();
    const state = await readSessionState(this.options.pool, session);
    const paused = state ? await this.pauseOf(this.options.pool, state, now) : null;
    if (paused) return holdOf(paused.until, paused.reason);
    const counts = await windowCounts(this.options.pool, session, now, '');
    const warmupDay = state ? this.warmupDay(state, now) : this.options.config.warmup ? 0 : null;
    const spent = await budgetSpent(this.options.pool, this.options.config, session, now, counts, warmupDay, 1);
    return spent ? holdOf(spent.until, spent.reason) : null;
  }

  /** The room the session has now, for sends to these personal chats, taking none of it (governor/room.ts). */
  async room(session: string, chatIds: readonly string[]): Promise<Room> {
    if (!this.options.config.enabled) return UNLIMITED_ROOM;
    const now = this.options.clock.now();
    const state = await readSessionState(this.options.pool, session);
    const paused = state ? await this.pauseOf(this.options.pool, state, now) : null;
    const warmupDay = state ? this.warmupDay(state, now) : this.options.config.warmup ? 0 : null;
    const { config, timeZone } = this.options;
    return roomOf(this.options.pool, { config, timeZone, session, chatIds, now, paused, warmupDay });
  }

  async status(session: string): Promise<SessionStatus> {
    const now = this.options.clock.now();
    const state = (await readSessionState(this.options.pool, session)) ?? null;
    const paused = state ? await this.pauseOf(this.options.pool, state, now) : null;
    const counts = await windowCounts(this.options.pool, session, now, '');
    const warmupDay = state ? this.warmupDay(state, now) : this.options.config.warmup ? 0 : null;
    return {
      session,
      paused: paused !== null,
      pauseKind: paused ? state!.pauseKind : null,
      pausedUntil: paused?.until ?? null,
      pauseReason: paused?.reason ?? null,
      riskScore: state?.riskScore ?? 0,
      riskLevel: state?.riskLevel ?? 'low',
      warmupDay,
      dailyBudget: dailyBudget(this.options.config, warmupDay),
      sentLastDay: counts.day,
      sentLastHour: counts.hour,
      budgets: budgetsLeft(this.options.config, counts, warmupDay),
    };
  }

  /**
   * The session's state, made on its first use: a session that sent before the governor existed (sent
   * rows in the outbox) counts its warm-up from its first send; a new one from now. A session silent for
   * WA_WARMUP_IDLE_DAYS starts its warm-up again.
   */
  private async sessionState(tx: Queryable, session: string, now: Date): Promise<SessionState> {
    let state = await readSessionState(tx, session);
    if (!state) {
      const { rows } = await tx.query<{ first: Date | null; last: Date | null }>(
        "SELECT min(sent_at) AS first, max(sent_at) AS last FROM wa_outbox WHERE session = $1 AND status = 'sent'",
        [session],
      );
      state = await ensureSessionState(tx, session, rows[0]?.first ?? now, rows[0]?.last ?? null);
    }
    const idleMs = this.options.config.warmupIdleDays * WINDOWS.day;
    const last = state.lastSendAt ?? state.warmupStartedAt;
    if (this.options.config.warmup && last && now.getTime() - last.getTime() > idleMs) {
      await restartWarmup(tx, session, now);
      this.options.logger.warn({ session, lastSend: last.toISOString() }, `no message for more than ${this.options.config.warmupIdleDays} days: the warm-up starts again`);
      state = { ...state, warmupStartedAt: now };
    }
    return state;
  }

  private warmupDay(state: SessionState, now: Date): number | null {
    const schedule = this.options.config.warmup;
    if (!schedule || !state.warmupStartedAt) return null;
    const day = localDaysBetween(state.warmupStartedAt, now, this.options.timeZone);
    return day < schedule.length ? day : null;
  }

  /** The pause in force, if any; a cooling pause that has run its time ends here. */
  private async pauseOf(db: Queryable, state: SessionState, now: Date): Promise<Extract<Permit, { ok: false }> | null> {
    if (state.pauseKind === null) return null;
    if (state.pauseKind === 'cooling' && state.pausedUntil && state.pausedUntil <= now) {
      await clearPause(db, state.session, now, false);
      this.options.logger.info({ session: state.session }, 'WhatsApp session cooled down: sending again');
      return null;
    }
    return deny('pause', state.pausedUntil, `session paused (${state.pauseKind}): ${state.pauseReason ?? 'no reason given'}`);
  }
}

function deny(scope: 'session' | 'message' | 'pause', until: Date | null, reason: string): Extract<Permit, { ok: false }> {
  return { ok: false, scope, until, reason };
}
