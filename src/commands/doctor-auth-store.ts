/**
 * doctor's auth-store check (WA_AUTH_STORE=postgres): for each enabled number, whether its login is
 * stored in wa_auth_store, when and by whom it was last saved, and whether this WA_AUTH_STORE_KEY is
 * the one it was sealed with. A copy under another key is a failure naming WA_AUTH_STORE_KEY (that
 * number cannot be restored); a number not stored yet is a warning (a machine taking it needs a new scan).
 */
import type { Config } from '../config/index.js';
import type { Queryable } from '../db/pool.js';
import { formatZoned } from '../lib/zoned-time.js';
import { listSessions } from '../sessions/registry.js';
import { keyId } from '../whatsapp/wwebjs/auth-store.js';
import type { CheckResult } from './doctor-check.js';

export async function checkAuthStore(db: Queryable, config: Config): Promise<CheckResult[]> {
  const name = 'auth-store';
  if (config.wa.authStore !== 'postgres' || !config.wa.authStoreKey || config.wa.transport !== 'wwebjs') return [];
  const ours = keyId(config.wa.authStoreKey);
  const sessions = (await listSessions(db)).filter((s) => s.enabled);
  const { rows } = await db.query<{ auth_profile: string; size: number; key_id: string; saved_by: string; saved_at: Date }>(
    'SELECT auth_profile, size, key_id, saved_by, saved_at FROM wa_auth_store WHERE auth_profile = ANY($1)',
    [sessions.map((s) => s.authProfile)],
  );
  const stored = new Map(rows.map((r) => [r.auth_profile, r]));
  const parts: string[] = [];
  const otherKey: string[] = [];
  const missing: string[] = [];
  for (const s of sessions) {
    const row = stored.get(s.authProfile);
    if (!row) {
      missing.push(s.name);
      parts.push(`${s.name}: not stored yet`);
      continue;
    }
    if (row.key_id !== ours) otherKey.push(s.name);
    const kb = Math.max(1, Math.round(row.size / 1024));
    parts.push(`${s.name}: ${kb} kB saved by ${row.saved_by} ${formatZoned(row.saved_at, config.cron.timezone)}${row.key_id !== ours ? ` under another key (key id ${row.key_id})` : ''}`);
  }
  const detail = sessions.length === 0 ? 'no enabled number yet' : `key id ${ours}; ${parts.join('; ')}`;
  if (otherKey.length > 0) {
    return [{
      name, ok: false, detail,
      remedy: `${otherKey.join(', ')} cannot be restored with this WA_AUTH_STORE_KEY: set the key they were saved with on every machine, or pair them again (README, "Pairing that moves")`,
    }];
  }
  if (missing.length > 0) {
    return [{ name, ok: true, warn: true, detail, remedy: `${missing.join(', ')}: saved a minute after it is ready; until then a machine taking it needs a new scan` }];
  }
  return [{ name, ok: true, detail }];
}
