/**
 * doctor's unit-groups check: the active units' WhatsApp groups (Cicero_V2's clients.client_group) that
 * a number is known not to be in, or may not write to (wa_group_members, as its session last saw them).
 */
import { activeUnitGroups } from '../features/units.js';
import { groupRefusal, knownGroups } from '../groups/membership.js';
import type { Queryable } from '../db/pool.js';
import type { CheckResult } from './doctor.js';

/**
 * The active units' groups against what the numbers know of their groups (wa_group_members): those a
 * number is known not to be in, or may not write to (admins only, no admin). A group no listing showed
 * is unknown and only counted.
 */
export async function checkUnitGroups(db: Queryable): Promise<CheckResult[]> {
  const units = await activeUnitGroups(db);
  if (units.length === 0) return [];
  const name = 'unit-groups';
  const known = await knownGroups(db, units.map((u) => u.chatId));
  const unitName = new Map(units.map((u) => [u.chatId, u.name]));
  const problems = known
    .map((g) => ({ group: g, refusal: groupRefusal(g) }))
    .filter((p) => p.refusal !== null)
    .map(({ group, refusal }) => `${unitName.get(group.chatId)} ${group.chatId} (${refusal!.split(':', 1)[0]}, session ${group.session})`);
  const seen = new Set(known.map((g) => g.chatId));
  const unknown = units.filter((u) => !seen.has(u.chatId)).length;
  const unknownText = unknown > 0 ? `; ${unknown} not yet seen in any number's group list (sent to as usual)` : '';
  if (problems.length === 0) return [{ name, ok: true, detail: `${units.length} active unit group(s): none known to be out of reach${unknownText}` }];
  return [{
    name,
    ok: true,
    warn: true,
    detail: `messages to these unit groups fail at once: ${problems.join('; ')}${unknownText}`,
    remedy: 'add the number to the group (and make it an admin where only admins may send), or correct clients.client_group',
  }];
}
