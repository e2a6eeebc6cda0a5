/**
 * doctor's unit-groups check: the active units' WhatsApp groups (Cicero_V2's clients.client_group) that
 * no number can reach, by the routing's own rules (delivery/group-reach.ts): no number is in the group,
 * or only admins may write and no number is an admin there. Their messages fail at once. Groups whose
 * member numbers cannot send right now, and groups no number has listed yet, are counted beside.
 */
import { groupReach } from '../delivery/group-reach.js';
import { activeUnitGroups } from '../features/units.js';
import type { Queryable } from '../db/pool.js';
import type { CheckResult } from './doctor-check.js';

export async function checkUnitGroups(db: Queryable, failoverAfterMs: number): Promise<CheckResult[]> {
  const units = await activeUnitGroups(db);
  if (units.length === 0) return [];
  const name = 'unit-groups';
  const reach = await groupReach(db, units.map((u) => u.chatId), failoverAfterMs);
  const outOfReach: string[] = [];
  let waiting = 0;
  let unknown = 0;
  for (const unit of units) {
    const decision = reach.get(unit.chatId)!;
    if (decision.kind === 'fail') outOfReach.push(`${unit.name} ${unit.chatId} (${decision.reason.split(':', 1)[0]})`);
    else if (decision.kind === 'wait') waiting++;
    else if (decision.reason === 'home' || decision.reason === 'only_number') unknown++;
  }
  const notes = [
    ...(waiting > 0 ? [`${waiting} whose member numbers cannot send right now (their messages wait)`] : []),
    ...(unknown > 0 ? [`${unknown} not yet seen in every number's group list (sent from the home number as usual)`] : []),
  ];
  const noteText = notes.length > 0 ? `; ${notes.join('; ')}` : '';
  if (outOfReach.length === 0) return [{ name, ok: true, detail: `${units.length} active unit group(s): none known to be out of reach${noteText}` }];
  return [{
    name,
    ok: true,
    warn: true,
    detail: `no number can write to these unit groups, their messages fail at once: ${outOfReach.join('; ')}${noteText}`,
    remedy: 'add one of the numbers to the group (and make it an admin where only admins may send), or correct clients.client_group',
  }];
}
