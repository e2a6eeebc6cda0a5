/**
 * The session-wide budgets (WA_BUDGET_PER_MINUTE, _HOUR, _DAY, or the warm-up's day): which one `parts`
 * more messages would overrun, and when the one that frees last has room again.
 */
import type { GovernorConfig } from '../config/types.js';
import type { Queryable } from '../db/pool.js';
import { freeAt, WINDOWS, type WindowCounts } from './permitted-sends.js';
import { dailyBudget } from './policy.js';

export type BudgetWindow = 'minute' | 'hour' | 'day';

/** One budget now: its size (the day's: the warm-up's day when smaller), the messages counted in its window, the room left. */
export interface BudgetLeft {
  limit: number;
  used: number;
  left: number;
}

/** The three budgets with what each setting allows and what its window holds. */
function sessionBudgets(config: GovernorConfig, counts: WindowCounts, warmupDay: number | null) {
  const perDay = dailyBudget(config, warmupDay);
  return [
    { key: 'minute' as BudgetWindow, name: 'WA_BUDGET_PER_MINUTE', count: counts.minute, budget: config.perMinute, window: WINDOWS.minute },
    { key: 'hour' as BudgetWindow, name: 'WA_BUDGET_PER_HOUR', count: counts.hour, budget: config.perHour, window: WINDOWS.hour },
    {
      key: 'day' as BudgetWindow,
      name: warmupDay !== null && perDay < config.perDay ? `the warm-up's day ${warmupDay + 1} (WA_WARMUP_SCHEDULE)` : 'WA_BUDGET_PER_DAY',
      count: counts.day,
      budget: perDay,
      window: WINDOWS.day,
    },
  ];
}

/** Room left in each budget now (never below 0): what an operator reads as "budgets left today". */
export function budgetsLeft(config: GovernorConfig, counts: WindowCounts, warmupDay: number | null): Record<BudgetWindow, BudgetLeft> {
  const entries = sessionBudgets(config, counts, warmupDay).map((b) => [b.key, { limit: b.budget, used: b.count, left: Math.max(0, b.budget - b.count) }] as const);
  return Object.fromEntries(entries) as Record<BudgetWindow, BudgetLeft>;
}

/**
 * The budget spent for `parts` more messages: until when the whole session waits, and why (naming the
 * setting); null when they fit. A message longer than a whole budget still goes, alone in its window.
 */
export async function budgetSpent(
  db: Queryable,
  config: GovernorConfig,
  session: string,
  now: Date,
  counts: WindowCounts,
  warmupDay: number | null,
  parts: number,
): Promise<{ until: Date; reason: string } | null> {
  const budgets = sessionBudgets(config, counts, warmupDay);
  const over = budgets.filter((b) => b.count > 0 && b.count + Math.min(parts, b.budget) > b.budget);
  if (over.length === 0) return null;
  // One statement at a time on the transaction.
  let last: { b: (typeof over)[number]; at: Date } | null = null;
  for (const b of over) {
    const at = await freeAt(db, session, now, b.window, b.count + Math.min(parts, b.budget) - b.budget);
    if (!last || at > last.at) last = { b, at };
  }
  return { until: last!.at, reason: `${last!.b.budget} messages in ${windowWords(last!.b.window)} (${last!.b.name}) reached` };
}

function windowWords(ms: number): string {
  return ms === WINDOWS.minute ? 'a minute' : ms === WINDOWS.hour ? 'an hour' : '24 hours';
}
