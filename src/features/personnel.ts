/**
 * Finding a person in Cicero_V2's `"user"` by WhatsApp number, the one rule every feature uses:
 * `"user".whatsapp` as written (often `0812-…`), digits only, a leading 0 replaced by the country code,
 * equals the sender's number digits. And by NRP (`user_id`), with the unit and its operator's number.
 */
import type { Queryable } from '../db/pool.js';

/** SQL condition on `"user"` (aliased `alias`): its number is `$digits` (country code `$countryCode`). */
export function whatsappNumberIs(alias: string, digitsParam: string, countryCodeParam: string): string {
  return `regexp_replace(regexp_replace(coalesce(${alias}.whatsapp, ''), '\\D', '', 'g'), '^0', ${countryCodeParam}) = ${digitsParam}`;
}

/** Whether the database has Cicero_V2's personnel (checked without failing the transaction). */
export async function hasPersonnel(db: Queryable): Promise<boolean> {
  const { rows } = await db.query<{ ok: boolean }>(`SELECT to_regclass('"user"') IS NOT NULL AND to_regclass('clients') IS NOT NULL AS ok`);
  return rows[0]?.ok === true;
}

/** The digits of a WhatsApp number id (`6281…@c.us`), or null for any other id (a group, a LID). */
export function numberDigits(chatId: string | null): string | null {
  return chatId && /^\d+@c\.us$/.test(chatId) ? chatId.slice(0, -'@c.us'.length) : null;
}

/** Whether a WhatsApp number belongs to someone in the personnel table (active or not). */
export async function isPersonnelNumber(db: Queryable, digits: string | null, countryCode: string): Promise<boolean> {
  if (!digits) return false;
  const { rows } = await db.query(`SELECT 1 FROM "user" u WHERE ${whatsappNumberIs('u', '$1', '$2')} LIMIT 1`, [digits, countryCode]);
  return rows.length > 0;
}

/** Which of these NRPs the personnel table knows. */
export async function knownNrps(db: Queryable, nrps: string[]): Promise<Set<string>> {
  if (nrps.length === 0) return new Set();
  const { rows } = await db.query<{ user_id: string }>(`SELECT user_id FROM "user" WHERE user_id = ANY($1::text[])`, [nrps]);
  return new Set(rows.map((r) => r.user_id));
}

export interface PersonByNrp {
  nrp: string;
  nama: string | null;
  pangkat: string | null;
  clientId: string | null;
  satker: string | null;
  /** The unit's operator's number as Cicero_V2 keeps it (clients.client_operator), if any. */
  operator: string | null;
  /** Whether `digits` (the sender's number) is this person's WhatsApp number. */
  isSender: boolean;
}

/** The person with this NRP, with the unit and whether the given number is theirs; null when unknown. */
export async function personByNrp(db: Queryable, nrp: string, senderDigits: string | null, countryCode: string): Promise<PersonByNrp | null> {
  const { rows } = await db.query<{ user_id: string; nama: string | null; title: string | null; client_id: string | null; satker: string | null; operator: string | null; is_sender: boolean }>(
    `SELECT u.user_id, u.nama, u.title, u.client_id, c.nama AS satker, c.client_operator AS operator,
            coalesce(${whatsappNumberIs('u', '$2', '$3')}, false) AS is_sender
       FROM "user" u LEFT JOIN clients c ON c.client_id = u.client_id
      WHERE u.user_id = $1
      ORDER BY u.status IS DISTINCT FROM false DESC LIMIT 1`,
    [nrp, senderDigits ?? '', countryCode],
  );
  const r = rows[0];
  if (!r) return null;
  return { nrp: r.user_id, nama: r.nama, pangkat: r.title, clientId: r.client_id, satker: r.satker, operator: r.operator, isSender: senderDigits !== null && r.is_sender };
}
