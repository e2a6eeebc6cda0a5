/**
 * Reading variables: each reader returns the default when its variable is unset, and records a problem
 * (naming the variable, its value with any password masked, and what is allowed) when it is set to
 * something it cannot take, an empty value included. Every problem is reported at once.
 */
import net from 'node:net';
import cron from 'node-cron';
import { maskUrlPassword, parseAuthStoreKey } from './secrets.js';
import type { AllowedHost } from './types.js';

export type Env = Record<string, string | undefined>;

/** A schedule: a validated node-cron expression, or null when the job is switched off. */
export type CronExpression = string | null;

/**
 * Collects problems while reading variables, so every bad value is reported at once.
 * Each reader returns the default when the variable is unset; an empty string counts as set.
 */
/** A daily window in minutes after midnight; start after end means it passes midnight. */
export interface DailyWindow {
  startMinute: number;
  endMinute: number;
}

function parseDailyWindow(text: string): DailyWindow | null {
  const match = /^\s*([01]\d|2[0-3]):([0-5]\d)\s*-\s*([01]\d|2[0-3]):([0-5]\d)\s*$/.exec(text);
  if (!match) return null;
  const window = { startMinute: Number(match[1]) * 60 + Number(match[2]), endMinute: Number(match[3]) * 60 + Number(match[4]) };
  return window.startMinute === window.endMinute ? null : window;
}

const HOST_NAME = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;

/**
 * A host with an optional port, as in a Host header or HTTP_ALLOWED_HOSTS ("wa.example", "10.0.0.5:8080",
 * "[fd00::2]:8080"): the name in lower case (an IPv6 address without brackets) and the port, or what is
 * wrong with it.
 */
export function splitHostPort(text: string): AllowedHost | string {
  const value = text.trim().toLowerCase();
  const bracketed = /^\[([^\]]*)\](?::(\d*))?$/.exec(value);
  const plain = bracketed ? null : /^([^:]*)(?::(\d*))?$/.exec(value);
  const name = bracketed?.[1] ?? plain?.[1] ?? '';
  const portText = bracketed ? bracketed[2] : plain?.[2];
  if (bracketed ? !net.isIPv6(name) : !plain || !(net.isIPv4(name) || HOST_NAME.test(name))) {
    return 'is not a host name or address (an IPv6 address goes in brackets: [fd00::2]:8080)';
  }
  if (portText === undefined) return { name, port: null };
  const port = Number(portText);
  if (!/^\d{1,5}$/.test(portText) || port < 1 || port > 65535) return 'has a port outside 1 to 65535';
  return { name, port };
}

/** Proxy-addr's names for address ranges, an address, or an address with its prefix length. */
function isProxyAddress(text: string): boolean {
  if (['loopback', 'linklocal', 'uniquelocal'].includes(text)) return true;
  const [address = '', prefix, ...rest] = text.split('/');
  const family = net.isIP(address);
  if (family === 0 || rest.length > 0) return false;
  return prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128));
}

export class EnvReader {
  readonly problems: string[] = [];

  constructor(private readonly env: Env) {}

  /**
   * The variable's value, or undefined when it is unset. A variable set to nothing (or only spaces) is
   * refused the same way for every variable: unset it to get the default.
   */
  private raw(name: string, unsetMeans: string): string | undefined {
    const value = this.env[name];
    if (value !== undefined && value.trim() === '') {
      this.problems.push(`${name}=${JSON.stringify(value)} is invalid: it is empty; unset it for the default (${unsetMeans}), or give a value`);
      return undefined;
    }
    return value;
  }

  /**
   * A variable that had another name before: read under its name, else under the old one (so an
   * existing .env keeps working). Both set to different values is refused, naming both.
   */
  renamed<T>(name: string, oldName: string, read: (variable: string) => T): T {
    const value = this.env[name];
    const old = this.env[oldName];
    if (value === undefined && old !== undefined) return read(oldName);
    if (value !== undefined && old !== undefined && value !== old) {
      this.problems.push(
        `${name}=${JSON.stringify(value)} and ${oldName}=${JSON.stringify(old)} are both set, to different values: ${oldName} is the old name of ${name}; keep ${name} only`,
      );
    }
    return read(name);
  }

