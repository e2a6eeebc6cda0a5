/**
 * Who may call what. `API_KEY` gives full access, `API_READ_KEY` read-only access (GET); either is sent
 * as `X-Api-Key: <key>` or `Authorization: Bearer <key>` and compared in constant time. Without
 * `API_KEY` (allowed only when the server listens on loopback) every call is allowed.
 *
 * An address that keeps sending wrong keys is slowed down: after `MAX_FAILURES` failures within a
 * window, its calls with a wrong key or none get 429 until the window ends. The failures are counted in
 * the database (`http_auth_failures`), so every instance on it shares the count. A valid key is never
 * refused this way, so a stranger's guesses cannot lock an operator out.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type pg from 'pg';

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
/** The window, as PostgreSQL reads it. */
const WINDOW = "interval '1 minute'";

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
  constructor(
    private readonly keys: { full: string | null; read: string | null },
    private readonly pool: pg.Pool,
    private readonly maxFailures: number = MAX_FAILURES,
  ) {}

  /** Whether the API asks for keys at all. */
  get enabled(): boolean {
    return this.keys.full !== null;
  }

  async check(access: Access, key: string | null, address: string): Promise<Verdict> {
    if (access === 'public' || !this.enabled) return { ok: true, level: 'open' };
    const level = this.levelOf(key);
    if (level === null) {
      return (
        (await this.failure(address)) ?? {
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
  async identify(key: string, address: string): Promise<'full' | 'read' | null> {
    const level = this.levelOf(key);
    if (level === null) await this.failure(address);
    return level;
  }

  /**
   * Counts a wrong or missing key (or a refused sign-in, which may be a guess too) from an address; past
   * `maxFailures` within the window, the 429 to answer instead is returned. One statement, so instances
   * counting the same address at once add up: a window older than a minute starts again at 1, and the
   * count stops one past the limit.
   */
  async failure(address: string): Promise<Extract<Verdict, { ok: false }> | null> {
    const { rows } = await this.pool.query<{ count: number; left_ms: number }>(
      `INSERT INTO http_auth_failures AS f (address, window_start, count) VALUES ($1, now(), 1)
       ON CONFLICT (address) DO UPDATE SET
         window_start = CASE WHEN f.window_start <= now() - ${WINDOW} THEN now() ELSE f.window_start END,
         count = CASE WHEN f.window_start <= now() - ${WINDOW} THEN 1 ELSE LEAST(f.count + 1, $2::int + 1) END
       RETURNING count, ceil(extract(epoch FROM (window_start + ${WINDOW} - now())) * 1000)::int AS left_ms`,
      [address, this.maxFailures],
    );
    const { count, left_ms: left } = rows[0]!;
    if (count <= this.maxFailures) return null;
    return { ok: false, status: 429, error: 'too_many_failures', message: 'too many requests with a wrong or missing API key from this address; wait and try again', retryAfterS: Math.max(1, Math.ceil(left / 1000)) };
  }

  /** Forgets windows that are over (the periodic clean-up); what is left is only addresses that failed in the last minute. */
  async prune(): Promise<void> {
    await this.pool.query(`DELETE FROM http_auth_failures WHERE window_start <= now() - ${WINDOW}`);
  }

  private levelOf(key: string | null): 'full' | 'read' | null {
    if (key === null || this.keys.full === null) return null;
    if (sameKey(key, this.keys.full)) return 'full';
    return this.keys.read !== null && sameKey(key, this.keys.read) ? 'read' : null;
  }
}
