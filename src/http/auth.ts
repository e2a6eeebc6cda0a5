/**
 * Who may call what. `API_KEY` gives full access, `API_READ_KEY` read-only access (GET); either is sent
 * as `X-Api-Key: <key>` or `Authorization: Bearer <key>` and compared in constant time. Without
 * `API_KEY` (allowed only when the server listens on loopback) every call is allowed.
 *
 * An address that keeps sending wrong keys is slowed down: after `MAX_FAILURES` failures within a
 * window, its calls get 429 until the window ends, without their keys being looked at.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

/** What a route needs: nothing (health), a read key (or the full key), or the full key. */
export type Access = 'public' | 'read' | 'write';

export type Verdict =
  | { ok: true; level: 'full' | 'read' | 'open' }
  | { ok: false; status: 401 | 403 | 429; error: string; message: string; retryAfterS?: number };

const MAX_FAILURES = 10;
const WINDOW_MS = 60_000;

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
    const blocked = this.blockedFor(address);
    if (blocked > 0) {
      return { ok: false, status: 429, error: 'too_many_failures', message: 'too many requests with a wrong or missing API key from this address; wait and try again', retryAfterS: Math.ceil(blocked / 1000) };
    }
    const level = key === null ? null : sameKey(key, this.keys.full!) ? 'full' : this.keys.read !== null && sameKey(key, this.keys.read) ? 'read' : null;
    if (level === null) {
      this.fail(address);
      return {
        ok: false,
        status: 401,
        error: 'unauthorized',
        message: key === null ? 'an API key is needed: send it as X-Api-Key or Authorization: Bearer' : 'the API key is not valid',
      };
    }
    if (access === 'write' && level === 'read') {
      return { ok: false, status: 403, error: 'forbidden', message: 'the read-only key (API_READ_KEY) cannot change anything; use API_KEY' };
    }
    return { ok: true, level };
  }

  private fail(address: string): void {
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
