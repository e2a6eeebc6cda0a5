/**
 * Wall-clock time in a time zone (CRON_TIMEZONE): the parts of an instant, and how a person reads it:
 * `2026-11-25 07:00:03 WIB`. Indonesian zones are named as Indonesians name them (WIB, WITA, WIT).
 */

export interface ZonedParts {
  year: number;
  month: number; // 1-12
  day: number;
  hour: number;
  minute: number;
  second: number;
}

const partsFormatters = new Map<string, Intl.DateTimeFormat>();
const nameFormatters = new Map<string, Intl.DateTimeFormat>();

function partsFormatter(timeZone: string): Intl.DateTimeFormat {
  let f = partsFormatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    partsFormatters.set(timeZone, f);
  }
  return f;
}

/** The wall-clock parts of an instant in a zone. */
export function zonedParts(instant: Date, timeZone: string): ZonedParts {
  const parts: Record<string, number> = {};
  for (const p of partsFormatter(timeZone).formatToParts(instant)) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  return { year: parts.year!, month: parts.month!, day: parts.day!, hour: parts.hour!, minute: parts.minute!, second: parts.second! };
}

/** The zone's short name at an instant: WIB, WITA, WIT, UTC, else an offset such as GMT+1. */
export function zoneName(timeZone: string, at: Date = new Date()): string {
  let f = nameFormatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('id-ID', { timeZone, timeZoneName: 'short' });
    nameFormatters.set(timeZone, f);
  }
  return f.formatToParts(at).find((p) => p.type === 'timeZoneName')?.value ?? timeZone;
}

const two = (n: number) => String(n).padStart(2, '0');

/** `2026-11-25 07:00:03 WIB` (or `07:00:03 WIB` with `timeOnly`); `-` for no time. */
export function formatZoned(at: Date | null | undefined, timeZone: string, options: { timeOnly?: boolean; zone?: boolean } = {}): string {
  if (!at) return '-';
  const p = zonedParts(at, timeZone);
  const time = `${two(p.hour)}:${two(p.minute)}:${two(p.second)}`;
  const text = options.timeOnly ? time : `${p.year}-${two(p.month)}-${two(p.day)} ${time}`;
  return options.zone === false ? text : `${text} ${zoneName(timeZone, at)}`;
}

/** The zone's offset from UTC at an instant, in minutes (+420 for WIB). */
export function zoneOffsetMinutes(timeZone: string, at: Date): number {
  const p = zonedParts(at, timeZone);
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return Math.round((asUtc - Math.floor(at.getTime() / 1000) * 1000) / 60_000);
}

/** ISO 8601 with the zone's offset: `2026-11-25T07:00:03.120+07:00` (for JSON output). */
export function isoZoned(at: Date | null | undefined, timeZone: string): string | null {
  if (!at) return null;
  const offset = zoneOffsetMinutes(timeZone, at);
  const local = new Date(at.getTime() + offset * 60_000).toISOString().slice(0, 23);
  const sign = offset < 0 ? '-' : '+';
  const abs = Math.abs(offset);
  return `${local}${sign}${two(Math.floor(abs / 60))}:${two(abs % 60)}`;
}

/** The instant a wall-clock time in a zone stands for (the later one in a repeated hour). */
export function instantOf(parts: Omit<ZonedParts, 'second'> & { second?: number }, timeZone: string): Date {
  const wall = Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute, parts.second ?? 0);
  let guess = wall - zoneOffsetMinutes(timeZone, new Date(wall)) * 60_000;
  guess = wall - zoneOffsetMinutes(timeZone, new Date(guess)) * 60_000;
  return new Date(guess);
}
