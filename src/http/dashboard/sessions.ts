/**
 * Dashboard sign-in sessions: a person signs in with an API key once, and the browser then holds only
 * a random session id in an `HttpOnly`, `SameSite=Strict` cookie that expires. Each session has its
 * own CSRF token, which every change made through the session must carry (`X-CSRF-Token`). Sessions
 * live in this process: a restart signs everyone out.
 */
import { randomBytes } from 'node:crypto';

export const SESSION_COOKIE = 'cicero_wa_session';
/** How long a sign-in lasts. */
export const SESSION_TTL_MS = 8 * 60 * 60 * 1000;

export interface DashboardSession {
  id: string;
  /** What the key signed in with allows. */
  level: 'full' | 'read';
  csrf: string;
  expiresAt: number;
}

export class DashboardSessions {
  private readonly sessions = new Map<string, DashboardSession>();

  constructor(private readonly now: () => number = Date.now) {}

  create(level: 'full' | 'read'): DashboardSession {
    this.prune();
    const session = { id: randomBytes(32).toString('base64url'), level, csrf: randomBytes(24).toString('base64url'), expiresAt: this.now() + SESSION_TTL_MS };
    this.sessions.set(session.id, session);
    return session;
  }

  /** The live session a Cookie header names, if any. */
  fromCookie(header: string | undefined): DashboardSession | null {
    const id = cookieValue(header, SESSION_COOKIE);
    if (!id) return null;
    const session = this.sessions.get(id);
    if (!session) return null;
    if (session.expiresAt <= this.now()) {
      this.sessions.delete(id);
      return null;
    }
    return session;
  }

  remove(id: string): void {
    this.sessions.delete(id);
  }

  private prune(): void {
    const now = this.now();
    for (const [id, session] of this.sessions) if (session.expiresAt <= now) this.sessions.delete(id);
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
export function sessionCookie(session: DashboardSession, https: boolean): string {
  return `${SESSION_COOKIE}=${session.id}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${Math.floor(SESSION_TTL_MS / 1000)}${https ? '; Secure' : ''}`;
}

export const clearedCookie = (https: boolean): string => `${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0${https ? '; Secure' : ''}`;
