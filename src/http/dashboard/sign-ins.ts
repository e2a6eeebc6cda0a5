/**
 * Dashboard sign-ins: a person signs in with an API key once, and the browser then holds only a random
 * token in an `HttpOnly`, `SameSite=Strict` cookie that expires. Each sign-in has its own CSRF token,
 * which every change made through it must carry (`X-CSRF-Token`). Sign-ins are kept in the database
 * (`http_sign_ins`), so every instance on it knows them and a restart signs nobody out; only the
 * token's sha256 is stored, never the token.
 */
import { createHash, randomBytes } from 'node:crypto';
import type pg from 'pg';

export const SIGN_IN_COOKIE = 'cicero_wa_signin';
/** How long a sign-in lasts. */
export const SIGN_IN_TTL_MS = 8 * 60 * 60 * 1000;
/** What a change through a sign-in is told without its CSRF token. */
export const CSRF_REFUSAL = { error: 'csrf', message: "the request lacks this sign-in's CSRF token (X-CSRF-Token); reload the page" } as const;

export interface SignIn {
  /** The cookie's token (only its sha256 is in the database). */
  id: string;
  /** What the key signed in with allows. */
  level: 'full' | 'read';
  csrf: string;
  expiresAt: number;
}

const digest = (token: string): Buffer => createHash('sha256').update(token).digest();

export class SignIns {
  constructor(private readonly pool: pg.Pool) {}

  async create(level: 'full' | 'read'): Promise<SignIn> {
    await this.prune();
    const id = randomBytes(32).toString('base64url');
    const csrf = randomBytes(24).toString('base64url');
    const { rows } = await this.pool.query<{ expires_at: Date }>(
      `INSERT INTO http_sign_ins (id, level, csrf, expires_at) VALUES ($1, $2, $3, now() + make_interval(secs => $4))
       RETURNING expires_at`,
      [digest(id), level, csrf, SIGN_IN_TTL_MS / 1000],
    );
    return { id, level, csrf, expiresAt: rows[0]!.expires_at.getTime() };
  }

  /** The live sign-in a Cookie header names, if any. */
  async fromCookie(header: string | undefined): Promise<SignIn | null> {
    const id = cookieValue(header, SIGN_IN_COOKIE);
    if (!id) return null;
    const { rows } = await this.pool.query<{ level: 'full' | 'read'; csrf: string; expires_at: Date }>(
      'SELECT level, csrf, expires_at FROM http_sign_ins WHERE id = $1 AND expires_at > now()',
      [digest(id)],
    );
    const row = rows[0];
    return row ? { id, level: row.level, csrf: row.csrf, expiresAt: row.expires_at.getTime() } : null;
  }

  /** Ends a sign-in (its cookie's token), on every instance. */
  async remove(id: string): Promise<void> {
    await this.pool.query('DELETE FROM http_sign_ins WHERE id = $1', [digest(id)]);
  }

  /** Deletes expired sign-ins (on each sign-in and periodically; an expired one is refused anyway). */
  async prune(): Promise<void> {
    await this.pool.query('DELETE FROM http_sign_ins WHERE expires_at <= now()');
  }
}

export function cookieValue(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return rest.join('=') || null;
  }
  return null;
}

/**
 * The sign-in cookie; `Secure` when the browser came over HTTPS (`https`: a trusted proxy's
 * X-Forwarded-Proto, HTTP_TRUST_PROXY), so the browser never sends it over plain HTTP.
 */
export function signInCookie(signIn: SignIn, https: boolean): string {
  return `${SIGN_IN_COOKIE}=${signIn.id}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${Math.floor(SIGN_IN_TTL_MS / 1000)}${https ? '; Secure' : ''}`;
}

export const clearedCookie = (https: boolean): string => `${SIGN_IN_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0${https ? '; Secure' : ''}`;
