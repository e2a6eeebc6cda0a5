/**
 * `cicero-wa outbox list [--status S] [--unconfirmed] [--limit N]`, `outbox retry <id...>`,
 * `outbox cancel <id...>`, `outbox resend <id...>`.
 */
import type pg from 'pg';
import {
  OUTBOX_STATUS_FILTERS,
  cancelRows,
  listOutbox,
  resendRows,
  retryRows,
  type ActionResult,
  type OutboxStatusFilter,
} from '../modules/wa-gateway/outbox-admin.js';
import { UsageError, parseIds, parseListOptions } from './usage.js';

export interface OutboxCommand {
  action: 'list' | 'retry' | 'cancel' | 'resend';
  status?: OutboxStatusFilter;
  unconfirmed: boolean;
  limit: number;
  ids: number[];
}

/** Validates the arguments after `outbox`; throws UsageError naming the bad one. */
export function parseOutboxCommand(positionals: string[], options: { status?: string; limit?: string; unconfirmed?: boolean }): OutboxCommand {
  const [action, ...rest] = positionals;
  const unconfirmed = options.unconfirmed === true;
  if (action === 'list') return { action, ...parseListOptions('outbox', rest, OUTBOX_STATUS_FILTERS, options), unconfirmed, ids: [] };
  if (unconfirmed) throw new UsageError('--unconfirmed belongs to "outbox list"');
  if (action === 'retry' || action === 'cancel' || action === 'resend') return { action, limit: 0, unconfirmed, ids: parseIds('outbox', action, rest, options) };
  throw new UsageError(`unknown outbox action "${action ?? ''}": expected list, retry, cancel or resend`);
}

function formatTime(value: Date | null): string {
  return value ? value.toISOString().replace('T', ' ').slice(0, 19) : '-';
}

function formatActions(results: ActionResult[]): string[] {
  return results.map((r) => `${r.done ? 'ok  ' : 'skip'} ${r.id}: ${r.detail}`);
}

/** Runs the command; returns the lines to print and the exit code (1 when an id could not be acted on). */
export async function runOutboxCommand(pool: pg.Pool, command: OutboxCommand): Promise<{ lines: string[]; code: number }> {
  if (command.action === 'list') {
    const rows = await listOutbox(pool, { ...(command.status ? { status: command.status } : {}), unconfirmed: command.unconfirmed, limit: command.limit });
    const lines = rows.map((r) =>
      [
        String(r.id).padStart(7),
        (r.status ?? '-').padEnd(9),
        r.type.padEnd(20),
        r.recipient.padEnd(28),
        `attempts=${r.attempts}`,
        r.confirmation ? `confirmation=${r.confirmation}` : '',
        `created=${formatTime(r.createdAt)}`,
        r.status === 'sent' ? `sent=${formatTime(r.sentAt)}` : r.status === 'pending' ? `due=${r.nextAttemptAt.toISOString()}` : '',
        r.lastError ? `error="${r.lastError}"` : '',
        `"${r.preview}"`,
      ]
        .filter(Boolean)
        .join('  '),
    );
    return { lines: rows.length ? lines : ['(no rows)'], code: 0 };
  }
  const act = { retry: retryRows, cancel: cancelRows, resend: resendRows }[command.action];
  const results = await act(pool, command.ids);
  return { lines: formatActions(results), code: results.every((r) => r.done) ? 0 : 1 };
}
