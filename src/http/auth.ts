/**
 * Who may call what. `API_KEY` gives full access, `API_READ_KEY` read-only access (GET); either is sent
 * as `X-Api-Key: <key>` or `Authorization: Bearer <key>` and compared in constant time. Without
 * `API_KEY` (allowed only when the server listens on loopback) every call is allowed.
 *
 * An address that keeps sending wrong keys is slowed down: after `MAX_FAILURES` failures within a
 * window, its calls with a wrong key or none get 429 until the window ends. A valid key is never
 * refused this way, so a stranger's guesses cannot lock an operator out.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * What a route needs: nothing (health), a read key (or the full key), the full key to change something,
 * or the full key to read a credential (`secret`: the QR code that links a phone to the number).
 */
export type Access = 'public' | 'read' | 'write' | 'secret';

/** What a caller may do: everything (`full`), read (`read`), or everything with no key asked (`open`). */
export type Level = 'full' | 'read' | 'open';

export type Verdict =
  | { ok: true; level: Level }
  | { ok: false; status: 401 | 403 | 429; error: string; message: string; retryAfterS?: number };

const MAX_FAILURES = 10;
const WINDOW_MS = 60_000;

/** Why read-only access is refused a route, for a key or a dashboard sign-in. */
export function readOnlyRefusal(access: 'write' | 'secret', signedIn: boolean): string {
  const who = signedIn ? 'signed in with the read-only key (API_READ_KEY)' : 'the read-only key (API_READ_KEY)';
  return access === 'secret'
    ? `${who}: the QR code and the pairing code link a phone to this WhatsApp number, so only API_KEY (or a dashboard sign-in with it) may get them`
    : signedIn
      ? `${who}: nothing can be changed`
      : `${who} cannot change anything; use API_KEY`;
}

/** The key a request carries, from X-Api-Key or a Bearer token; null when none. */
export function presentedKey(headers: Record<string, string | string[] | undefined>): string | null {
  const header = headers['x-api-key'];
  const direct = Array.isArray(header) ? header[0] : header;
  if (direct) return direct;
  const authorization = headers.authorization;
  const value = Array.isArray(authorization) ? authorization[0] : authorization;
  const match = value ? /^Bearer\s+(\S+)\s*$/i.exec(value) : null;
  return match ? match[1]! : null;
}

/** Equal keys, in time that does not depend on where they differ (digests make the lengths equal). */
function sameKey(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

export class Authenticator {
  private readonly failures = new Map<string, { count: number; since: number }>();

  constructor(
    private readonly keys: { full: string | null; read: string | null },
    private readonly maxFailures: number = MAX_FAILURES,
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether the API asks for keys at all. */
  get enabled(): boolean {
    return this.keys.full !== null;
  }

  check(access: Access, key: string | null, address: string): Verdict {
    if (access === 'public' || !this.enabled) return { ok: true, level: 'open' };
    const level = this.levelOf(key);
    if (level === null) {
      return (
        this.failure(address) ?? {
          ok: false,
          status: 401,
          error: 'unauthorized',
          message: key === null ? 'an API key is needed: send it as X-Api-Key or Authorization: Bearer' : 'the API key is not valid',
        }
      );
    }
    if (access !== 'read' && level === 'read') return { ok: false, status: 403, error: 'forbidden', message: readOnlyRefusal(access, false) };
    return { ok: true, level };
  }

  /** What a key presented where none is needed (health) allows; a wrong one counts as a failure. */
  identify(key: string, address: string): 'full' | 'read' | null {
    const level = this.levelOf(key);
    if (level === null) this.failure(address);
    return level;
  }

  /**
   * Counts a wrong or missing key (or a refused sign-in, which may be a guess too) from an address; once
   * the address is blocked, nothing more is counted and the 429 to answer instead is returned.
   */
  failure(address: string): Extract<Verdict, { ok: false }> | null {
    const blocked = this.blockedFor(address);
    if (blocked > 0) {
      return { ok: false, status: 429, error: 'too_many_failures', message: 'too many requests with a wrong or missing API key from this address; wait and try again', retryAfterS: Math.ceil(blocked / 1000) };
    }
    this.recordFailure(address);
    return null;
  }

  private levelOf(key: string | null): 'full' | 'read' | null {
    if (key === null || this.keys.full === null) return null;
    if (sameKey(key, this.keys.full)) return 'full';
    return this.keys.read !== null && sameKey(key, this.keys.read) ? 'read' : null;
  }

  private recordFailure(address: string): void {
    const now = this.now();
    const entry = this.failures.get(address);
    if (!entry || now - entry.since >= WINDOW_MS) this.failures.set(address, { count: 1, since: now });
    else entry.count++;
    if (this.failures.size > 10_000) this.prune(now);
  }

  /** Milliseconds an address still has to wait; 0 when it is not blocked. */
  private blockedFor(address: string): number {
    const entry = this.failures.get(address);
    if (!entry) return 0;
    const left = entry.since + WINDOW_MS - this.now();
    if (left <= 0) {
      this.failures.delete(address);
      return 0;
    }
    return entry.count >= this.maxFailures ? left : 0;
  }

  private prune(now: number): void {
    for (const [address, entry] of this.failures) if (now - entry.since >= WINDOW_MS) this.failures.delete(address);
  }
}
