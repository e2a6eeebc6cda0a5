/**
 * Messages: `POST /api/messages` writes one through the outbox (an Idempotency-Key header or a dedupKey
 * field makes a retried request return the first message, 200 instead of 201, and the key sent with a
 * different request 422: see ../idempotency.ts); `GET /api/messages/{id}`
 * follows it; `GET /api/messages` lists with filters and a cursor; retry and cancel as the CLI does.
 */
import type { FastifyInstance } from 'fastify';
import { withTransaction } from '../../db/pool.js';
import { isoZoned } from '../../lib/zoned-time.js';
import { OUTBOX_STATUSES, OUTBOX_STATUS_FILTERS, digestEntries, listOutbox, outboxRow, rowJson, showOutbox, type OutboxListRow, type OutboxStatusFilter } from '../../outbox/listing.js';
import { cancelRows, retryRows, type ActionResult } from '../../outbox/operator-actions.js';
import { FAILURE_CODES, PART_OUTCOMES } from '../../outbox/vocabulary.js';
import { MAX_CAPTION_CHARS, MAX_CONTENT_CHARS, MAX_FILE_NAME_CHARS, OUTBOX_PRIORITIES, OutboxValidationError, enqueueOne, type OutboxPriority } from '../../outbox/enqueue.js';
import { unitNamesOfGroups } from '../../features/units.js';
import { keepRequestSha256, keyedRow } from '../../outbox/keyed-row.js';
import { normaliseRecipient } from '../../whatsapp/recipient.js';
import { HttpError, badRequest, type HttpDeps } from '../deps.js';
import { checkRepeat, requestSha256, type MessageRequest } from '../idempotency.js';
import { heldBackOf, sessionHolds } from './message-holds.js';
import { listSessions } from '../../sessions/registry.js';
import { messageDetailView, messageView } from './message-views.js';

interface PostBody {
  recipient: string;
  text: string;
  type?: string;
  session?: string;
  sendAt?: string;
  dedupKey?: string;
  priority?: OutboxPriority;
  digestKey?: string;
  document?: { fileName: string; mimeType: string; base64: string };
}

interface ListQuery {
  status?: OutboxStatusFilter;
  type?: string;
  recipient?: string;
  since?: string;
  until?: string;
  limit?: number;
  cursor?: string;
}

const KEY = { type: 'string', minLength: 1, maxLength: 200, pattern: '^[\\x21-\\x7e]+$' } as const;

const IDEMPOTENCY_DESCRIPTION = [
  'An Idempotency-Key header (or the dedupKey field: the same key) makes the request safe to send again.',
  'The same key with the same body answers the first message, 200, and writes nothing; the same key with a different body is refused,',
  '422 idempotency_key_reused, naming the key and the first message (messageId). The same body means, after defaults:',
  'the same WhatsApp chat (0812-3456-7890 and +62 812 3456 7890 are one recipient), the same text character for character,',
  'the same type, session and priority (defaults api, the gateway\'s session, normal), the same sendAt instant (in any zone; given and left out differ),',
  'the same document (fileName, mimeType and bytes), and the same digestKey. Field order, JSON spacing and header-or-field do not count.',
  'A key held by a message written otherwise (a recap, another program) is compared on all of these but sendAt.',
  'A second request with a key waits until the first has been written, so there is no 409 "in progress".',
].join(' ');


const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** A document's bytes from base64 text, or the problem with it. */
function documentBytes(base64: string, maxBytes: number): Buffer | string {
  const compact = base64.replace(/\s+/g, '');
  if (!BASE64.test(compact) || compact.length % 4 === 1) return 'must be base64 (A-Z, a-z, 0-9, +, /, with = padding)';
  const bytes = Buffer.from(compact, 'base64');
  if (bytes.length === 0) return 'must not be empty';
  if (bytes.length > maxBytes) return `is ${bytes.length.toLocaleString('en')} bytes; the limit is ${maxBytes.toLocaleString('en')} (WA_DOCUMENT_MAX_BYTES)`;
  return bytes;
}

const errorView = {
  type: 'object',
  properties: {
    error: { type: 'string' },
    message: { type: 'string' },
    fields: { type: 'array', items: { type: 'object', properties: { field: { type: 'string' }, message: { type: 'string' } } } },
  },
} as const;

