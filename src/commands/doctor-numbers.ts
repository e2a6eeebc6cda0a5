/**
 * doctor's numbers check: every WhatsApp number registered in wa_sessions, as its client last reported
 * it there (state, since when, paired number), and whether it runs. A number enabled but not ready
 * (waiting for a QR scan, logged out, disconnected) is a warning naming it: its messages wait or move to
 * another number.
 */
import type { Queryable } from '../db/pool.js';
import { formatZoned } from '../lib/zoned-time.js';
import { listSessions } from '../sessions/registry.js';
import type { CheckResult } from './doctor-check.js';

const READY = new Set(['ready', 'authenticated']);

export async function checkNumbers(db: Queryable, timeZone: string): Promise<CheckResult[]> {
  const sessions = await listSessions(db);
  if (sessions.length === 0) return [{ name: 'numbers', ok: true, detail: 'none registered yet: the service registers its own number ("default") at its first start' }];
  const describe = (s: (typeof sessions)[number]) =>
    `${s.name}${s.label ? ` (${s.label})` : ''}: ${s.enabled ? s.state : 'disabled'}${s.enabled ? ` since ${formatZoned(s.stateSince, timeZone)}` : ''}${s.pairedNumber ? `, +${s.pairedNumber}` : ', never paired'}`;
  const notReady = sessions.filter((s) => s.enabled && !READY.has(s.state));
  const detail = `${sessions.length} number(s): ${sessions.map(describe).join('; ')}`;
  if (notReady.length === 0) return [{ name: 'numbers', ok: true, detail }];
  return [{
    name: 'numbers',
    ok: true,
    warn: true,
    detail,
    remedy: `pair or reconnect ${notReady.map((s) => s.name).join(', ')} (dashboard, Sesi WhatsApp: its QR code), or disable it (cicero-wa sessions disable <name>); meanwhile its messages wait or move to a number the person talked to`,
  }];
}
