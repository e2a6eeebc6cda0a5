/**
 * Sessions (the WhatsApp numbers this gateway sends from), wherever in the cluster each runs: state, the
 * QR code to scan (PNG, SVG or JSON), a pairing code for a phone number, logging out, pausing. A session
 * another instance runs is shown from the view its holder publishes and controlled through commands in
 * the database (session-handles.ts). The QR code and the
 * pairing code need full access (credentials.ts): the read-only key sees the state without them.
 * The list shows each number's budgets left, risk and waiting messages, for every session the database
 * knows; one this process does not run is marked `running: false` (its transport is elsewhere).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import QRCode from 'qrcode';
import { formatZoned, isoZoned } from '../../lib/zoned-time.js';
import { outageOf } from '../../whatsapp/outage.js';
import { PairingUnavailable, type TransportStatus } from '../../whatsapp/transport.js';
import type { Level } from '../auth.js';
import { hidePairingCode, seesPairing } from '../credentials.js';
import { askHolder, findSession, requireSession, type SessionHandle } from '../session-handles.js';
import { instanceId } from '../../lib/instance-id.js';
import { HttpError, type HttpDeps } from '../deps.js';
import { DEFAULT_SESSION } from '../../outbox/enqueue.js';
import { getSession, listSessions } from '../../sessions/registry.js';
import { sessionNames, waitingBySession, type SessionWaiting } from '../session-overview.js';
import { registryFields, sessionsResponse } from './session-views.js';
import { groupCountsBySession } from '../../groups/membership.js';
import { groupReach } from '../../delivery/group-reach.js';
import { activeUnitGroups } from '../../features/units.js';

/** WhatsApp replaces a QR code about every 20 seconds. */
const QR_LIFETIME_MS = 20_000;

const nameParams = { type: 'object', required: ['name'], properties: { name: { type: 'string', minLength: 1, maxLength: 64 } } } as const;

/**
 * Why WhatsApp Web cannot be reached, when the transport's state says (null otherwise): the cause as a
 * word (dns, offline, blocked, proxy, tls, no_chromium), in English words, and the next try's time.
 */
export function whatsappProblem(status: TransportStatus, timeZone: string): Record<string, string | null> | null {
  const outage = outageOf(status);
  if (!outage) return null;
  return {
    cause: outage.cause,
    message: outage.words,
    nextTryAt: isoZoned(outage.nextTryAt, timeZone),
    nextTryLocal: outage.nextTryAt ? formatZoned(outage.nextTryAt, timeZone) : null,
  };
}

