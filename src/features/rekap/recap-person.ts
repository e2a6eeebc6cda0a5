/**
 * One person's numbers (recap-numbers.ts) from their row and the days of their unit's posts they engaged
 * with: engagement per day and over the period, and the verdict on each platform.
 */
import type { PersonNumbers, UnitNumbers } from './recap-numbers.js';
import { NO_DIVISION, verdictOf, type PersonRow, type Platform } from './recap-statements.js';

/** Day offsets as the statements give them, comma-separated ("3,0,3"). */
export const dayOffsets = (list: string): number[] => list.split(',').map(Number);

/** Posts per day, in the order of the days, from the day offsets of the posts (one entry per post). */
function countByDay(offsets: number[] | null, days: readonly string[]): Record<string, number> {
  const byDay: Record<string, number> = {};
  for (const offset of [...(offsets ?? [])].sort((a, b) => a - b)) {
    const day = days[offset]!;
    byDay[day] = (byDay[day] ?? 0) + 1;
  }
  return byDay;
}

/** A person of `unit`, with the day offsets of the unit's posts they engaged with (null: none, or no handle). */
export function person(row: PersonRow, unit: UnitNumbers, engagedDays: Record<Platform, number[] | null>, days: readonly string[]): PersonNumbers {
  const engagedByDay = { instagram: countByDay(engagedDays.instagram, days), tiktok: countByDay(engagedDays.tiktok, days) };
  const engaged = { instagram: engagedDays.instagram?.length ?? 0, tiktok: engagedDays.tiktok?.length ?? 0 };
  return {
    userId: row.user_id,
    name: row.nama?.trim() || row.user_id,
    rank: row.title?.trim() || null,
    division: row.division.trim() || NO_DIVISION,
    handles: { instagram: row.ig, tiktok: row.tt },
    engagedByDay,
    engaged,
    verdict: {
      instagram: verdictOf(row.ig, engaged.instagram, unit.posts.instagram),
      tiktok: verdictOf(row.tt, engaged.tiktok, unit.posts.tiktok),
    },
  };
}
