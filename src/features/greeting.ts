/**
 * The greeting for the time of day in CRON_TIMEZONE, as Cicero_V2's messages open: "Selamat pagi"
 * 04:00–10:59, "siang" 11:00–14:59, "sore" 15:00–17:59, "malam" otherwise. Complaint replies write it
 * in lower case after "Selamat", the engagement reminders capitalised ("Selamat Sore").
 */
import { zonedParts } from '../lib/zoned-time.js';

export type DayPart = 'pagi' | 'siang' | 'sore' | 'malam';

export function dayPart(at: Date, timeZone: string): DayPart {
  const hour = zonedParts(at, timeZone).hour;
  if (hour >= 4 && hour < 11) return 'pagi';
  if (hour >= 11 && hour < 15) return 'siang';
  if (hour >= 15 && hour < 18) return 'sore';
  return 'malam';
}

/** "Selamat pagi" (or, capitalised, "Selamat Pagi") for the hour of `at` in the zone. */
export function greeting(at: Date, timeZone: string, options: { capitalised?: boolean } = {}): string {
  const part = dayPart(at, timeZone);
  return `Selamat ${options.capitalised ? part[0]!.toUpperCase() + part.slice(1) : part}`;
}
