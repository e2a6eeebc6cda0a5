/**
 * Verdict counts: how many of some personnel are sudah, kurang, belum and without a handle, per
 * platform (a unit, a division, a sheet). Pure: the text, the workbooks and the numbers share them.
 */
import { PLATFORMS, VERDICTS } from './recap-statements.js';
import type { PersonNumbers } from './recap-numbers.js';

export interface VerdictCounts {
  sudah: number;
  kurang: number;
  belum: number;
  tanpa_username: number;
}

export interface Tally {
  people: number;
  instagram: VerdictCounts;
  tiktok: VerdictCounts;
}

export interface DivisionTally {
  division: string;
  tally: Tally;
}

export function emptyTally(): Tally {
  const counts = (): VerdictCounts => ({ sudah: 0, kurang: 0, belum: 0, tanpa_username: 0 });
  return { people: 0, instagram: counts(), tiktok: counts() };
}

/** Verdict counts over some personnel. */
export function tally(people: readonly PersonNumbers[]): Tally {
  const result = emptyTally();
  result.people = people.length;
  for (const person of people) {
    for (const platform of PLATFORMS) result[platform][person.verdict[platform]]++;
  }
  return result;
}

/** Verdict counts added up (a unit's divisions into the unit's total). */
export function sumTallies(tallies: readonly Tally[]): Tally {
  const total = emptyTally();
  for (const t of tallies) {
    total.people += t.people;
    for (const platform of PLATFORMS) for (const verdict of VERDICTS) total[platform][verdict] += t[platform][verdict];
  }
  return total;
}

/** Verdict counts per division of some judged personnel (in the order met). */
export function divisionsOf(people: readonly PersonNumbers[]): DivisionTally[] {
  const byDivision = new Map<string, PersonNumbers[]>();
  for (const p of people) (byDivision.get(p.division) ?? byDivision.set(p.division, []).get(p.division)!).push(p);
  return [...byDivision].map(([division, who]) => ({ division, tally: tally(who) }));
}
