/** `/healthz` (the process answers), `/readyz` (ready to send, see health.ts), `/metrics` (Prometheus). */
import type { FastifyInstance } from 'fastify';
import { readiness } from '../health.js';
import type { HttpDeps } from '../deps.js';

export function healthRoutes(app: FastifyInstance, deps: HttpDeps): void {
  app.get('/healthz', { config: { access: 'public' }, schema: { summary: 'Liveness: the process answers', tags: ['health'], security: [] } }, async () => ({
    status: 'ok',
    uptimeS: Math.round(process.uptime()),
  }));

  app.get('/readyz', { config: { access: 'public' }, schema: { summary: 'Readiness: database, schema, WhatsApp, and sending making progress', tags: ['health'], security: [] } }, async (_, reply) => {
    const result = await readiness({ pool: deps.pool, transport: deps.transport, dispatcher: deps.dispatcher, stallMs: deps.config.http.readyStallMs, now: () => deps.clock.now() });
    return reply.code(result.ready ? 200 : 503).send({ status: result.ready ? 'ready' : 'not_ready', checks: result.checks });
  });

  app.get('/metrics', { config: { access: 'read' }, schema: { summary: 'Prometheus metrics (open on loopback; a key otherwise)', tags: ['health'] } }, async (_, reply) => {
    const registry = deps.metrics.registry;
    return reply.type(registry.contentType).send(await registry.metrics());
  });
}