  private problem(name: string, value: string, allowed: string, mask = false): void {
    const shown = mask ? maskUrlPassword(value) : value;
    this.problems.push(`${name}=${JSON.stringify(shown)} is invalid: ${allowed}`);
  }

  string(name: string, fallback: string, pattern?: { re: RegExp; allowed: string }): string {
    const value = this.raw(name, fallback);
    if (value === undefined) return fallback;
    if (pattern && !pattern.re.test(value)) {
      this.problem(name, value, pattern.allowed);
      return fallback;
    }
    return value;
  }

  optionalString(name: string, unsetMeans: string): string | null {
    return this.raw(name, unsetMeans) ?? null;
  }

  integer(name: string, fallback: number, min: number, max: number): number {
    const value = this.raw(name, String(fallback));
    if (value === undefined) return fallback;
    const trimmed = value.trim();
    const parsed = /^-?\d+$/.test(trimmed) ? Number(trimmed) : Number.NaN;
    if (!Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
      this.problem(name, value, `expected a whole number from ${min} to ${max}`);
      return fallback;
    }
    return parsed;
  }

  /** A TCP port (0: any free one, said in the log), or `off` (null). */
  portOrOff(name: string, fallback: number): number | null {
    const value = this.raw(name, String(fallback));
    if (value === undefined) return fallback;
    if (value.trim().toLowerCase() === 'off') return null;
    const parsed = /^\d+$/.test(value.trim()) ? Number(value.trim()) : Number.NaN;
    if (!Number.isSafeInteger(parsed) || parsed > 65535) {
      this.problem(name, value, 'expected a port from 1 to 65535 (0: any free port), or "off"');
      return fallback;
    }
    return parsed;
  }

  /** A secret (an API key): never shown in a problem, only described. */
  optionalSecret(name: string, minLength: number, unsetMeans: string): string | null {
    const value = this.raw(name, unsetMeans);
    if (value === undefined) return null;
    if (value.length < minLength || /\s/.test(value)) {
      this.problems.push(`${name} is invalid (value not shown): expected at least ${minLength} characters without spaces, e.g. from \`openssl rand -hex 32\``);
      return null;
    }
    return value;
  }

  /**
   * An AES-256 key (WA_AUTH_STORE_KEY): 64 hex characters or base64 of 32 bytes; never shown in a
   * problem. `needed`: a problem when it is unset too, saying why.
   */
  aesKey(name: string, needed: string | null): Buffer | null {
    const value = this.raw(name, needed ? 'none' : 'no key');
    if (value === undefined) {
      if (needed && this.env[name] === undefined) this.problems.push(`${name} is required ${needed}: set it to 64 hex characters from \`openssl rand -hex 32\` (keep it safe: without it the stored logins cannot be opened)`);
      return null;
    }
    const key = parseAuthStoreKey(value);
    if (!key) this.problems.push(`${name} is invalid (value not shown): expected 64 hex characters (32 bytes, e.g. from \`openssl rand -hex 32\`) or the base64 of 32 bytes (\`openssl rand -base64 32\`)`);
    return key;
  }

  /** Whole numbers separated by commas, each from min to max, rising (e.g. a warm-up schedule). */
  risingIntegers(name: string, fallback: readonly number[], min: number, max: number): number[] {
    const value = this.raw(name, fallback.join(','));
    if (value === undefined) return [...fallback];
    const parts = value.split(',').map((p) => p.trim());
    const numbers = parts.map((p) => (/^\d+$/.test(p) ? Number(p) : Number.NaN));
    const rising = numbers.every((n, i) => i === 0 || n > numbers[i - 1]!);
    if (numbers.length === 0 || numbers.some((n) => !Number.isSafeInteger(n) || n < min || n > max) || !rising) {
      this.problem(name, value, `expected whole numbers from ${min} to ${max}, rising, separated by commas (e.g. ${fallback.join(',')})`);
      return [...fallback];
    }
    return numbers;
  }

