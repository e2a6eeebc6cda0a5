/**
 * `cicero-wa outbox list [filters] [--json]`, `outbox show <id> [--json]`, `outbox retry <id...>`
 * (`--dry-run`: every row a dry run marked), `outbox cancel <id...>`, `outbox resend <id...>`.
 * Times are shown in CRON_TIMEZONE with the zone named; JSON carries them as ISO 8601 with the zone's
 * offset.
 */
import type pg from 'pg';
import { formatZoned, isoZoned, zoneName } from '../lib/zoned-time.js';
import type { ChatCheck } from '../outbox/vocabulary.js';
import { OUTBOX_STATUS_FILTERS, digestEntries, listOutbox, rowJson, showOutbox, type DigestEntry, type ListOptions, type OutboxListRow, type OutboxStatusFilter } from '../outbox/listing.js';
import { cancelRows, resendRows, retryDryRun, retryRows, type ActionResult } from '../outbox/operator-actions.js';
import { print, withDatabase, type CommandContext } from './context.js';
import { json, preview, renderTable } from './table.js';
import { UsageError, parseIds, parseListOptions, parseMoment } from './usage.js';

export interface OutboxCommand {
  action: 'list' | 'show' | 'retry' | 'cancel' | 'resend';
  list?: Omit<ListOptions, 'status'> & { status?: OutboxStatusFilter };
  ids: number[];
  json: boolean;
  dryRun: boolean;
}

export interface OutboxOptions {
  status?: string;
  limit?: string;
  unconfirmed?: boolean;
  since?: string;
  until?: string;
  type?: string;
  recipient?: string;
  json?: boolean;
  'dry-run'?: boolean;
}

const LIST_ONLY = ['unconfirmed', 'since', 'until', 'type', 'recipient'] as const;

/** Validates the arguments after `outbox`; throws UsageError naming the bad one. */
export function parseOutboxCommand(positionals: string[], options: OutboxOptions, timeZone: string): OutboxCommand {
  const [action, ...rest] = positionals;
  const asJson = options.json === true;
  if (action === 'list') {
    const base = parseListOptions('outbox', rest, OUTBOX_STATUS_FILTERS, options);
    const list = {
      ...base,
      unconfirmed: options.unconfirmed === true,
      ...(options.since !== undefined ? { since: parseMoment('--since', options.since, timeZone, 'start') } : {}),
      ...(options.until !== undefined ? { until: parseMoment('--until', options.until, timeZone, 'end') } : {}),
      ...(options.type !== undefined ? { type: options.type } : {}),
      ...(options.recipient !== undefined ? { recipient: options.recipient } : {}),
    };
    if (options['dry-run']) throw new UsageError('--dry-run belongs to "outbox retry"');
    return { action, list, ids: [], json: asJson, dryRun: false };
  }
  const stray = LIST_ONLY.find((o) => options[o] !== undefined);
  if (stray) throw new UsageError(`--${stray} belongs to "outbox list"`);
  if (action === 'show') {
    if (options.status !== undefined || options.limit !== undefined) throw new UsageError('outbox show takes one id');
    if (rest.length !== 1) throw new UsageError('outbox show takes one id');
    return { action, ids: parseIds('outbox', action, rest, options), json: asJson, dryRun: false };
  }
  if (asJson) throw new UsageError('--json belongs to "outbox list" and "outbox show"');
  if (action === 'retry' && options['dry-run']) {
    if (rest.length > 0) throw new UsageError('outbox retry --dry-run takes no ids: it puts back every row a dry run marked');
    return { action, ids: [], json: false, dryRun: true };
  }
  if (options['dry-run']) throw new UsageError('--dry-run belongs to "outbox retry"');
  if (action === 'retry' || action === 'cancel' || action === 'resend') return { action, ids: parseIds('outbox', action, rest, options), json: false, dryRun: false };
  throw new UsageError(`unknown outbox action "${action ?? ''}": expected list, show, retry, cancel or resend`);
}

function formatActions(results: ActionResult[]): string[] {
  return results.map((r) => `${r.done ? 'ok  ' : 'skip'} ${r.id}: ${r.detail}`);
}

/** A document as an operator reads it: name, type, size (never its bytes). */
function documentLabel(d: NonNullable<OutboxListRow['document']>): string {
  const size = d.size === null ? 'no bytes' : `${d.size.toLocaleString('en')} bytes`;
  return `${d.fileName ?? '(no name)'}, ${d.mimeType ?? '(no type)'}, ${size}`;
}

const ACKS: Record<number, string> = { [-1]: 'error', 0: 'pending', 1: 'server', 2: 'delivered', 3: 'read', 4: 'played' };

/** `--json`: the row as the API shows it, with its text. */
function rowWithText(r: OutboxListRow, timeZone: string): Record<string, unknown> {
  return { ...rowJson(r, timeZone), content: r.content };
}

