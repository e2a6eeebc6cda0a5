/** `GET /api/summary`: the day at a glance (the dashboard's "Hari ini"). */
import type { FastifyInstance } from 'fastify';
import { formatZoned, zoneName } from '../../lib/zoned-time.js';
import { outboxSummary } from '../../outbox/summary.js';
import { withoutPairingCode } from '../credentials.js';
import type { HttpDeps } from '../deps.js';
import { heldSummary, sessionHold } from './message-holds.js';
import { whatsappProblem } from './sessions.js';

export function summaryRoutes(app: FastifyInstance, deps: HttpDeps): void {
  const timeZone = deps.config.cron.timezone;
  app.get('/api/summary', { config: { access: 'read' }, schema: { summary: "Today's messages per type, the backlog, failures of the last 24 hours, messages the governor holds back (held: by rule, until when), WhatsApp's state", tags: ['summary'] } }, async (request) => {
    const { held, ...summary } = await outboxSummary(deps.pool, timeZone);
    const status = deps.transport?.status() ?? null;
    return {
      date: formatZoned(deps.clock.now(), timeZone, { zone: false }).slice(0, 10),
      timeZone,
      zone: zoneName(timeZone),
      ...summary,
      held: heldSummary(held, { name: deps.session, hold: await sessionHold(deps) }, timeZone),
      whatsapp: status
        ? {
            session: deps.session,
            state: status.state,
            reason: withoutPairingCode(status.reason, deps.transport, request.accessLevel),
            problem: whatsappProblem(status, timeZone),
            dryRun: deps.transport?.dryRun === true,
          }
        : null,
    };
  });
}
