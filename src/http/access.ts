/**
 * The gate every request passes first (Fastify's onRequest), in this order:
 *
 * 1. the browser guard: a Host that names this server; a change made by a browser from this server's
 *    own pages (browser-guard.ts);
 * 2. who asks: a key, or the dashboard's sign-in cookie, whose changes also need its CSRF token;
 * 3. whether that is enough for the route (`config.access`);
 * 4. a change is JSON.
 *
 * What the caller may do is kept on the request (`request.accessLevel`) for routes that show more to
 * some callers than to others (/readyz, the pairing code).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config/index.js';
import { isLoopback } from '../lib/loopback.js';
import { presentedKey, readOnlyRefusal, type Access, type Authenticator, type Level } from './auth.js';
import { contentTypeRefusal, type BrowserGuard } from './browser-guard.js';
import { CSRF_REFUSAL, type SignIn, type SignIns } from './dashboard/sign-ins.js';

/** The dashboard's sign-in; a refused one counts towards the wrong-key limit like a wrong key. */
export const LOGIN_PATH = '/dashboard/login';

interface Gate {
  config: Config;
  auth: Authenticator;
  signIns: SignIns;
  guard: BrowserGuard;
}

/** What the route needs for this request. */
function accessOf(request: FastifyRequest, config: Config): Access {
  let access = request.routeOptions.config?.access ?? 'write';
  // Metrics are open on a server only this machine can reach; elsewhere they need a key.
  if (request.routeOptions.url === '/metrics') access = isLoopback(config.http.host) ? 'public' : 'read';
  if ((access === 'read' || access === 'secret') && request.method !== 'GET' && request.method !== 'HEAD') access = 'write';
  return access;
}

/** Why a dashboard sign-in may not do this, or null. */
function signInRefusal(access: Access, signIn: SignIn, request: FastifyRequest): { error: string; message: string } | null {
  if ((access === 'write' || access === 'secret') && signIn.level !== 'full') return { error: 'forbidden', message: readOnlyRefusal(access, true) };
  if (access === 'write' && request.headers['x-csrf-token'] !== signIn.csrf) return CSRF_REFUSAL;
  return null;
}

export function accessGate({ config, auth, signIns, guard }: Gate) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const foreign = guard.hostRefusal(request.headers) ?? guard.originRefusal(request.method, request.headers);
    if (foreign) return reply.code(foreign.status).send({ error: foreign.error, message: foreign.message });

    const access = accessOf(request, config);
    const key = presentedKey(request.headers);
    // The dashboard's browser: its sign-in instead of a key.
    const signIn = key === null && auth.enabled ? await signIns.fromCookie(request.headers.cookie) : null;
    let level: Level | null;
    if (access === 'public') {
      level = !auth.enabled ? 'open' : signIn ? signIn.level : key !== null ? await auth.identify(key, request.ip) : null;
    } else if (signIn) {
      const refused = signInRefusal(access, signIn, request);
      if (refused) return reply.code(403).send(refused);
      level = signIn.level;
    } else {
      const verdict = await auth.check(access, key, request.ip);
      if (!verdict.ok) {
        if (verdict.retryAfterS) void reply.header('retry-after', String(verdict.retryAfterS));
        return reply.code(verdict.status).send({ error: verdict.error, message: verdict.message });
      }
      level = verdict.level;
    }
    request.accessLevel = level;

    const notJson = contentTypeRefusal(request.method, request.headers);
    if (notJson) {
      if (request.routeOptions.url === LOGIN_PATH && (await refusedSignIn(auth, request, reply))) return reply;
      return reply.code(notJson.status).send({ error: notJson.error, message: notJson.message });
    }
  };
}

/**
 * A sign-in refused before its key was looked at (not JSON, too large, not valid) counts like a wrong
 * key; from an address already blocked it is answered 429 at once (true: answered).
 */
export async function refusedSignIn(auth: Authenticator, request: FastifyRequest, reply: FastifyReply): Promise<boolean> {
  const limited = await auth.failure(request.ip);
  if (!limited) return false;
  void reply.code(429).header('retry-after', String(limited.retryAfterS)).send({ error: limited.error, message: limited.message });
  return true;
}