const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'integer', minimum: 1, maximum: 2147483647 } } } as const;

function instant(field: string, value: string | undefined, problems: Array<{ field: string; message: string }>): Date | undefined {
  if (value === undefined) return undefined;
  const at = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value) ? new Date(value) : new Date(Number.NaN);
  if (Number.isNaN(at.getTime())) problems.push({ field, message: 'must be a time with its zone, e.g. 2026-11-25T07:00:00+07:00' });
  return at;
}

function cursorOf(id: number): string {
  return Buffer.from(`id:${id}`).toString('base64url');
}

function idFromCursor(cursor: string): number | null {
  const match = /^id:(\d{1,10})$/.exec(Buffer.from(cursor, 'base64url').toString());
  return match ? Number(match[1]) : null;
}

/** An operator action's result as HTTP: done 200, no such row 404, not allowed in its state 409. */
function actionReply(result: ActionResult | undefined): { status: number; body: Record<string, unknown> } {
  if (!result || result.detail === 'no such row') return { status: 404, body: { error: 'not_found', message: 'no such message' } };
  if (!result.done) return { status: 409, body: { error: 'not_allowed', message: result.detail } };
  return { status: 200, body: { id: result.id, done: true, detail: result.detail } };
}

export function messageRoutes(app: FastifyInstance, deps: HttpDeps): void {
  const { pool, config } = deps;
  const timeZone = config.cron.timezone;
  const documentMaxBytes = config.dispatch.documentMaxBytes;
  const base64MaxChars = Math.ceil(documentMaxBytes / 3) * 4;

  /**
   * Rows as the API shows them: a unit's group with the unit's name, a pending row with why it waits (the
   * session's hold looked up once, if a row needs it).
   */
  const messageJson = async (rows: OutboxListRow[]) => {
    const now = deps.clock.now();
    const holds = await sessionHolds(deps, rows.filter((r) => r.status === 'pending').map((r) => r.session));
    const units = await unitNamesOfGroups(pool, rows.map((r) => r.recipient));
    return rows.map((r) => ({
      ...rowJson(r, timeZone),
      recipientName: units.get(r.recipient) ?? null,
      heldBack: heldBackOf(r, holds, now, timeZone),
    }));
  };

  app.post<{ Body: PostBody; Headers: { 'idempotency-key'?: string } }>(
    '/api/messages',
    {
      config: { access: 'write' },
      // A document comes as base64 in the body: room for the largest one, its text and the JSON around it.
      bodyLimit: base64MaxChars + 1024 * 1024,
      schema: {
        summary: 'Send a WhatsApp message or document (through the outbox)',
        description: IDEMPOTENCY_DESCRIPTION,
        tags: ['messages'],
        headers: { type: 'object', properties: { 'idempotency-key': { ...KEY, description: 'the message\'s key: the same key with the same body answers the first message (200); with a different body 422' } } },
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['recipient', 'text'],
          properties: {
            recipient: { type: 'string', minLength: 1, maxLength: 100, format: 'recipient', description: 'a phone number (0812…, +62 812…) or a WhatsApp id (…@c.us, …@g.us, …@lid)' },
            text: {
              type: 'string', minLength: 1, maxLength: MAX_CONTENT_CHARS, pattern: '\\S',
              description: `the message, at most ${MAX_CONTENT_CHARS} characters; with a document, its caption (at most ${MAX_CAPTION_CHARS})`,
            },
            type: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.:-]+$', default: 'api', description: 'what kind of message (default api)' },
            session: { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]{0,31}$', description: 'the number (session) that sends it; without one the gateway routes it (the number the person talks to, a member of the group)' },
            sendAt: { type: 'string', format: 'date-time', description: 'not before this time (ISO 8601 with its zone)' },
            dedupKey: KEY,
            digestKey: { type: 'string', minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9._:-]+$', description: 'folded with the recipient\'s other messages of this key into one digest when its window closes (README: Digests); not with a document or sendAt' },
            priority: {
              type: 'string', enum: [...OUTBOX_PRIORITIES], default: 'normal',
              description: 'reply (an answer to someone who just wrote), normal (default) or bulk: due messages are sent in that order',
            },
            document: {
              type: 'object',
              additionalProperties: false,
              required: ['fileName', 'mimeType', 'base64'],
              description: `a file sent as a WhatsApp document with the text as its caption, at most ${documentMaxBytes} bytes (WA_DOCUMENT_MAX_BYTES)`,
              properties: {
                fileName: { type: 'string', minLength: 1, maxLength: MAX_FILE_NAME_CHARS, pattern: '^(?=.*\\S)[^/\\\\\\u0000]+$', description: 'the name shown, without folders, e.g. rekap-mingguan.xlsx' },
                mimeType: { type: 'string', minLength: 3, maxLength: 255, pattern: '^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*$', description: 'type/subtype, e.g. application/pdf' },
                base64: { type: 'string', minLength: 1, maxLength: base64MaxChars, description: 'the file\'s bytes in base64' },
              },
            },
          },
        },
        response: { 200: messageView, 201: messageView, 400: errorView, 422: { ...errorView, properties: { ...errorView.properties, messageId: { type: 'integer' } } } },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const problems: Array<{ field: string; message: string }> = [];
      const recipient = normaliseRecipient(body.recipient, config.wa.defaultCountryCode);
      if (!recipient.ok) problems.push({ field: 'body.recipient', message: recipient.reason });
      const session = body.session;
      const known = session === undefined ? [] : [...new Set([...deps.sessions.list().map((s) => s.name), ...(await listSessions(pool)).map((s) => s.name)])];
      if (session !== undefined && !known.includes(session)) problems.push({ field: 'body.session', message: `is not a session of this gateway (known: ${known.join(', ')})` });
      const sendAt = instant('body.sendAt', body.sendAt, problems);
      const header = request.headers['idempotency-key'];
      if (header !== undefined && body.dedupKey !== undefined && header !== body.dedupKey) {
        problems.push({ field: 'body.dedupKey', message: 'differs from the Idempotency-Key header; send one of them' });
      }
      let document = null;
      if (body.document) {
        const bytes = documentBytes(body.document.base64, documentMaxBytes);
        if (typeof bytes === 'string') problems.push({ field: 'body.document.base64', message: bytes });
        else document = { fileName: body.document.fileName, mimeType: body.document.mimeType, bytes };
        if (body.text.length > MAX_CAPTION_CHARS) problems.push({ field: 'body.text', message: `is a document's caption of ${body.text.length} characters; the limit is ${MAX_CAPTION_CHARS}` });
      }
      if (problems.length > 0) throw badRequest(problems);
      const dedupKey = header ?? body.dedupKey ?? null;
      const type = body.type ?? 'api';
      const priority = body.priority ?? 'normal';
      const asRequest: MessageRequest = { chatId: recipient.ok ? recipient.chatId : '', text: body.text, type, session: session ?? null, priority, sendAt: sendAt ?? null, document, digestKey: body.digestKey ?? null };
      const message = { recipient: body.recipient, content: body.text, type, ...(session !== undefined ? { session } : {}), dedupKey, document, priority, ...(sendAt ? { sendAt } : {}), digestKey: body.digestKey ?? null };
      const row = await withTransaction(pool, async (tx) => {
        const result = await enqueueOne(tx, message, { documentMaxBytes });
        if (dedupKey !== null && result.inserted) await keepRequestSha256(tx, result.id, requestSha256(asRequest));
        if (dedupKey !== null && !result.inserted) checkRepeat(dedupKey, (await keyedRow(tx, result.id))!, asRequest, config.wa.defaultCountryCode);
        return { inserted: result.inserted, row: (await outboxRow(tx, result.id))! };
      }).catch((err: unknown) => {
        // What the schema cannot say (a caption's limit, a file name's form) the outbox refuses.
        if (err instanceof OutboxValidationError) throw badRequest([{ field: `body.${err.field === 'content' ? 'text' : err.field}`, message: err.message }]);
        throw err;
      });
      return reply.code(row.inserted ? 201 : 200).send(rowJson(row.row, timeZone));
    },
  );

  app.get(
    '/api/outbox/vocabulary',
    {
      config: { access: 'read' },
      schema: { summary: "The outbox's words: a message's statuses (and the filter for the others), a hand-over's outcomes, the failure codes", tags: ['messages'] },
    },
    async () => ({ statuses: OUTBOX_STATUSES, statusFilters: OUTBOX_STATUS_FILTERS, partOutcomes: PART_OUTCOMES, failureCodes: FAILURE_CODES }),
  );

  app.get<{ Params: { id: number } }>(
    '/api/messages/:id',
    {
      config: { access: 'read' },
      schema: { summary: 'One message: status, attempts, confirmation, receipts, and each hand-over to WhatsApp', tags: ['messages'], params: idParams, response: { 200: messageDetailView, 404: errorView } },
    },
    async (request) => {
      const found = await showOutbox(pool, request.params.id);
      if (!found) throw new HttpError(404, 'not_found', `no message ${request.params.id}`);
      const entries = found.row.digestCount === null ? null : await digestEntries(pool, found.row.id);
      return {
        ...(await messageJson([found.row]))[0],
        text: found.row.content,
        digestEntries: entries?.map((e) => ({ id: e.id, status: e.status, createdAt: isoZoned(e.createdAt, timeZone), text: e.content })) ?? null,
        handOvers: found.handOvers.map((h) => ({
          part: h.part,
          parts: h.parts,
          chatId: h.chatId,
          handedOverAt: isoZoned(h.handedOverAt, timeZone),
          outcome: h.outcome,
          reason: h.reason,
          waMessageId: h.waMessageId,
          settledAt: isoZoned(h.settledAt, timeZone),
          ack: h.ack,
          chatCheck: h.chatCheck ? { ...h.chatCheck, at: isoZoned(new Date(h.chatCheck.at), timeZone) } : null,
        })),
      };
    },
  );

  app.get<{ Querystring: ListQuery }>(
    '/api/messages',
    {
      config: { access: 'read' },
      schema: {
        summary: 'Messages, newest first, filtered; follow nextCursor for the next page',
        tags: ['messages'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            status: { type: 'string', enum: [...OUTBOX_STATUS_FILTERS] },
            type: { type: 'string', minLength: 1, maxLength: 64 },
            recipient: { type: 'string', minLength: 1, maxLength: 100, format: 'recipient', description: 'part of the recipient' },
            since: { type: 'string', format: 'date-time', description: 'created at or after (ISO 8601 with zone)' },
            until: { type: 'string', format: 'date-time', description: 'created before (ISO 8601 with zone)' },
            limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
            cursor: { type: 'string', maxLength: 40 },
          },
        },
        response: { 200: { type: 'object', properties: { messages: { type: 'array', items: messageView }, nextCursor: { type: 'string', nullable: true } } }, 400: errorView },
      },
    },
    async (request) => {
      const q = request.query;
      const problems: Array<{ field: string; message: string }> = [];
      const since = instant('query.since', q.since, problems);
      const until = instant('query.until', q.until, problems);
      const beforeId = q.cursor === undefined ? undefined : idFromCursor(q.cursor);
      if (beforeId === null) problems.push({ field: 'query.cursor', message: 'is not a cursor this API gave' });
      if (problems.length > 0) throw badRequest(problems);
      const limit = q.limit ?? 50;
      const rows = await listOutbox(pool, {
        limit,
        ...(q.status ? { status: q.status } : {}),
        ...(q.type ? { type: q.type } : {}),
        ...(q.recipient ? { recipient: q.recipient } : {}),
        ...(since ? { since } : {}),
        ...(until ? { until } : {}),
        ...(beforeId ? { beforeId } : {}),
      });
      return { messages: await messageJson(rows), nextCursor: rows.length === limit ? cursorOf(rows[rows.length - 1]!.id) : null };
    },
  );

  const action = (path: string, summary: string, run: (id: number) => Promise<ActionResult[]>) =>
    app.post<{ Params: { id: number } }>(path, { config: { access: 'write' }, schema: { summary, tags: ['messages'], params: idParams } }, async (request, reply) => {
      const { status, body } = actionReply((await run(request.params.id))[0]);
      return reply.code(status).send(body);
    });
  action('/api/messages/:id/retry', 'Send a failed or cancelled message again (attempts reset)', (id) => retryRows(pool, [id]));
  action('/api/messages/:id/cancel', 'Cancel a pending or failed message', (id) => cancelRows(pool, [id]));
}
