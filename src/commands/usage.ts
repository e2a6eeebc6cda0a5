import { instantOf } from '../lib/zoned-time.js';
import { OperatorError } from '../lib/errors.js';

/** A command line the CLI cannot run: exit code 2, with the message and a pointer to --help. */
export class UsageError extends OperatorError {
  override readonly exitCode = 2;

  constructor(message: string) {
    super(message);
  }
}

/** Parses a positive whole number given for `name`, or throws a UsageError naming it. */
export function positiveInteger(name: string, value: string, max = 2 ** 31 - 1): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > max) {
    throw new UsageError(`${name} "${value}" is invalid: expected a whole number from 1 to ${max}`);
  }
  return Number(value);
}

/**
 * A moment given on the command line: `YYYY-MM-DD`, `YYYY-MM-DD HH:MM[:SS]` (or with `T`) in the time
 * zone, or ISO 8601 with its own offset. A bare date is the day's start (`start`) or its end (`end`,
 * i.e. the next day's start, for an exclusive upper bound).
 */
export function parseMoment(name: string, value: string, timeZone: string, bareDate: 'start' | 'end'): Date {
  const allowed = `expected YYYY-MM-DD, "YYYY-MM-DD HH:MM" (in ${timeZone}) or an ISO 8601 time with its offset`;
  const trimmed = value.trim();
  if (/[zZ]$|[+-]\d{2}:?\d{2}$/.test(trimmed) && /T/.test(trimmed)) {
    const at = new Date(trimmed);
    if (Number.isNaN(at.getTime())) throw new UsageError(`${name} "${value}" is invalid: ${allowed}`);
    return at;
  }
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(trimmed);
  if (!m) throw new UsageError(`${name} "${value}" is invalid: ${allowed}`);
  const [year, month, day, hour, minute, second] = [1, 2, 3, 4, 5, 6].map((i) => (m[i] === undefined ? undefined : Number(m[i])));
  const check = new Date(Date.UTC(year!, month! - 1, day!));
  if (check.getUTCMonth() !== month! - 1 || check.getUTCDate() !== day! || (hour ?? 0) > 23 || (minute ?? 0) > 59 || (second ?? 0) > 59) {
    throw new UsageError(`${name} "${value}" is invalid: no such date or time`);
  }
  if (hour === undefined && bareDate === 'end') {
    const next = new Date(Date.UTC(year!, month! - 1, day! + 1));
    return instantOf({ year: next.getUTCFullYear(), month: next.getUTCMonth() + 1, day: next.getUTCDate(), hour: 0, minute: 0 }, timeZone);
  }
  return instantOf({ year: year!, month: month!, day: day!, hour: hour ?? 0, minute: minute ?? 0, second: second ?? 0 }, timeZone);
}

/** `<command> list [--status S] [--limit N]`: validated status (one of `statuses`) and limit (default 50). */
export function parseListOptions<S extends string>(
  command: string,
  rest: string[],
  statuses: readonly S[],
  options: { status?: string; limit?: string },
): { status?: S; limit: number } {
  if (rest.length > 0) throw new UsageError(`${command} list takes no ids (got ${rest.join(' ')})`);
  if (options.status !== undefined && !(statuses as readonly string[]).includes(options.status)) {
    throw new UsageError(`--status "${options.status}" is invalid: expected one of ${statuses.join(', ')}`);
  }
  const limit = options.limit === undefined ? 50 : positiveInteger('--limit', options.limit, 10_000);
  return { ...(options.status !== undefined ? { status: options.status as S } : {}), limit };
}

/** `<command> <action> <id...>`: at least one positive id, and no list options. */
export function parseIds(command: string, action: string, rest: string[], options: { status?: string; limit?: string }): number[] {
  if (options.status !== undefined || options.limit !== undefined) throw new UsageError(`${command} ${action} takes only ids`);
  if (rest.length === 0) throw new UsageError(`${command} ${action} needs at least one id`);
  return rest.map((id) => positiveInteger('id', id));
}