  /**
   * "name:number" pairs separated by commas (e.g. "cicero-log:30,other:5"), each name matching `key` and
   * named once, each number from min to max; unset: none.
   */
  keyedIntegers(name: string, key: RegExp, keyIs: string, min: number, max: number): Record<string, number> {
    const value = this.raw(name, 'none');
    if (value === undefined) return {};
    const pairs: Record<string, number> = {};
    for (const item of value.split(',')) {
      const match = /^\s*([^:\s]+(?::[^:\s]+)*):(\d+)\s*$/.exec(item);
      const keyName = match?.[1] ?? '';
      const number = match ? Number(match[2]) : Number.NaN;
      if (!match || !key.test(keyName)) {
        this.problem(name, value, `"${item.trim()}" is not "key:minutes", the key ${keyIs}, e.g. cicero-log:30`);
        return {};
      }
      if (!Number.isSafeInteger(number) || number < min || number > max) {
        this.problem(name, value, `"${item.trim()}": the minutes must be a whole number from ${min} to ${max}`);
        return {};
      }
      if (Object.hasOwn(pairs, keyName)) {
        this.problem(name, value, `"${keyName}" is named twice`);
        return {};
      }
      pairs[keyName] = number;
    }
    return pairs;
  }

  /** A range of whole numbers "A-B" (A ≤ B), each from min to max. */
  integerRange(name: string, fallback: readonly [number, number], min: number, max: number): [number, number] {
    const value = this.raw(name, fallback.join('-'));
    if (value === undefined) return [fallback[0], fallback[1]];
    const match = /^\s*(\d+)\s*-\s*(\d+)\s*$/.exec(value);
    const [low, high] = match ? [Number(match[1]), Number(match[2])] : [Number.NaN, Number.NaN];
    if (!(low >= min && high <= max && low <= high)) {
      this.problem(name, value, `expected a range "A-B" of whole numbers from ${min} to ${max}, A not above B (e.g. ${fallback.join('-')})`);
      return [fallback[0], fallback[1]];
    }
    return [low, high];
  }

  /** Times of day "HH:MM-HH:MM" (may pass midnight), as minutes after midnight; "off": null. */
  dailyWindowOrOff(name: string, fallback: string): DailyWindow | null {
    const value = this.raw(name, `${fallback}; "off" for none`);
    if (value === undefined) return parseDailyWindow(fallback)!;
    if (value.trim().toLowerCase() === 'off') return null;
    const window = parseDailyWindow(value);
    if (!window) {
      this.problem(name, value, `expected "HH:MM-HH:MM" (24-hour, start and end different; may pass midnight, e.g. ${fallback}) or "off"`);
      return parseDailyWindow(fallback)!;
    }
    return window;
  }

  /** A time of day "HH:MM" (24-hour), as minutes after midnight. */
  timeOfDay(name: string, fallback: string): number {
    const value = this.raw(name, fallback);
    const parse = (text: string) => {
      const match = /^\s*([01]\d|2[0-3]):([0-5]\d)\s*$/.exec(text);
      return match ? Number(match[1]) * 60 + Number(match[2]) : null;
    };
    if (value === undefined) return parse(fallback)!;
    const minutes = parse(value);
    if (minutes === null) {
      this.problem(name, value, `expected a time of day "HH:MM" (24-hour, e.g. ${fallback})`);
      return parse(fallback)!;
    }
    return minutes;
  }

  boolean(name: string, fallback: boolean): boolean {
    const value = this.raw(name, String(fallback));
    if (value === undefined) return fallback;
    const normalised = value.trim().toLowerCase();
    if (['true', '1', 'yes', 'on'].includes(normalised)) return true;
    if (['false', '0', 'no', 'off'].includes(normalised)) return false;
    this.problem(name, value, 'expected true or false');
    return fallback;
  }

