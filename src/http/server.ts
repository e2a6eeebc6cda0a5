/**
 * The HTTP server (Fastify): the API for Cicero_V2 and operators, health, readiness, metrics and the
 * OpenAPI document generated from the same JSON schemas that validate the requests.
 *
 * - Every route says what it needs (`config.access`: public, read or write); one hook checks the key.
 * - Every request is logged once it is answered: method, route, status, duration; never a key, a
 *   header or a body.
 * - Every refused request is JSON `{ error, message, fields? }`; a request that fails validation gets
 *   400 with every bad field named (`fields: [{ field, message }]`).
 */
import swagger from '@fastify/swagger';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { isLoopback } from '../lib/loopback.js';
import { OperatorError } from '../lib/errors.js';
import { normaliseRecipient } from '../whatsapp/recipient.js';
import { Authenticator, presentedKey } from './auth.js';
import { HttpError, type HttpDeps } from './deps.js';
import { healthRoutes } from './routes/health.js';
import { jobRoutes } from './routes/jobs.js';
import { messageRoutes } from './routes/messages.js';
import { sessionRoutes } from './routes/sessions.js';
import { summaryRoutes } from './routes/summary.js';
import { inboundRoutes } from './routes/inbound.js';
import { recapRoutes } from './routes/recaps.js';
import { dashboardRoutes } from './dashboard/routes.js';
import { DashboardSessions } from './dashboard/sessions.js';

interface ValidationIssue {
  instancePath: string;
  message?: string;
  keyword: string;
  params: Record<string, unknown>;
}

/** What is wrong, in words an operator reads (ajv's own wording otherwise). */
function issueMessage(issue: ValidationIssue): string {
  const p = issue.params;
  switch (issue.keyword) {
    case 'required':
      return 'is required';
    case 'additionalProperties':
      return 'is not a known field';
    case 'minLength':
      return p.limit === 1 ? 'must not be empty' : `must have at least ${String(p.limit)} characters`;
    case 'maxLength':
      return `must have at most ${Number(p.limit).toLocaleString('en')} characters`;
    case 'enum':
      return `must be one of: ${(p.allowedValues as unknown[]).join(', ')}`;
    case 'pattern':
      return p.pattern === '\\S' ? 'must not be blank' : `must match ${String(p.pattern)}`;
    case 'format':
      return FORMAT_HINTS[String(p.format)] ?? `must be a ${String(p.format)}`;
    default:
      return issue.message ?? 'is invalid';
  }
}

const FORMAT_HINTS: Record<string, string> = {
  recipient: 'is not a phone number or WhatsApp id (e.g. 081234567890, +62 812 3456 7890, 6281234567890@c.us, 120363…@g.us)',
  'date-time': 'must be a time with its zone, e.g. 2026-11-25T07:00:00+07:00',
};

