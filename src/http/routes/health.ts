/**
 * `/healthz` (the process answers), `/readyz` (ready to send, see health.ts), `/metrics` (Prometheus).
 * `/readyz` says why only to those who may know (a key, a sign-in, or a server on loopback): its checks
 * name the database and its errors. Strangers get the status alone.
 */
import type { FastifyInstance } from 'fastify';
import { isLoopback } from '../../lib/loopback.js';
import { withoutPairingCode } from '../credentials.js';
import { readiness } from '../health.js';
import type { HttpDeps } from '../deps.js';

export function healthRoutes(app: FastifyInstance, deps: HttpDeps): void {
  app.get('/healthz', { config: { access: 'public' }, schema: { summary: 'Liveness: the process answers', tags: ['health'], security: [] } }, async () => ({
    status: 'ok',
    uptimeS: Math.round(process.uptime()),
  }));

  const summary = 'Readiness: database, schema, WhatsApp, and sending making progress (the checks with a key, or on loopback)';
  app.get('/readyz', { config: { access: 'public' }, schema: { summary, tags: ['health'], security: [] } }, async (request, reply) => {
    const sessions = deps.sessions.list();
    const result = await readiness({ pool: deps.pool, sessions, stallMs: deps.config.http.readyStallMs, now: () => deps.clock.now() });
    const status = result.ready ? 'ready' : 'not_ready';
    void reply.code(result.ready ? 200 : 503);
    if (!isLoopback(deps.config.http.host) && request.accessLevel === null) return { status };
    const checks = result.checks.map((c) => ({ ...c, detail: sessions.reduce<string>((text, s) => withoutPairingCode(text, s.transport, request.accessLevel) ?? '', c.detail) }));
    return { status, checks };
  });

  app.get('/metrics', { config: { access: 'read' }, schema: { summary: 'Prometheus metrics (open on loopback; a key otherwise)', tags: ['health'] } }, async (_, reply) => {
    const registry = deps.metrics.registry;
    return reply.type(registry.contentType).send(await registry.metrics());
  });
}