  oneOf<T extends string>(name: string, fallback: T, allowed: readonly T[]): T {
    const value = this.raw(name, fallback);
    if (value === undefined) return fallback;
    const normalised = value.trim().toLowerCase();
    if (!(allowed as readonly string[]).includes(normalised)) {
      this.problem(name, value, `expected one of ${allowed.join(', ')}`);
      return fallback;
    }
    return normalised as T;
  }

  timezone(name: string, fallback: string): string {
    const value = this.raw(name, fallback);
    if (value === undefined) return fallback;
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: value.trim() });
      return value.trim();
    } catch {
      this.problem(name, value, 'expected an IANA time zone such as Asia/Jakarta or UTC');
      return fallback;
    }
  }

  cronSchedule(name: string, fallback: string): CronExpression {
    const value = this.raw(name, `${fallback}; "off" switches the job off`);
    if (value === undefined) return fallback;
    const trimmed = value.trim();
    if (trimmed.toLowerCase() === 'off') return null;
    const result = cron.validateDetailed(trimmed);
    if (!result.valid) {
      const reasons = result.errors.map((e) => e.message).join('; ');
      this.problem(name, value, `${reasons}; expected a node-cron expression (5 fields, or 6 with seconds) or "off"`);
      return fallback;
    }
    return trimmed;
  }

  /** Digits only (spaces, dashes and a leading + are ignored), min to max of them; unset or empty → null. */
  optionalDigits(name: string, min: number, max: number, unsetMeans: string): string | null {
    const value = this.raw(name, unsetMeans);
    if (value === undefined) return null;
    const digits = value.replace(/[\s\-+]/g, '');
    if (!/^\d+$/.test(digits) || digits.length < min || digits.length > max) {
      this.problem(name, value, `expected a phone number with its country code, ${min} to ${max} digits (e.g. 6281234567890)`);
      return null;
    }
    return digits;
  }

  postgresUrl(name: string): string | null {
    const value = this.raw(name, 'an embedded PostgreSQL under DATA_DIR');
    if (value === undefined) return null;
    let url: URL;
    try {
      url = new URL(value.trim());
    } catch {
      this.problem(name, value, 'expected a URL such as postgres://user:password@host:5432/database', true);
      return null;
    }
    if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
      this.problem(name, value, `scheme "${url.protocol}" is not allowed; expected postgres:// or postgresql://`, true);
      return null;
    }
    if (!url.hostname && !url.searchParams.get('host')) {
      this.problem(name, value, 'has no host; expected postgres://user:password@host:5432/database', true);
      return null;
    }
    return value.trim();
  }

  /** Unset or empty → null; otherwise must match the pattern. */
  optionalPattern(name: string, re: RegExp, allowed: string, unsetMeans: string): string | null {
    const value = this.raw(name, unsetMeans);
    if (value === undefined) return null;
    if (!re.test(value.trim())) {
      this.problem(name, value, allowed);
      return null;
    }
    return value.trim();
  }

  /** Comma-separated http(s) URLs (passwords in them masked when shown); unset → none. */
  urlList(name: string): string[] {
    const value = this.raw(name, 'no webhooks');
    if (value === undefined) return [];
    const urls: string[] = [];
    for (const part of value.split(',').map((p) => p.trim()).filter(Boolean)) {
      let url: URL | null = null;
      try {
        url = new URL(part);
      } catch {
        url = null;
      }
      if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
        this.problem(name, part, 'expected http(s) URLs separated by commas, e.g. https://cicero.example/api/wa-events', true);
        continue;
      }
      urls.push(part);
    }
    return urls;
  }

  /** Host names or addresses separated by commas, each with a port when only that port is meant; unset → none. */
  hostList(name: string, unsetMeans: string): AllowedHost[] {
    const value = this.raw(name, unsetMeans);
    if (value === undefined) return [];
    const expected = 'expected host names or addresses separated by commas, each with :port when only that port is meant (e.g. wa.polres.example,10.0.0.5:8080)';
    const parts = value.split(',').map((p) => p.trim()).filter(Boolean);
    if (parts.length === 0) this.problem(name, value, `names no host; ${expected}`);
    const hosts: AllowedHost[] = [];
    for (const part of parts) {
      const host = splitHostPort(part);
      if (typeof host === 'string') this.problem(name, value, `${JSON.stringify(part)} ${host}; ${expected}`);
      else hosts.push(host);
    }
    return hosts;
  }

  /**
   * Whose X-Forwarded-For to believe: `off` (false), how many proxies stand in front (1 to 10), or their
   * addresses. "true" (any address) is refused: any client could then name the address it is counted under.
   */
  proxyTrust(name: string): false | number | string[] {
    const value = this.raw(name, 'off');
    if (value === undefined) return false;
    const allowed =
      'expected off, a number of proxies in front of the service (1 to 10), or the proxies\' addresses separated by commas ' +
      '(IP addresses, CIDR ranges such as 10.0.0.0/8, loopback, linklocal, uniquelocal); not "true": any client could then choose the address it is counted under';
    const normalised = value.trim().toLowerCase();
    if (['off', 'false', 'no', '0'].includes(normalised)) return false;
    if (/^\d+$/.test(normalised)) {
      const hops = Number(normalised);
      if (hops >= 1 && hops <= 10) return hops;
      this.problem(name, value, allowed);
      return false;
    }
    const parts = normalised.split(',').map((p) => p.trim()).filter(Boolean);
    if (parts.length === 0 || !parts.every(isProxyAddress)) {
      this.problem(name, value, allowed);
      return false;
    }
    return parts;
  }

  /** A comma-separated subset of `allowed`, or `all`. */
  subset<T extends string>(name: string, allowed: readonly T[]): T[] {
    const value = this.raw(name, 'all');
    if (value === undefined || value.trim().toLowerCase() === 'all') return [...allowed];
    const chosen = value.split(',').map((p) => p.trim()).filter(Boolean);
    const unknown = chosen.filter((c) => !(allowed as readonly string[]).includes(c));
    if (unknown.length > 0 || chosen.length === 0) {
      this.problem(name, value, `expected "all" or some of ${allowed.join(', ')} separated by commas${unknown.length ? ` (unknown: ${unknown.join(', ')})` : ''}`);
      return [...allowed];
    }
    return chosen as T[];
  }

  /** An http(s) URL template holding `{version}`; unset or empty → null. */
  versionUrl(name: string): string | null {
    const value = this.raw(name, 'the local cache');
    if (value === undefined) return null;
    const trimmed = value.trim();
    const allowed = 'expected an http(s) URL with {version} where the build goes, e.g. https://raw.githubusercontent.com/wppconnect-team/wa-version/<commit>/html/{version}.html';
    let url: URL;
    try {
      url = new URL(trimmed.replace('{version}', '2.3000.0'));
    } catch {
      this.problem(name, value, allowed);
      return null;
    }
    if ((url.protocol !== 'https:' && url.protocol !== 'http:') || !trimmed.includes('{version}')) {
      this.problem(name, value, allowed);
      return null;
    }
    return trimmed;
  }

  /** Extra Chromium flags: a JSON array of strings or a comma-separated list, each starting with "--". */
  chromiumFlags(name: string): string[] {
    const value = this.raw(name, 'no extra flags');
    if (value === undefined) return [];
    const trimmed = value.trim();
    let flags: unknown;
    if (trimmed.startsWith('[')) {
      try {
        flags = JSON.parse(trimmed);
      } catch {
        this.problem(name, value, 'looks like JSON but does not parse; expected a JSON array of strings or a comma-separated list of --flags');
        return [];
      }
    } else {
      flags = trimmed.split(',').map((f) => f.trim()).filter((f) => f !== '');
    }
    if (!Array.isArray(flags) || !flags.every((f): f is string => typeof f === 'string' && /^--[a-z0-9]/i.test(f))) {
      this.problem(name, value, 'expected a JSON array of strings or a comma-separated list, each flag starting with "--" (e.g. --disable-gpu,--no-zygote)');
      return [];
    }
    return flags;
  }
}