/** Ajv's errors as fields (`body.text`, `query.limit`), one entry per field with everything wrong with it. */
function validationFields(issues: ValidationIssue[], context: string | undefined): Array<{ field: string; message: string }> {
  const where = context === 'querystring' ? 'query' : (context ?? 'body');
  const byField = new Map<string, string[]>();
  for (const issue of issues) {
    let path = issue.instancePath.replace(/^\//, '').replace(/\//g, '.');
    if (issue.keyword === 'required') path = [path, String(issue.params.missingProperty)].filter(Boolean).join('.');
    if (issue.keyword === 'additionalProperties') path = [path, String(issue.params.additionalProperty)].filter(Boolean).join('.');
    const field = path ? `${where}.${path}` : where;
    const message = issueMessage(issue);
    const messages = byField.get(field) ?? [];
    if (!messages.includes(message)) messages.push(message);
    byField.set(field, messages);
  }
  return [...byField].map(([field, messages]) => ({ field, message: messages.join('; ') }));
}

export async function buildHttpServer(deps: HttpDeps): Promise<FastifyInstance> {
  const { config, logger, metrics } = deps;
  const auth = new Authenticator({ full: config.http.apiKey, read: config.http.readKey }, deps.maxAuthFailures);
  const sessions = new DashboardSessions();
  const app = Fastify({
    logger: false,
    bodyLimit: 1024 * 1024,
    ajv: {
      customOptions: {
        allErrors: true,
        removeAdditional: false,
        coerceTypes: true,
        // A recipient is checked as the dispatcher will read it, so a bad one is refused with the other fields.
        formats: { recipient: { type: 'string', validate: (value: string) => normaliseRecipient(value, config.wa.defaultCountryCode).ok } },
      },
    },
    forceCloseConnections: true,
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'cicero-wa-gateway',
        version: '1',
        description: "WhatsApp gateway of Cicero_V2: send and follow messages through the outbox, pair the WhatsApp session, run jobs, follow complaints.",
      },
      components: {
        securitySchemes: {
          apiKey: { type: 'apiKey', in: 'header', name: 'X-Api-Key' },
          bearer: { type: 'http', scheme: 'bearer' },
        },
      },
      security: [{ apiKey: [] }, { bearer: [] }],
    },
  });

  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    let access = request.routeOptions.config?.access ?? 'write';
    // Metrics are open on a server only this machine can reach; elsewhere they need a key.
    if (request.routeOptions.url === '/metrics') access = isLoopback(config.http.host) ? 'public' : 'read';
    if (access === 'read' && request.method !== 'GET' && request.method !== 'HEAD') access = 'write';
    const key = presentedKey(request.headers);
    // The dashboard's browser: its sign-in session instead of a key; a change needs the session's CSRF token.
    const session = key === null && auth.enabled ? sessions.fromCookie(request.headers.cookie) : null;
    if (session && access !== 'public') {
      if (access === 'write' && session.level !== 'full') {
        return reply.code(403).send({ error: 'forbidden', message: 'signed in with the read-only key (API_READ_KEY): nothing can be changed' });
      }
      if (access === 'write' && request.headers['x-csrf-token'] !== session.csrf) {
        return reply.code(403).send({ error: 'csrf', message: 'the request lacks this session\'s CSRF token (X-CSRF-Token); reload the page' });
      }
      return;
    }
    const verdict = auth.check(access, key, request.ip);
    if (verdict.ok) return;
    if (verdict.retryAfterS) void reply.header('retry-after', String(verdict.retryAfterS));
    return reply.code(verdict.status).send({ error: verdict.error, message: verdict.message });
  });

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const seconds = reply.elapsedTime / 1000;
    metrics.httpRequest(request.method, route, reply.statusCode, seconds);
    const quiet = route === '/metrics' || route === '/healthz' || route === '/readyz' || route.startsWith('/dashboard/assets') || request.method === 'GET';
    logger[quiet ? 'debug' : 'info']({ method: request.method, route, status: reply.statusCode, durationMs: Math.round(reply.elapsedTime * 10) / 10 }, 'http request');
  });

  app.setErrorHandler((err: FastifyError | HttpError, request, reply) => {
    if (err instanceof HttpError) {
      return reply.code(err.statusCode).send({ error: err.error, message: err.message, ...(err.fields ? { fields: err.fields } : {}), ...(err.extra ?? {}) });
    }
    if (err.validation) {
      const fields = validationFields(err.validation as ValidationIssue[], err.validationContext);
      return reply.code(400).send({ error: 'invalid_request', message: fields.map((f) => `${f.field} ${f.message}`).join('; '), fields });
    }
    const status = err.statusCode ?? 500;
    if (status === 400 && /JSON/i.test(err.message)) {
      return reply.code(400).send({ error: 'invalid_json', message: `the body is not valid JSON: ${err.message}`, fields: [{ field: 'body', message: 'is not valid JSON' }] });
    }
    if (status < 500) return reply.code(status).send({ error: err.code ?? 'bad_request', message: err.message });
    logger.error({ err: err.message, method: request.method, route: request.routeOptions.url ?? 'unmatched' }, 'http request failed');
    return reply.code(500).send({ error: 'internal_error', message: 'the request could not be completed; see the service log' });
  });

  app.setNotFoundHandler((request, reply) => reply.code(404).send({ error: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0]}` }));

  healthRoutes(app, deps);
  messageRoutes(app, deps);
  sessionRoutes(app, deps);
  jobRoutes(app, deps);
  summaryRoutes(app, deps);
  inboundRoutes(app, deps);
  recapRoutes(app, deps);
  dashboardRoutes(app, deps, { auth, sessions });
  app.get('/openapi.json', { schema: { hide: true }, config: { access: 'public' } }, async () => app.swagger());
  await app.ready();
  return app;
}

/** The server as a component: listens on HTTP_HOST:HTTP_PORT, says where, stops within the shutdown budget. */
export class HttpServer {
  private app: FastifyInstance | null = null;
  /** Where it listens, once started (`http://127.0.0.1:8080`). */
  url: string | null = null;

  constructor(private readonly deps: HttpDeps) {}

  async start(): Promise<void> {
    const { config, logger } = this.deps;
    if (config.http.port === null) return;
    this.app = await buildHttpServer(this.deps);
    try {
      await this.app.listen({ host: config.http.host, port: config.http.port });
    } catch (err) {
      await this.app.close();
      this.app = null;
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE') throw new HttpListenError(`HTTP_PORT=${config.http.port} is in use on ${config.http.host}: stop what uses it, choose another HTTP_PORT, or set HTTP_PORT=off`);
      if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') throw new HttpListenError(`HTTP_HOST=${config.http.host} is not an address of this machine`);
      throw err;
    }
    const address = this.app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.http.port;
    const host = config.http.host.includes(':') ? `[${config.http.host}]` : config.http.host;
    this.url = `http://${host}:${port}`;
    logger.info({ url: this.url, auth: config.http.apiKey ? (config.http.readKey ? 'API_KEY and API_READ_KEY' : 'API_KEY') : 'none (this machine only)' }, 'HTTP API listening');
  }

  async stop(): Promise<void> {
    await this.app?.close();
    this.app = null;
  }
}

export class HttpListenError extends OperatorError {}

