/**
 * Recap workbooks on demand, as `cicero-wa export`: GET /api/recaps/{weekly|monthly|ranking}/workbook
 * with `date`, `unit` and `platform` in the query. The answer is the .xlsx file itself.
 */
import type { FastifyInstance } from 'fastify';
import { EXPORT_KINDS, ExportRequestError, exportWorkbook, parseExportRequest } from '../../features/rekap/recap-export.js';
import { PLATFORMS } from '../../features/rekap/recap-numbers.js';
import { badRequest, type HttpDeps } from '../deps.js';

interface RecapQuery {
  date?: string;
  unit?: string;
  platform?: string;
}

/** RFC 6266: an ASCII fallback and the UTF-8 name. */
function attachment(fileName: string): string {
  const ascii = fileName.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(fileName)}`;
}

export function recapRoutes(app: FastifyInstance, deps: HttpDeps): void {
  const { pool, config, clock } = deps;

  app.get<{ Params: { kind: string }; Querystring: RecapQuery }>(
    '/api/recaps/:kind/workbook',
    {
      config: { access: 'read' },
      schema: {
        summary: 'A recap workbook (.xlsx): weekly or monthly engagement per unit and day, or the ranking of the units (the month holding the date)',
        tags: ['recaps'],
        params: { type: 'object', required: ['kind'], properties: { kind: { type: 'string', enum: [...EXPORT_KINDS] } } },
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            date: { type: 'string', description: 'a day in the period, YYYY-MM-DD (default: the last complete period)' },
            unit: { type: 'string', description: 'one unit (clients.client_id; default: every active unit)' },
            platform: { type: 'string', enum: [...PLATFORMS], description: 'one platform (default: both)' },
          },
        },
      },
    },
    async (request, reply) => {
      try {
        const asked = parseExportRequest({ kind: request.params.kind, ...request.query });
        const book = await exportWorkbook(pool, asked, clock.now(), config.cron.timezone);
        return reply.header('content-type', book.mimeType).header('content-disposition', attachment(book.fileName)).send(book.bytes);
      } catch (err) {
        if (err instanceof ExportRequestError) throw badRequest([{ field: err.field === 'kind' ? 'params.kind' : `query.${err.field}`, message: err.message }]);
        throw err;
      }
    },
  );
}
