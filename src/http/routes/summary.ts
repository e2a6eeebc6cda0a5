/** `GET /api/summary`: the day at a glance (the dashboard's "Hari ini"). */
import type { FastifyInstance } from 'fastify';
import { formatZoned, zoneName } from '../../lib/zoned-time.js';
import { outboxSummary } from '../../outbox/summary.js';
import { withoutPairingCode } from '../credentials.js';
import type { HttpDeps } from '../deps.js';
import { heldSummary, sessionHolds } from './message-holds.js';
import { whatsappProblem } from './sessions.js';

export function summaryRoutes(app: FastifyInstance, deps: HttpDeps): void {
  const timeZone = deps.config.cron.timezone;
  app.get('/api/summary', { config: { access: 'read' }, schema: { summary: "Today's messages per type, the backlog, failures of the last 24 hours, messages the governor holds back (held: by rule, until when), WhatsApp's state", tags: ['summary'] } }, async (request) => {
    const { held, ...summary } = await outboxSummary(deps.pool, timeZone);
    const running = deps.sessions.list();
    const primary = deps.sessions.primary();
    const whatsapp = (session: NonNullable<typeof primary>) => {
      const status = session.transport.status();
      return {
        session: session.name,
        state: status.state,
        reason: withoutPairingCode(status.reason, session.transport, request.accessLevel),
        problem: whatsappProblem(status, timeZone),
        dryRun: session.transport.dryRun === true,
      };
    };
    return {
      date: formatZoned(deps.clock.now(), timeZone, { zone: false }).slice(0, 10),
      timeZone,
      zone: zoneName(timeZone),
      ...summary,
      held: heldSummary(held, await sessionHolds(deps, held.waitingOnSession.map((w) => w.session)), timeZone),
      // The service's own number (`default`, or the first run here), then every number this process runs.
      whatsapp: primary ? whatsapp(primary) : null,
      numbers: running.map(whatsapp),
    };
  });
}
