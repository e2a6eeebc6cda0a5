/**
 * The HTTP server (Fastify): the API for Cicero_V2 and operators, health, readiness, metrics and the
 * OpenAPI document generated from the same JSON schemas that validate the requests.
 *
 * - Every route says what it needs (`config.access`: public, read, write or secret); one gate checks the
 *   Host, a change's origin and content type, and the key (access.ts).
 * - Bodies are JSON only, at most BODY_LIMIT bytes unless a route says otherwise (a document).
 * - Every request is logged once it is answered: method, route, status, duration; never a key, a
 *   header or a body.
 * - Every refused request is JSON `{ error, message, fields? }`; a request that fails validation gets
 *   400 with its bad fields named (`fields: [{ field, message }]`, at most 20, `moreFields` counting the rest).
 */
import type { AddressInfo } from 'node:net';
import swagger from '@fastify/swagger';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import { OperatorError } from '../lib/errors.js';
import { normaliseRecipient } from '../whatsapp/recipient.js';
import { accessGate, LOGIN_PATH, refusedSignIn } from './access.js';
import { Authenticator } from './auth.js';
import { BrowserGuard } from './browser-guard.js';
import { HttpError, type HttpDeps } from './deps.js';
import { validationRefusal, type ValidationIssue } from './validation-errors.js';
import { healthRoutes } from './routes/health.js';
import { jobRoutes } from './routes/jobs.js';
import { messageRoutes } from './routes/messages.js';
import { sessionRoutes } from './routes/sessions.js';
import { sessionAdminRoutes } from './routes/session-admin.js';
import { summaryRoutes } from './routes/summary.js';
import { inboundRoutes } from './routes/inbound.js';
import { recapRoutes } from './routes/recaps.js';
import { dashboardRoutes } from './dashboard/routes.js';
import { SignIns } from './dashboard/sign-ins.js';

/** The largest body a route takes unless it says otherwise (POST /api/messages takes a document). */
export const BODY_LIMIT = 16 * 1024;
/** How often expired sign-ins and finished wrong-key windows are deleted. */
const CLEAN_UP_MS = 10 * 60 * 1000;

/** HTTP_TRUST_PROXY as Fastify takes it: a number of proxies is a function of the hop. */
function trustProxyOption(trust: false | number | string[]): boolean | string[] | ((address: string, hop: number) => boolean) {
  return typeof trust === 'number' ? (_address, hop) => hop < trust : trust;
}

export async function buildHttpServer(deps: HttpDeps): Promise<FastifyInstance> {
  const { config, logger, metrics } = deps;
  const auth = new Authenticator({ full: config.http.apiKey, read: config.http.readKey }, deps.pool, deps.maxAuthFailures);
  const signIns = new SignIns(deps.pool);
  const app = Fastify({
    logger: false,
    bodyLimit: BODY_LIMIT,
    // Behind a proxy (HTTP_TRUST_PROXY), the client's address from X-Forwarded-For: what the limiter counts.
    trustProxy: trustProxyOption(config.http.trustProxy),
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

  // JSON only; a change may come without a body (Content-Type: application/json and nothing more).
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body.toString();
    return text === '' ? done(null, undefined) : parseJson(request, text, done);
  });

  const guard = new BrowserGuard(config.http, () => (app.server.address() as AddressInfo | null)?.port ?? config.http.port);
  app.decorateRequest('accessLevel', null);
  app.addHook('onRequest', accessGate({ config, auth, signIns, guard }));

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const seconds = reply.elapsedTime / 1000;
    metrics.httpRequest(request.method, route, reply.statusCode, seconds);
    const quiet = route === '/metrics' || route === '/healthz' || route === '/readyz' || route.startsWith('/dashboard/assets') || request.method === 'GET';
    logger[quiet ? 'debug' : 'info']({ method: request.method, route, status: reply.statusCode, durationMs: Math.round(reply.elapsedTime * 10) / 10 }, 'http request');
  });

  // Expired sign-ins and finished wrong-key windows are deleted now and then (two indexed deletes).
  const cleanUp = setInterval(() => {
    Promise.all([signIns.prune(), auth.prune()]).catch((err: Error) => logger.warn({ err: err.message }, 'sign-in clean-up failed; trying again later'));
  }, CLEAN_UP_MS);
  cleanUp.unref();
  app.addHook('onClose', async () => clearInterval(cleanUp));

  app.setErrorHandler(async (err: FastifyError | HttpError, request, reply) => {
    if (err instanceof HttpError) {
      return reply.code(err.statusCode).send({ error: err.error, message: err.message, ...(err.fields ? { fields: err.fields } : {}), ...(err.extra ?? {}) });
    }
    const status = err.statusCode ?? 500;
    if (status < 500 && request.routeOptions.url === LOGIN_PATH && (await refusedSignIn(auth, request, reply))) return reply;
    if (err.validation) return reply.code(400).send(validationRefusal(err.validation as ValidationIssue[], err.validationContext));
    if (status === 400 && /JSON/i.test(err.message)) {
      return reply.code(400).send({ error: 'invalid_json', message: `the body is not valid JSON: ${err.message}`, fields: [{ field: 'body', message: 'is not valid JSON' }] });
    }
    if (status === 413) {
      const limit = request.routeOptions.bodyLimit ?? BODY_LIMIT;
      return reply.code(413).send({ error: 'body_too_large', message: `the body is larger than this route takes (${limit.toLocaleString('en')} bytes)` });
    }
    if (status < 500) return reply.code(status).send({ error: err.code ?? 'bad_request', message: err.message });
    logger.error({ err: err.message, method: request.method, route: request.routeOptions.url ?? 'unmatched' }, 'http request failed');
    return reply.code(500).send({ error: 'internal_error', message: 'the request could not be completed; see the service log' });
  });

  app.setNotFoundHandler((request, reply) => reply.code(404).send({ error: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0]}` }));

  healthRoutes(app, deps);
  messageRoutes(app, deps);
  sessionRoutes(app, deps);
  sessionAdminRoutes(app, deps);
  jobRoutes(app, deps);
  summaryRoutes(app, deps);
  inboundRoutes(app, deps);
  recapRoutes(app, deps);
  dashboardRoutes(app, deps, { auth, signIns });
  app.get('/openapi.json', { schema: { hide: true }, config: { access: 'public' } }, async () => app.swagger());
  await app.ready();
  return app;
}

/** The server as a component: listens on HTTP_HOST:HTTP_PORT, says where, stops within the shutdown budget. */
export class HttpServer {
  private app: FastifyInstance | null = null;
  /** Where it listens, once started (`http://127.0.0.1:8080`). */
  url: string | null = null;
  /** The dashboard's address for a browser on this machine, once started (`http://127.0.0.1:8080/dashboard`). */
  dashboardUrl: string | null = null;

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
    // Listening on every address: this machine's browser reaches it on loopback.
    const browserHost = config.http.host === '0.0.0.0' ? '127.0.0.1' : config.http.host === '::' ? '[::1]' : host;
    this.dashboardUrl = `http://${browserHost}:${port}/dashboard`;
    logger.info({ url: this.url, auth: config.http.apiKey ? (config.http.readKey ? 'API_KEY and API_READ_KEY' : 'API_KEY') : 'none (this machine only)' }, 'HTTP API listening');
  }

  async stop(): Promise<void> {
    await this.app?.close();
    this.app = null;
    this.url = null;
    this.dashboardUrl = null;
  }
}

export class HttpListenError extends OperatorError {}

