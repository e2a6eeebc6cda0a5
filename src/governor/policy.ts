/**
 * The governor's rules that need no database: quiet hours in CRON_TIMEZONE, the warm-up's budget for a
 * day, the gap before a cold contact, how long "typing…" shows, and the weight of each risk signal.
 */
import { createHash } from 'node:crypto';
import type { GovernorConfig } from '../config/types.js';
import { zonedParts } from '../lib/zoned-time.js';

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

/** Whether `at` falls in the daily window (in the zone), and if so when the window ends. */
export function quietUntil(at: Date, window: GovernorConfig['quietHours'], timeZone: string): Date | null {
  if (!window) return null;
  const p = zonedParts(at, timeZone);
  const minute = p.hour * 60 + p.minute;
  const { startMinute, endMinute } = window;
  const inside = startMinute < endMinute ? minute >= startMinute && minute < endMinute : minute >= startMinute || minute < endMinute;
  if (!inside) return null;
  // Minutes from now to the end, passing midnight when needed; seconds of the current minute taken off.
  const toEnd = (endMinute - minute + 1440) % 1440;
  return new Date(at.getTime() + toEnd * MINUTE_MS - (p.second * 1000 + (at.getTime() % 1000)));
}

/** Local calendar days from `start` to `at`, in the zone (0 on the day of `start`). */
export function localDaysBetween(start: Date, at: Date, timeZone: string): number {
  const day = (d: Date) => {
    const p = zonedParts(d, timeZone);
    return Date.UTC(p.year, p.month - 1, p.day) / DAY_MS;
  };
  return Math.max(0, day(at) - day(start));
}

/** The daily budget on warm-up day `day` (0 = the first), or the full budget after the schedule. */
export function dailyBudget(config: Pick<GovernorConfig, 'perDay' | 'warmup'>, day: number | null): number {
  if (!config.warmup || day === null || day >= config.warmup.length) return config.perDay;
  return Math.min(config.warmup[day]!, config.perDay);
}

/** "typing…" before a personal message: a second and a bit per 20 characters, up to the cap. */
export function typingMs(config: Pick<GovernorConfig, 'typingMaxMs'>, text: string): number {
  if (config.typingMaxMs <= 0) return 0;
  return Math.min(config.typingMaxMs, 1000 + Math.ceil(text.length / 20) * 250);
}

/** What the session saw that says WhatsApp may be unhappy with the number, and how much each weighs. */
export const RISK_WEIGHTS = {
  /** WhatsApp answered a sent message with an error receipt (ack -1). */
  ack_error: 15,
  /** A number that is not on WhatsApp: sending to lists of unknown numbers is what spammers do. */
  not_on_whatsapp: 10,
  /** A send refused for another reason. */
  send_failed: 4,
  /** A send WhatsApp never confirmed within WA_CONFIRM_TIMEOUT_MS. */
  unconfirmed: 5,
  /** The connection dropped while paired. */
  disconnected: 10,
  /** WhatsApp logged the session out, or asked for a new QR code: a ban or an unlink. */
  logged_out: 100,
} as const;
export type RiskKind = keyof typeof RISK_WEIGHTS;

/** Risk levels by the score of the last hour's signals. */
export const RISK_LEVELS = { medium: 25, high: 50, critical: 100 } as const;
export type RiskLevel = 'low' | 'medium' | 'high' | 'critical';

export function riskLevel(score: number): RiskLevel {
  if (score >= RISK_LEVELS.critical) return 'critical';
  if (score >= RISK_LEVELS.high) return 'high';
  if (score >= RISK_LEVELS.medium) return 'medium';
  return 'low';
}

/** Signals older than this no longer count towards the score. */
export const RISK_WINDOW_MS = 60 * MINUTE_MS;

/** Whether a chat id is a personal chat (a person), not a group. */
export function isPersonalChat(chatId: string): boolean {
  return !chatId.endsWith('@g.us');
}

/** A stable number in [0, 1) from a text: a cold contact's gap, the same on every look. */
export function unitInterval(text: string): number {
  return createHash('sha256').update(text).digest().readUInt32BE(0) / 2 ** 32;
}