function listLines(rows: OutboxListRow[], timeZone: string): string[] {
  if (rows.length === 0) return ['(no rows)'];
  const zone = zoneName(timeZone);
  const time = (d: Date | null) => formatZoned(d, timeZone, { zone: false });
  return renderTable(rows, [
    { header: 'ID', cell: (r) => String(r.id), right: true },
    { header: 'STATUS', cell: (r) => r.status ?? '(none)' },
    { header: 'TYPE', cell: (r) => r.type },
    { header: 'RECIPIENT', cell: (r) => r.recipient },
    { header: 'TRIES', cell: (r) => String(r.attempts), right: true },
    { header: `CREATED (${zone})`, cell: (r) => time(r.createdAt) },
    { header: `SENT / DUE (${zone})`, cell: (r) => (r.status === 'sent' ? time(r.sentAt) : r.status === 'pending' ? dueCell(r, time) : '-') },
    { header: 'CONFIRMED', cell: (r) => r.confirmation ?? '-' },
    { header: 'RECEIPT', cell: (r) => (r.ack === null ? '-' : (ACKS[r.ack] ?? String(r.ack))) },
    { header: `READ (${zone})`, cell: (r) => time(r.readAt) },
    { header: 'TEXT', cell: (r) => preview(r.document ? `[${documentLabel(r.document)}] ${r.content}` : r.content) },
    { header: 'LAST ERROR', cell: (r) => r.lastError ?? '' },
  ]);
}

async function show(pool: pg.Pool, id: number, asJson: boolean, timeZone: string): Promise<{ lines: string[]; code: number }> {
  const found = await showOutbox(pool, id);
  if (!found) return { lines: [`no outbox row ${id}`], code: 1 };
  const { row, handOvers } = found;
  const entries = row.digestCount !== null ? await digestEntries(pool, row.id) : [];
  if (asJson) {
    return {
      lines: json({
        ...rowWithText(row, timeZone),
        ...(row.digestCount !== null ? { digestEntries: entries.map((e) => ({ id: e.id, status: e.status, createdAt: isoZoned(e.createdAt, timeZone), content: e.content })) } : {}),
        handOvers: handOvers.map((h) => ({
          ...h,
          handedOverAt: isoZoned(h.handedOverAt, timeZone),
          settledAt: isoZoned(h.settledAt, timeZone),
          deliveredAt: isoZoned(h.deliveredAt, timeZone),
          readAt: isoZoned(h.readAt, timeZone),
        })),
      }),
      code: 0,
    };
  }
  const t = (d: Date | null) => formatZoned(d, timeZone);
  const lines = [
    `Outbox row ${row.id}`,
    `  status        ${row.status ?? '(none)'}${row.confirmation ? ` (${row.confirmation})` : ''}`,
    `  type          ${row.type}`,
    `  recipient     ${row.recipient}`,
    `  session       ${row.session ?? (row.status === 'failed' ? 'none (no number can send it)' : 'routing (not routed yet)')}${row.routeReason ? `: ${row.routeReason}` : ''}`,
    ...row.routeMoves.map((m) => `  moved         ${m.from} → ${m.to} at ${t(new Date(m.at))}: ${m.why}`),
    `  priority      ${row.priority}`,
    `  tries         ${row.attempts}`,
    // A hold that has ended is history: the row is due again.
    ...(row.status === 'pending' && row.deferredReason && !(row.deferredUntil && row.deferredUntil <= new Date()) ? [`  held back     ${row.deferredUntil ? `until ${t(row.deferredUntil)}: ` : ''}${row.deferredReason}`] : []),
    `  created       ${t(row.createdAt)}`,
    `  sent          ${t(row.sentAt)}`,
    ...(row.status === 'pending' ? [`  due           ${t(row.nextAttemptAt)}`] : []),
    `  WhatsApp id   ${row.waMessageId ?? '-'}`,
    `  receipt       ${row.ack === null ? '-' : (ACKS[row.ack] ?? row.ack)}; delivered ${t(row.deliveredAt)}; read ${t(row.readAt)}`,
    `  last error    ${row.lastError ?? '-'}`,
    `  dedup key     ${row.dedupKey ?? '-'}`,
    ...(row.followsId !== null ? [`  follows       row ${row.followsId} (not sent before it)`] : []),
    ...(row.document ? [`  document      ${documentLabel(row.document)}`] : []),
    ...digestLines(row),
    '',
    row.document ? `Caption (${row.content.length} characters):` : `Text (${row.content.length} characters):`,
    ...row.content.split('\n').map((l) => `  ${l}`),
    '',
  ];
  if (row.digestCount !== null) lines.push(...entryLines(row.digestCount, entries, timeZone), '');
  if (handOvers.length === 0) {
    lines.push(row.digestId !== null ? `History: never handed to WhatsApp on its own (it went in digest ${row.digestId}).` : 'History: never handed to WhatsApp.');
  } else {
    lines.push('History (each hand-over to WhatsApp):');
    lines.push(
      ...renderTable(handOvers, [
        { header: `  HANDED OVER (${zoneName(timeZone)})`, cell: (h) => `  ${formatZoned(h.handedOverAt, timeZone, { zone: false })}` },
        { header: 'PART', cell: (h) => `${h.part + 1}/${h.parts}` },
        { header: 'OUTCOME', cell: (h) => h.outcome },
        { header: 'RECEIPT', cell: (h) => (h.ack === null ? '-' : (ACKS[h.ack] ?? String(h.ack))) },
        { header: 'WHATSAPP ID', cell: (h) => h.waMessageId ?? '-' },
        { header: 'BY', cell: (h) => h.instance },
        { header: 'REASON', cell: (h) => h.reason ?? '' },
      ]),
    );
    const checked = handOvers.filter((h) => h.chatCheck);
    if (checked.length > 0) {
      lines.push('', 'Checked in the chat:');
      for (const h of checked) lines.push(`  part ${h.part + 1}/${h.parts} handed over ${formatZoned(h.handedOverAt, timeZone)}: ${describeChatCheck(h.chatCheck!, timeZone)}`);
    }
  }
  return { lines, code: 0 };
}

