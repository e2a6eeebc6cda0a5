/**
 * `cicero-wa inbox list [--limit N] [--json]`: the newest incoming messages and what was done with
 * them. `cicero-wa webhooks list [--status S] [--limit N] [--json]` and `cicero-wa webhooks retry
 * <id...>`: webhook deliveries, and dead-lettered ones sent again.
 */
import { inboxJson, listInbox } from '../inbound/inbox.js';
import { formatZoned, zoneName } from '../lib/zoned-time.js';
import { deliveryJson, listDeliveries, retryDeliveries } from '../webhooks/deliveries.js';
import { print, withDatabase, type CommandContext } from './context.js';
import { json, preview, renderTable } from './table.js';
import { UsageError, parseIds, parseListOptions } from './usage.js';

export const DELIVERY_STATUSES = ['pending', 'delivered', 'failed'] as const;

export async function commandInbox(context: CommandContext): Promise<number> {
  const [action, ...rest] = context.args;
  if (action !== 'list') throw new UsageError(`unknown inbox action "${action ?? ''}": expected list`);
  const { limit } = parseListOptions('inbox', rest, [], context.options as { limit?: string });
  const timeZone = context.config.cron.timezone;
  return withDatabase(context, async (pool) => {
    const rows = await listInbox(pool, { limit });
    if (context.options.json === true) print(json(rows.map((r) => inboxJson(r, timeZone))));
    else if (rows.length === 0) print(['(no incoming messages)']);
    else {
      const time = (d: Date | null) => formatZoned(d, timeZone, { zone: false });
      print(
        renderTable(rows, [
          { header: 'ID', cell: (r) => String(r.id), right: true },
          { header: `RECEIVED (${zoneName(timeZone)})`, cell: (r) => time(r.receivedAt) },
          { header: 'CHAT', cell: (r) => r.chatId },
          { header: 'SENDER', cell: (r) => r.senderPhone ?? r.senderId },
          { header: 'OUTCOME', cell: (r) => r.outcome ?? 'not handled yet' },
          { header: 'TEXT', cell: (r) => (r.media ? `[${r.media.mimeType ?? 'media'}] ` : '') + preview(r.body, 50) },
        ]),
      );
    }
    return 0;
  });
}

export async function commandWebhooks(context: CommandContext): Promise<number> {
  const [action, ...rest] = context.args;
  const options = context.options as { status?: string; limit?: string; json?: boolean };
  const timeZone = context.config.cron.timezone;
  if (action === 'list') {
    const { status, limit } = parseListOptions('webhooks', rest, DELIVERY_STATUSES, options);
    return withDatabase(context, async (pool) => {
      const rows = await listDeliveries(pool, { ...(status ? { status } : {}), limit });
      if (options.json === true) print(json(rows.map((r) => deliveryJson(r, timeZone))));
      else if (rows.length === 0) print(['(no webhook deliveries)']);
      else {
        const time = (d: Date | null) => formatZoned(d, timeZone, { zone: false });
        print(
          renderTable(rows, [
            { header: 'ID', cell: (r) => String(r.id), right: true },
            { header: 'EVENT', cell: (r) => r.event },
            { header: 'STATUS', cell: (r) => r.status },
            { header: 'TRIES', cell: (r) => String(r.attempts), right: true },
            { header: `CREATED (${zoneName(timeZone)})`, cell: (r) => time(r.createdAt) },
            { header: 'RECEIVER', cell: (r) => new URL(r.url).host },
            { header: 'LAST ERROR', cell: (r) => r.lastError ?? '' },
          ]),
        );
      }
      return 0;
    });
  }
  if (options.json === true) throw new UsageError('--json belongs to "webhooks list"');
  if (action === 'retry') {
    const ids = parseIds('webhooks', action, rest, options);
    return withDatabase(context, async (pool) => {
      const results = await retryDeliveries(pool, ids, context.config.webhooks.retryForMs);
      print(results.map((r) => `${r.done ? 'ok  ' : 'skip'} ${r.id}: ${r.detail}`));
      return results.every((r) => r.done) ? 0 : 1;
    });
  }
  throw new UsageError(`unknown webhooks action "${action ?? ''}": expected list or retry`);
}
