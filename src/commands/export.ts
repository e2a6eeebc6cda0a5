/**
 * `cicero-wa export weekly|monthly|ranking [--date D] [--unit ID] [--platform P] [-o FILE]`: a recap
 * workbook on demand, as Cicero_V2's operator menu gives one. Written whole or not at all (a temporary
 * file renamed into place).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { EXPORT_KINDS, ExportRequestError, exportWorkbook, parseExportRequest } from '../features/rekap/recap-export.js';
import { OperatorError } from '../lib/errors.js';
import { print, withDatabase, type CommandContext } from './context.js';
import { UsageError } from './usage.js';

export async function commandExport(context: CommandContext): Promise<number> {
  const [kind, ...rest] = context.args;
  if (!kind) throw new UsageError(`export needs a kind: one of ${EXPORT_KINDS.join(', ')}`);
  if (rest.length > 0) throw new UsageError(`export takes one kind (got also ${rest.join(' ')})`);
  const { date, unit, platform, output } = context.options;
  if (output !== undefined && (typeof output !== 'string' || output.trim() === '')) throw new UsageError('--output (-o) needs a file name');
  let request;
  try {
    request = parseExportRequest({ kind, date, unit, platform });
  } catch (err) {
    if (err instanceof ExportRequestError) throw new UsageError(err.message);
    throw err;
  }
  return withDatabase(context, async (pool) => {
    let book;
    try {
      book = await exportWorkbook(pool, request, new Date(), context.config.cron.timezone);
    } catch (err) {
      if (err instanceof ExportRequestError) throw new UsageError(`--${err.field}: ${err.message}`);
      throw err;
    }
    const file = path.resolve(typeof output === 'string' ? output : book.fileName);
    const temporary = `${file}.${process.pid}.part`;
    try {
      await fs.writeFile(temporary, book.bytes);
      await fs.rename(temporary, file);
    } catch (err) {
      await fs.rm(temporary, { force: true });
      throw new OperatorError(`cannot write ${file}: ${(err as Error).message}`);
    }
    print([`${file}: ${kind} ${book.from} to ${book.to}, ${book.units} unit(s), ${Math.ceil(book.bytes.length / 1024)} KB`]);
    return 0;
  });
}