/** When a pending row goes: its due time, or the digest it waits for (a digest key is never due alone). */
function dueCell(r: OutboxListRow, time: (d: Date | null) => string): string {
  if (r.digestId !== null) return `in digest ${r.digestId}`;
  if (r.digestKey !== null) return `digest ${r.deferredUntil ? time(r.deferredUntil) : '(window)'}`;
  return `due ${time(r.nextAttemptAt)}`;
}

/** A digest row's count, or the digest an original waits for or went into (`outbox show`). */
function digestLines(row: OutboxListRow): string[] {
  if (row.digestCount !== null) return [`  digest        folds ${row.digestCount} message(s): listed below`];
  if (row.digestId !== null) return [`  digest        went into digest ${row.digestId} (key ${row.digestKey ?? '-'}): cicero-wa outbox show ${row.digestId}`];
  if (row.digestKey !== null) return [`  digest        key ${row.digestKey}: waits for its window, then goes out in a digest`];
  return [];
}

/** The messages a digest folds: id, time, status and the start of each text (`--json` has them whole). */
function entryLines(count: number, entries: DigestEntry[], timeZone: string): string[] {
  const header = `Messages in this digest (${entries.length}${entries.length === count ? '' : ` listed, ${count} folded: the others were deleted`}):`;
  return [
    header,
    ...renderTable(entries, [
      { header: '  ID', cell: (e) => `  ${e.id}`, right: true },
      { header: `CREATED (${zoneName(timeZone)})`, cell: (e) => formatZoned(e.createdAt, timeZone, { zone: false }) },
      { header: 'STATUS', cell: (e) => e.status ?? '(none)' },
      { header: 'TEXT', cell: (e) => preview(e.content, 60) },
    ]),
  ];
}

/** What a look into the chat found, in words (`outbox show`). */
export function describeChatCheck(check: ChatCheck, timeZone: string): string {
  const when = `checked ${formatZoned(new Date(check.at), timeZone)} in ${check.chatId}`;
  switch (check.result) {
    case 'found':
      return `found in the chat${check.ack === null || check.ack === undefined ? '' : ` (${ACKS[check.ack] ?? `ack ${check.ack}`})`}: confirmed (${when})`;
    case 'not_found':
      return `not found in the chat (${check.fetched ?? 0} own messages read); ${check.resent ? 'not delivered, sent again' : 'not delivered, left to an operator'} (${when})`;
    case 'not_far_enough':
      return `not among the chat's last ${check.fetched ?? 0} own messages, which do not reach back to the hand-over; left open (${when})`;
    case 'unreadable':
      return `the chat could not be read (${check.error ?? 'no reason given'}); left open (${when})`;
  }
}

/** Runs the command; returns the lines to print and the exit code (1 when an id could not be acted on). */
export async function runOutboxCommand(pool: pg.Pool, command: OutboxCommand, timeZone: string): Promise<{ lines: string[]; code: number }> {
  switch (command.action) {
    case 'list': {
      const rows = await listOutbox(pool, command.list!);
      return { lines: command.json ? json(rows.map((r) => rowWithText(r, timeZone))) : listLines(rows, timeZone), code: 0 };
    }
    case 'show':
      return show(pool, command.ids[0]!, command.json, timeZone);
    default: {
      if (command.dryRun) {
        const restored = await retryDryRun(pool);
        return { lines: [`${restored} row(s) a dry run had marked are pending again`], code: 0 };
      }
      const act = { retry: retryRows, cancel: cancelRows, resend: resendRows }[command.action];
      const results = await act(pool, command.ids);
      return { lines: formatActions(results), code: results.every((r) => r.done) ? 0 : 1 };
    }
  }
}

/** `cicero-wa outbox …`. */
export async function commandOutbox(context: CommandContext): Promise<number> {
  const command = parseOutboxCommand(context.args, context.options as OutboxOptions, context.config.cron.timezone);
  return withDatabase(context, async (pool) => {
    const { lines, code } = await runOutboxCommand(pool, command, context.config.cron.timezone);
    print(lines);
    return code;
  });
}
