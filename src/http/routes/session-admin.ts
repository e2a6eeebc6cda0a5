/**
 * The registry of WhatsApp numbers over HTTP (full access only): add a session, remove it, enable or
 * disable it. The same functions as `cicero-wa sessions add|remove|enable|disable`
 * (sessions/registry.ts); every running service hears the change at once (wa_sessions_changed).
 */
import type { FastifyInstance } from 'fastify';
import { isoZoned } from '../../lib/zoned-time.js';
import { SessionError, addSession, removeSession, setEnabled, type SessionRecord } from '../../sessions/registry.js';
import { HttpError, type HttpDeps } from '../deps.js';

const nameParams = {
  type: 'object',
  required: ['name'],
  properties: { name: { type: 'string', minLength: 1, maxLength: 64, description: "the session's name: 1 to 32 of a-z, 0-9, _ and -, starting with a letter or digit" } },
} as const;

const nullableString = { type: 'string', nullable: true } as const;

/** A session as the registry holds it. */
export const registeredSessionSchema = {
  type: 'object',
  required: ['name', 'label', 'authProfile', 'pairing', 'pairPhone', 'pairedNumber', 'enabled', 'homeTypes', 'state', 'stateReason', 'stateSince', 'createdAt', 'updatedAt'],
  properties: {
    name: { type: 'string' },
    label: { type: 'string' },
    authProfile: { type: 'string', description: 'the folder under WA_AUTH_PATH its WhatsApp Web login is kept in' },
    pairing: { type: 'string', enum: ['qr', 'code'], description: 'how it pairs: a QR code, or a code sent to pairPhone' },
    pairPhone: nullableString,
    pairedNumber: { ...nullableString, description: 'the number it paired, as its client last reported' },
    enabled: { type: 'boolean', description: 'whether the service runs it' },
    homeTypes: { type: 'array', items: { type: 'string' }, description: 'the message types it is the home number of' },
    state: { type: 'string', description: 'the state its client last reported (new: never started)' },
    stateReason: nullableString,
    stateSince: { type: 'string' },
    createdAt: { type: 'string' },
    updatedAt: { type: 'string' },
  },
} as const;

export function registeredSessionJson(s: SessionRecord, timeZone: string) {
  return {
    name: s.name,
    label: s.label,
    authProfile: s.authProfile,
    pairing: s.pairing,
    pairPhone: s.pairPhone,
    pairedNumber: s.pairedNumber,
    enabled: s.enabled,
    homeTypes: s.homeTypes,
    state: s.state,
    stateReason: s.stateReason,
    stateSince: isoZoned(s.stateSince, timeZone),
    createdAt: isoZoned(s.createdAt, timeZone),
    updatedAt: isoZoned(s.updatedAt, timeZone),
  };
}

/** A registry refusal as an HTTP answer: 400 naming the field, 404, 409 (exists, busy). */
function asHttp(err: unknown): never {
  if (!(err instanceof SessionError)) throw err;
  const field = err.field === 'name' ? 'params.name' : err.field ? `body.${err.field === 'pairing' ? 'pairPhone' : err.field}` : null;
  const fields = field ? [{ field, message: err.message.startsWith(`${err.field} `) ? err.message.slice(err.field!.length + 1) : err.message }] : undefined;
  if (err.code === 'invalid') throw new HttpError(400, 'invalid_request', fields ? `${fields[0]!.field} ${fields[0]!.message}` : err.message, fields);
  if (err.code === 'exists') throw new HttpError(409, 'session_exists', err.message, fields);
  if (err.code === 'not_found') throw new HttpError(404, 'not_found', err.message);
  throw new HttpError(409, 'session_busy', err.message);
}

interface AddBody {
  label?: string;
  authProfile?: string;
  pairPhone?: string | null;
  homeTypes?: string[];
  enabled?: boolean;
}

export function sessionAdminRoutes(app: FastifyInstance, deps: HttpDeps): void {
  const timeZone = deps.config.cron.timezone;
  const response = { 200: registeredSessionSchema };

  app.post<{ Params: { name: string }; Body: AddBody | undefined }>(
    '/api/sessions/:name',
    {
      config: { access: 'write' },
      schema: {
        summary: 'Add a WhatsApp number: a new session with its own auth profile (QR code, or a pairing code sent to pairPhone); every running service starts it',
        tags: ['sessions'],
        params: nameParams,
        body: {
          type: 'object',
          nullable: true,
          additionalProperties: false,
          properties: {
            label: { type: 'string', maxLength: 100, description: 'a name for people, at most 100 characters' },
            authProfile: { type: 'string', minLength: 1, maxLength: 64, description: 'default: the name; 1 to 64 of A-Z, a-z, 0-9, _ and -' },
            pairPhone: { type: 'string', nullable: true, description: 'pair with a code sent to this number instead of a QR code: 8 to 15 digits with the country code' },
            homeTypes: { type: 'array', maxItems: 100, items: { type: 'string' }, description: 'the message types it is the home number of' },
            enabled: { type: 'boolean', description: 'default true' },
          },
        },
        response: { 201: registeredSessionSchema },
      },
    },
    async (request, reply) => {
      const body = request.body ?? {};
      const added = await addSession(deps.pool, {
        name: request.params.name,
        ...(body.label !== undefined ? { label: body.label } : {}),
        ...(body.authProfile !== undefined ? { authProfile: body.authProfile } : {}),
        ...(body.pairPhone !== undefined && body.pairPhone !== null ? { pairing: 'code' as const, pairPhone: body.pairPhone } : {}),
        ...(body.homeTypes !== undefined ? { homeTypes: body.homeTypes } : {}),
        ...(body.enabled !== undefined ? { enabled: body.enabled } : {}),
      }).catch(asHttp);
      deps.logger.info({ session: added.name, authProfile: added.authProfile, enabled: added.enabled }, 'session added (API)');
      return reply.code(201).send(registeredSessionJson(added, timeZone));
    },
  );

  app.delete<{ Params: { name: string } }>(
    '/api/sessions/:name',
    {
      config: { access: 'write' },
      schema: {
        summary: 'Remove a WhatsApp number (not while it is sending, not the last one); its waiting messages go out from another number',
        tags: ['sessions'],
        params: nameParams,
      },
    },
    async (request, reply) => {
      await removeSession(deps.pool, request.params.name).catch(asHttp);
      deps.logger.info({ session: request.params.name }, 'session removed (API)');
      return reply.code(204).send();
    },
  );

  for (const action of ['enable', 'disable'] as const) {
    app.post<{ Params: { name: string } }>(
      `/api/sessions/:name/${action}`,
      {
        config: { access: 'write' },
        schema: {
          summary: action === 'enable' ? 'Run this number again: every running service starts it' : 'Stop running this number: every running service stops it; its messages go out from another number',
          tags: ['sessions'],
          params: nameParams,
          response,
        },
      },
      async (request) => {
        const changed = await setEnabled(deps.pool, request.params.name, action === 'enable').catch(asHttp);
        deps.logger.info({ session: changed.name, enabled: changed.enabled }, `session ${action}d (API)`);
        return registeredSessionJson(changed, timeZone);
      },
    );
  }
}
