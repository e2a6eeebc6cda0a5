/**
 * Cicero_V2's units (`clients`) as operators know them: a WhatsApp group shown by its unit's name
 * (`clients.nama`), found the way the recaps find a unit's group (`clients.client_group`).
 */
import type { Queryable } from '../db/pool.js';

/**
 * The unit name of each of these chat ids that is some unit's group (an active unit first where two share
 * one). Empty where the database has no Cicero_V2 tables.
 */
export async function unitNamesOfGroups(db: Queryable, chatIds: readonly string[]): Promise<Map<string, string>> {
  const ids = [...new Set(chatIds.filter((id) => id.endsWith('@g.us')))];
  if (ids.length === 0) return new Map();
  const { rows: exists } = await db.query<{ ok: boolean }>(`SELECT to_regclass('clients') IS NOT NULL AS ok`);
  if (!exists[0]?.ok) return new Map();
  const { rows } = await db.query<{ chat_id: string; name: string }>(
    `SELECT DISTINCT ON (btrim(client_group)) btrim(client_group) AS chat_id, coalesce(nullif(btrim(nama), ''), client_id)::text AS name
       FROM clients
      WHERE btrim(client_group) = ANY($1::text[])
      ORDER BY btrim(client_group), client_status IS DISTINCT FROM false DESC, client_id`,
    [ids],
  );
  return new Map(rows.map((r) => [r.chat_id, r.name]));
}

/** The WhatsApp group of every active unit (`client_status` not false), with the unit's name. Empty without Cicero_V2's tables. */
export async function activeUnitGroups(db: Queryable): Promise<Array<{ chatId: string; name: string }>> {
  const { rows: exists } = await db.query<{ ok: boolean }>(`SELECT to_regclass('clients') IS NOT NULL AS ok`);
  if (!exists[0]?.ok) return [];
  const { rows } = await db.query<{ chat_id: string; name: string }>(
    `SELECT DISTINCT ON (btrim(client_group)) btrim(client_group) AS chat_id, coalesce(nullif(btrim(nama), ''), client_id)::text AS name
       FROM clients
      WHERE client_status IS DISTINCT FROM false AND btrim(client_group) LIKE '%@g.us'
      ORDER BY btrim(client_group), client_id`,
  );
  return rows.map((r) => ({ chatId: r.chat_id, name: r.name }));
}
