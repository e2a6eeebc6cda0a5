/** Incoming messages (`GET /api/inbox`) and webhook deliveries (`GET /api/webhooks`, retry). */
import type { FastifyInstance } from 'fastify';
import { unitNamesOfGroups } from '../../features/units.js';
import { inboxJson, listInbox } from '../../inbound/inbox.js';
import { deliveryJson, listDeliveries, retryDeliveries } from '../../webhooks/deliveries.js';
import { HttpError, type HttpDeps } from '../deps.js';

export function inboundRoutes(app: FastifyInstance, deps: HttpDeps): void {
  const { pool, config } = deps;
  const timeZone = config.cron.timezone;

  app.get<{ Querystring: { limit?: number; before?: number } }>(
    '/api/inbox',
    {
      config: { access: 'read' },
      schema: {
        summary: 'Incoming messages, newest first, with what was done with each (complaint, opt_in, none…)',
        tags: ['inbox'],
        querystring: { type: 'object', additionalProperties: false, properties: { limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 }, before: { type: 'integer', minimum: 1 } } },
      },
    },
    async (request) => {
      const rows = await listInbox(pool, { limit: request.query.limit ?? 50, ...(request.query.before ? { beforeId: request.query.before } : {}) });
      const units = await unitNamesOfGroups(pool, rows.map((r) => r.chatId));
      // A unit's group with the unit's name (chatName; null for any other chat).
      return { messages: rows.map((r) => ({ ...inboxJson(r, timeZone), chatName: units.get(r.chatId) ?? null })) };
    },
  );

  app.get<{ Querystring: { status?: string; limit?: number } }>(
    '/api/webhooks',
    {
      config: { access: 'read' },
      schema: {
        summary: 'Webhook deliveries, newest first',
        tags: ['webhooks'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { status: { type: 'string', enum: ['pending', 'delivered', 'failed'] }, limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 } },
        },
      },
    },
    async (request) => {
      const rows = await listDeliveries(pool, { ...(request.query.status ? { status: request.query.status } : {}), limit: request.query.limit ?? 50 });
      return { deliveries: rows.map((r) => deliveryJson(r, timeZone)) };
    },
  );

  app.post<{ Params: { id: number } }>(
    '/api/webhooks/:id/retry',
    {
      config: { access: 'write' },
      schema: { summary: 'Send a dead-lettered delivery again', tags: ['webhooks'], params: { type: 'object', required: ['id'], properties: { id: { type: 'integer', minimum: 1 } } } },
    },
    async (request) => {
      const [result] = await retryDeliveries(pool, [request.params.id], config.webhooks.retryForMs);
      if (!result || result.detail === 'no such delivery') throw new HttpError(404, 'not_found', `no webhook delivery ${request.params.id}`);
      if (!result.done) throw new HttpError(409, 'not_allowed', result.detail);
      return result;
    },
  );
}