export function sessionRoutes(app: FastifyInstance, deps: HttpDeps): void {
  const { config } = deps;
  const timeZone = config.cron.timezone;

  const governorStatus = async (session: string) => {
    if (!deps.governor?.enabled) return null;
    const g = await deps.governor.status(session);
    return {
      paused: g.paused,
      pauseKind: g.pauseKind,
      pausedUntil: isoZoned(g.pausedUntil, timeZone),
      pauseReason: g.pauseReason,
      riskScore: g.riskScore,
      riskLevel: g.riskLevel,
      warmupDay: g.warmupDay === null ? null : g.warmupDay + 1,
      dailyBudget: g.dailyBudget,
      sentLastHour: g.sentLastHour,
      sentLastDay: g.sentLastDay,
      budgets: g.budgets,
    };
  };

  /**
   * A running session, as the caller may see it (`level`: the pairing code for full access only): here
   * from its transport, or on another instance from the view its holder publishes.
   */
  const describe = async (handle: SessionHandle, level: Level | null, waiting?: SessionWaiting) => {
    const { name, view } = handle;
    const authProfile = name === DEFAULT_SESSION && handle.where === 'here' ? config.wa.authProfile : ((await getSession(deps.pool, name))?.authProfile ?? null);
    const since = new Date(view.since);
    const status: TransportStatus = { state: view.state as TransportStatus['state'], reason: view.reason, since, ...(view.retry ? { retry: view.retry } : {}) };
    return {
      name,
      // Running in the cluster: `here` says whether in this process; `runBy` which process holds it.
      running: true,
      here: handle.where === 'here',
      runBy: handle.where === 'here' ? null : { instance: handle.owner, host: handle.ownerHost },
      // The auth profile (WA_AUTH_PROFILE for `default`) this session's WhatsApp Web login is kept in;
      // whatsappSession is its old name, kept for programs that read it.
      authProfile,
      whatsappSession: authProfile,
      transport: view.transport,
      state: view.state,
      reason: hidePairingCode(view.reason, view.pairing?.code ?? null, level),
      since: isoZoned(since, timeZone),
      webVersion: view.webVersion,
      number: view.number,
      // The page-side message-key fix (WhatsApp Web only): active, not_needed, off, failed, …
      pageFix: view.pageFix ? { ...view.pageFix, at: view.pageFix.at ? isoZoned(new Date(view.pageFix.at), timeZone) : null } : null,
      pairing: view.pairing ? { qr: view.pairing.qr !== null, code: seesPairing(level) ? view.pairing.code : null, issuedAt: isoZoned(new Date(view.pairing.at), timeZone) } : null,
      // Whether a number was ever paired on this session (and is not logged out): what logout and the governor's "sending" need.
      paired: view.paired,
      dryRun: view.dryRun,
      problem: whatsappProblem(status, timeZone),
      governor: await governorStatus(name),
      waiting: waiting ?? (await waitingBySession(deps.pool, deps.governor, [name])).get(name)!,
    };
  };

  /** A session the database knows that this process does not run: its governor's record and its waiting messages. */
  const describeElsewhere = async (name: string, waiting: SessionWaiting) => ({
    name,
    running: false,
    here: false,
    runBy: null,
    authProfile: null,
    whatsappSession: null,
    transport: null,
    state: 'none',
    reason: 'not running on any instance now (its rows or governor records are in the database)',
    since: null,
    webVersion: null,
    number: null,
    pageFix: null,
    pairing: null,
    paired: null,
    dryRun: false,
    problem: null,
    governor: await governorStatus(name),
    waiting,
  });

  /** The session named in the path, here or on another instance; 404 or 409 when it runs nowhere. */
  const sessionNamed = (name: string) => requireSession(deps.pool, deps.sessions, name);

  /** A session named in the path for the governor's actions (the governor's records are in the database). */
  const governed = async (name: string) => {
    const handle = await sessionNamed(name);
    if (!deps.governor?.enabled) throw new HttpError(409, 'governor_off', 'the governor is off (WA_GOVERNOR=off): nothing to pause or resume');
    return { governor: deps.governor, handle };
  };

  app.get(
    '/api/sessions',
    { config: { access: 'read' }, schema: { summary: "The WhatsApp sessions and their state; each number's budgets left, risk and waiting messages", tags: ['sessions'], response: { 200: sessionsResponse } } },
    async (request) => {
      const names = await sessionNames(deps.pool, deps.sessions.list().map((s) => s.name));
      const waiting = await waitingBySession(deps.pool, deps.governor, names);
      // Each session's registry fields (wa_sessions); registered: false for one known only from its rows.
      const registry = await listSessions(deps.pool);
      const groups = await groupCountsBySession(deps.pool);
      const groupsOf = (name: string) => {
        const g = groups.get(name);
        return g ? { member: g.member, admin: g.admin, readOnly: g.readOnly, seenAt: isoZoned(g.seenAt, timeZone) } : null;
      };
      const units = await activeUnitGroups(deps.pool);
      const reach = await groupReach(deps.pool, units.map((u) => u.chatId), config.dispatch.failoverAfterMs, deps.clock.now());
      const unitGroupsOutOfReach = units.flatMap((u) => {
        const decision = reach.get(u.chatId)!;
        return decision.kind === 'fail' ? [{ chatId: u.chatId, unit: u.name, failureCode: decision.reason.split(':', 1)[0]!, reason: decision.reason }] : [];
      });
      return {
        unitGroupsOutOfReach,
        sessions: await Promise.all(
          names.map(async (name) => {
            const handle = await findSession(deps.pool, deps.sessions, name);
            return {
              ...(await (handle ? describe(handle, request.accessLevel, waiting.get(name)) : describeElsewhere(name, waiting.get(name)!))),
              ...registryFields(registry.find((r) => r.name === name) ?? null),
              groups: groupsOf(name),
            };
          }),
        ),
      };
    },
  );

  app.get<{ Params: { name: string }; Querystring: { format?: 'png' | 'svg' | 'json' } }>(
    '/api/sessions/:name/qr',
    {
      // Whoever scans the code controls the number: the full key only, even to read it.
      config: { access: 'secret' },
      schema: {
        summary: 'The QR code to scan: PNG (Accept: image/png or ?format=png), SVG, or JSON with its text and expiry (API_KEY only: a credential)',
        tags: ['sessions'],
        params: nameParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { format: { type: 'string', enum: ['png', 'svg', 'json'] }, v: { type: 'string', maxLength: 64, description: 'ignored: lets a page ask for each new code afresh' } },
        },
      },
    },
    async (request: FastifyRequest<{ Params: { name: string }; Querystring: { format?: 'png' | 'svg' | 'json' } }>, reply: FastifyReply) => {
      // Here, or shown from the view the session's holder on another instance publishes.
      const { view } = await sessionNamed(request.params.name);
      const pairing = view.pairing ? { qr: view.pairing.qr, code: view.pairing.code, at: new Date(view.pairing.at) } : null;
      if (!pairing?.qr) {
        throw new HttpError(404, 'no_qr', `there is no QR code to scan: the session is ${view.state}${view.reason ? ` (${view.reason})` : ''}`, undefined, {
          state: view.state,
          reason: view.reason,
          ...(pairing?.code ? { pairingCode: pairing.code } : {}),
        });
      }
      const accept = request.headers.accept ?? '';
      const format = request.query.format ?? (accept.includes('image/png') ? 'png' : accept.includes('image/svg') ? 'svg' : 'json');
      void reply.header('cache-control', 'no-store');
      if (format === 'png') return reply.type('image/png').send(await QRCode.toBuffer(pairing.qr, { type: 'png', margin: 2, scale: 6, errorCorrectionLevel: 'M' }));
      if (format === 'svg') return reply.type('image/svg+xml').send(await QRCode.toString(pairing.qr, { type: 'svg', margin: 2, errorCorrectionLevel: 'M' }));
      return { qr: pairing.qr, issuedAt: isoZoned(pairing.at, timeZone), expiresAt: isoZoned(new Date(pairing.at.getTime() + QR_LIFETIME_MS), timeZone) };
    },
  );

  app.post<{ Params: { name: string }; Body: { phone: string } }>(
    '/api/sessions/:name/pairing-code',
    {
      config: { access: 'write' },
      schema: {
        summary: 'Link by phone number: a code to type on the phone (WhatsApp > Linked devices > Link with phone number)',
        tags: ['sessions'],
        params: nameParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['phone'],
          properties: { phone: { type: 'string', pattern: '^\\+?[0-9]{8,15}$', description: 'the number with its country code, digits only (e.g. 6281234567890)' } },
        },
      },
    },
    async (request) => {
      const handle = await sessionNamed(request.params.name);
      if (handle.where === 'elsewhere') return askHolder(deps.pool, handle, 'pairing_code', request.body.phone.replace(/^\+/, ''), instanceId());
      const transport = handle.running.transport;
      if (!transport.requestPairingCode) throw new HttpError(409, 'not_supported', `WA_TRANSPORT=${transport.name} has no pairing`);
      try {
        const code = await transport.requestPairingCode(request.body.phone.replace(/^\+/, ''));
        return { code, state: transport.status().state };
      } catch (err) {
        if (err instanceof PairingUnavailable) throw new HttpError(409, 'not_waiting_for_pairing', err.message, undefined, { state: transport.status().state });
        throw err;
      }
    },
  );

  app.post<{ Params: { name: string } }>(
    '/api/sessions/:name/logout',
    { config: { access: 'write' }, schema: { summary: 'Unlink the number: the session is cleared and a new QR code follows', tags: ['sessions'], params: nameParams } },
    async (request, reply) => {
      const handle = await sessionNamed(request.params.name);
      if (!handle.view.paired) {
        throw new HttpError(409, 'not_paired', `no number is paired on session "${request.params.name}": nothing to log out (scan the QR code to pair one)`);
      }
      if (handle.where === 'elsewhere') {
        const answer = await askHolder(deps.pool, handle, 'logout', null, instanceId());
        return reply.code(202).send({ state: answer.state, message: 'logged out; a new QR code follows' });
      }
      const transport = handle.running.transport;
      if (!transport.logout) throw new HttpError(409, 'not_supported', `WA_TRANSPORT=${transport.name} has no session to log out`);
      await transport.logout();
      return reply.code(202).send({ state: transport.status().state, message: 'logged out; a new QR code follows' });
    },
  );

  app.post<{ Params: { name: string }; Body: { reason?: string } | undefined }>(
    '/api/sessions/:name/pause',
    {
      config: { access: 'write' },
      schema: {
        summary: 'Stop sending from this number until resumed (the messages wait; nothing is dropped)',
        tags: ['sessions'],
        params: nameParams,
        body: { type: 'object', nullable: true, additionalProperties: false, properties: { reason: { type: 'string', minLength: 1, maxLength: 300 } } },
      },
    },
    async (request) => {
      const { governor, handle } = await governed(request.params.name);
      await governor.pause(request.params.name, `paused by an operator (API)${request.body?.reason ? `: ${request.body.reason}` : ''}`);
      return { session: await describe(handle, request.accessLevel) };
    },
  );

  app.post<{ Params: { name: string } }>(
    '/api/sessions/:name/resume',
    { config: { access: 'write' }, schema: { summary: 'Send again after a pause (by an operator, or at a critical risk score); the score starts afresh', tags: ['sessions'], params: nameParams } },
    async (request) => {
      const { governor, handle } = await governed(request.params.name);
      const resumed = await governor.resume(request.params.name);
      if (!resumed) throw new HttpError(409, 'not_paused', `session "${request.params.name}" is not paused`);
      return { session: await describe(handle, request.accessLevel) };
    },
  );
}
