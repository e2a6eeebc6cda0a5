/**
 * The operator dashboard at `/dashboard`: one page (assets/app.js, assets/app.css, both from this
 * folder, and cronstrue from its package; nothing from elsewhere at run time) that reads and acts through the same HTTP API as any
 * other client, signed in by a sign-in cookie instead of a key.
 *
 * - `GET /`: a redirect to `/dashboard`.
 * - `GET /dashboard`: the sign-in form, or the page once signed in (or when the API needs no key).
 * - `POST /dashboard/login` `{ key }` (JSON, at most LOGIN_BODY_LIMIT bytes): a key that the API accepts
 *   starts a sign-in (cookie); a wrong one gets 401 and no cookie, and counts towards the 429 of repeated
 *   wrong keys, as does a sign-in refused for its body.
 * - `POST /dashboard/logout`: ends the sign-in (CSRF token required).
 */
import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { FastifyInstance } from 'fastify';
import { zoneName } from '../../lib/zoned-time.js';
import { LOGIN_PATH } from '../access.js';
import type { Authenticator } from '../auth.js';
import { DEFAULT_SESSION } from '../../outbox/enqueue.js';
import type { HttpDeps } from '../deps.js';
import { clearedCookie, CSRF_REFUSAL, signInCookie, type SignIns } from './sign-ins.js';

const ASSETS_DIR = new URL('./assets/', import.meta.url);
const JS = 'text/javascript; charset=utf-8';
const fromPackage = createRequire(import.meta.url);

/**
 * The page's files, their types and where they are (a Map: a name such as "constructor" is simply not
 * there): the page's own, and cronstrue with its Indonesian words (schedules in words).
 */
const ASSETS = new Map<string, { type: string; file: () => URL | string }>([
  ['app.js', { type: JS, file: () => new URL('app.js', ASSETS_DIR) }],
  ['app.css', { type: 'text/css; charset=utf-8', file: () => new URL('app.css', ASSETS_DIR) }],
  ['cronstrue.js', { type: JS, file: () => fromPackage.resolve('cronstrue/dist/cronstrue.min.js') }],
  ['cronstrue-id.js', { type: JS, file: () => fromPackage.resolve('cronstrue/locales/id.min.js') }],
]);
/** A key is at most 512 characters: room for it and the JSON around it. */
const LOGIN_BODY_LIMIT = 4096;

/** The page's headers: nothing from elsewhere, no framing. */
const PAGE_HEADERS = {
  'content-security-policy': "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

const escape = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(lang: string, body: string, data: Record<string, string>): string {
  const attributes = Object.entries(data)
    .map(([k, v]) => ` data-${k}="${escape(v)}"`)
    .join('');
  return `<!doctype html>
<html lang="${lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>cicero-wa-gateway</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/dashboard/assets/app.css">
</head>
<body${attributes}>
${body}
<script src="/dashboard/assets/cronstrue.js"></script>
<script src="/dashboard/assets/cronstrue-id.js"></script>
<script src="/dashboard/assets/app.js"></script>
</body>
</html>
`;
}

export function dashboardRoutes(app: FastifyInstance, deps: HttpDeps, access: { auth: Authenticator; signIns: SignIns }): void {
  const { config } = deps;
  const { auth, signIns } = access;
  const timeZone = config.cron.timezone;
  // The page starts on the service's own number; the numbers' view lists them all (GET /api/sessions).
  const primary = deps.sessions.primary();
  const common = { lang: config.http.uiLang, tz: timeZone, zone: zoneName(timeZone), session: primary?.name ?? DEFAULT_SESSION, dryrun: primary?.transport.dryRun ? 'yes' : 'no' };

  app.get('/', { config: { access: 'public' }, schema: { hide: true } }, async (_, reply) => reply.redirect('/dashboard'));

  app.get('/dashboard', { config: { access: 'public' }, schema: { hide: true } }, async (request, reply) => {
    void reply.headers(PAGE_HEADERS).type('text/html; charset=utf-8');
    const signIn = await signIns.fromCookie(request.headers.cookie);
    if (auth.enabled && !signIn) return page(config.http.uiLang, '<main id="app" class="signin"></main>', { ...common, view: 'signin' });
    return page(config.http.uiLang, '<div id="app"></div>', {
      ...common,
      view: 'app',
      level: signIn?.level ?? 'full',
      csrf: signIn?.csrf ?? '',
      signedin: signIn ? 'yes' : 'no',
    });
  });

  app.get<{ Params: { file: string } }>('/dashboard/assets/:file', { config: { access: 'public' }, schema: { hide: true } }, async (request, reply) => {
    const asset = ASSETS.get(request.params.file);
    if (!asset) return reply.code(404).send({ error: 'not_found', message: 'no such asset' });
    return reply.type(asset.type).header('cache-control', 'no-cache').send(await fs.readFile(asset.file()));
  });

  app.post<{ Body: { key: string } }>(
    LOGIN_PATH,
    {
      config: { access: 'public' },
      bodyLimit: LOGIN_BODY_LIMIT,
      schema: { hide: true, body: { type: 'object', required: ['key'], additionalProperties: false, properties: { key: { type: 'string', minLength: 1, maxLength: 512 } } } },
    },
    async (request, reply) => {
      if (!auth.enabled) return reply.code(204).send();
      const verdict = await auth.check('read', request.body.key, request.ip);
      if (!verdict.ok) {
        if (verdict.retryAfterS) void reply.header('retry-after', String(verdict.retryAfterS));
        return reply.code(verdict.status).send({ error: verdict.error, message: verdict.status === 401 ? 'the key is not valid' : verdict.message });
      }
      const signIn = await signIns.create(verdict.level === 'read' ? 'read' : 'full');
      deps.logger.info({ level: signIn.level }, 'dashboard sign-in');
      return reply.code(204).header('set-cookie', signInCookie(signIn, request.protocol === 'https')).send();
    },
  );

  app.post('/dashboard/logout', { config: { access: 'public' }, schema: { hide: true } }, async (request, reply) => {
    const signIn = await signIns.fromCookie(request.headers.cookie);
    if (signIn && request.headers['x-csrf-token'] !== signIn.csrf) return reply.code(403).send(CSRF_REFUSAL);
    if (signIn) await signIns.remove(signIn.id);
    return reply.code(204).header('set-cookie', clearedCookie(request.protocol === 'https')).send();
  });
}
