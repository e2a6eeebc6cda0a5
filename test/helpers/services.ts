/**
 * For tests that run `cicero-wa start` processes with the fake transport: their environment, the send
 * log they share (the fake stand-in's record of what WhatsApp received), rows written seed-style.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { CliProcess } from './cli.js';

export interface SendRecord {
  pid: number;
  chatId: string;
  text: string;
}

/** Every hand-over recorded so far. Only whole lines: a process may be appending the next one right now. */
export function readSends(file: string): SendRecord[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .slice(0, -1)
    .map((l) => JSON.parse(l) as SendRecord);
}

/** How many texts were handed over more than once. */
export function repeats(sends: SendRecord[]): number {
  return sends.length - new Set(sends.map((s) => s.text)).size;
}

export function serviceEnv(databaseUrl: string, sendLog: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    DATABASE_URL: databaseUrl,
    WA_TRANSPORT: 'fake',
    WA_FAKE_SEND_LOG: sendLog,
    WA_SEND_INTERVAL_MS: '0',
    WA_SEND_JITTER_MS: '0',
    WA_SEND_MAX_PER_MINUTE: '100000',
    WA_DISPATCH_BATCH_SIZE: '25',
    LOG_LEVEL: 'info',
    ...extra,
  };
}

/** `count` rows written as the seed's code writes them: recipient, content, type. */
export async function insertMessages(db: { query: (sql: string, params?: unknown[]) => Promise<unknown> }, count: number, prefix = 'msg-'): Promise<void> {
  await db.query(
    `INSERT INTO wa_outbox (recipient, content, type)
     SELECT '0812' || lpad(g::text, 8, '0'), $2 || g, 'test' FROM generate_series(1, $1::int) g`,
    [count, prefix],
  );
}

export async function stopAll(services: CliProcess[]): Promise<void> {
  for (const s of services) {
    if (s.child.exitCode !== null || s.child.signalCode !== null) continue;
    s.child.kill('SIGCONT'); // a stopped process must run to handle SIGTERM
    s.child.kill('SIGTERM');
  }
  await Promise.all(services.map((s) => s.exited));
}
