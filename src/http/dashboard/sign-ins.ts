/**
 * Dashboard sign-ins: a person signs in with an API key once, and the browser then holds only a random
 * sign-in id in an `HttpOnly`, `SameSite=Strict` cookie that expires. Each sign-in has its own CSRF
 * token, which every change made through it must carry (`X-CSRF-Token`). Sign-ins live in this
 * process: a restart signs everyone out.
 */
import { randomBytes } from 'node:crypto';

export const SIGN_IN_COOKIE = 'cicero_wa_signin';
/** How long a sign-in lasts. */
export const SIGN_IN_TTL_MS = 8 * 60 * 60 * 1000;
/** What a change through a sign-in is told without its CSRF token. */
export const CSRF_REFUSAL = { error: 'csrf', message: "the request lacks this sign-in's CSRF token (X-CSRF-Token); reload the page" } as const;

export interface SignIn {
  id: string;
  /** What the key signed in with allows. */
  level: 'full' | 'read';
  csrf: string;
  expiresAt: number;
}

export class SignIns {
  private readonly signIns = new Map<string, SignIn>();

  constructor(private readonly now: () => number = Date.now) {}

  create(level: 'full' | 'read'): SignIn {
    this.prune();
    const signIn = { id: randomBytes(32).toString('base64url'), level, csrf: randomBytes(24).toString('base64url'), expiresAt: this.now() + SIGN_IN_TTL_MS };
    this.signIns.set(signIn.id, signIn);
    return signIn;
  }

  /** The live sign-in a Cookie header names, if any. */
  fromCookie(header: string | undefined): SignIn | null {
    const id = cookieValue(header, SIGN_IN_COOKIE);
    if (!id) return null;
    const signIn = this.signIns.get(id);
    if (!signIn) return null;
    if (signIn.expiresAt <= this.now()) {
      this.signIns.delete(id);
      return null;
    }
    return signIn;
  }

  remove(id: string): void {
    this.signIns.delete(id);
  }

  private prune(): void {
    const now = this.now();
    for (const [id, signIn] of this.signIns) if (signIn.expiresAt <= now) this.signIns.delete(id);
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
