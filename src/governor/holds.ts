/**
 * Why a message waits, as the governor says it: a kind a page can translate (quiet hours, a budget, a
 * pause…), read from the reason it wrote (each reason names its setting), with until when.
 */

/** Why a message waits, as a word a page can translate (the reason says it in full). */
export const HOLD_KINDS = [
  'quiet_hours', 'budget_minute', 'budget_hour', 'budget_day', 'warmup', 'cold_per_day', 'cold_gap', 'same_text',
  'paused_operator', 'paused_cooling', 'paused_critical', 'other',
] as const;
export type HoldKind = (typeof HOLD_KINDS)[number];

/** A hold on a message: until when (null: until an operator resumes the session), why, and that as a kind. */
export interface Hold {
  kind: HoldKind;
  until: Date | null;
  reason: string;
}

/** The setting each reason names (this file writes them), in the order they are looked for. */
const KIND_MARKERS: Array<[HoldKind, RegExp]> = [
  ['paused_operator', /^session paused \(operator\)/],
  ['paused_cooling', /^session paused \(cooling\)/],
  ['paused_critical', /^session paused \(critical\)/],
  ['quiet_hours', /\(WA_QUIET_HOURS\)/],
  ['budget_minute', /\(WA_BUDGET_PER_MINUTE\)/],
  ['budget_hour', /\(WA_BUDGET_PER_HOUR\)/],
  ['budget_day', /\(WA_BUDGET_PER_DAY\)/],
  ['warmup', /\(WA_WARMUP_SCHEDULE\)/],
  ['cold_per_day', /\(WA_COLD_PER_DAY\)/],
  ['cold_gap', /\(WA_COLD_GAP_SECONDS\)/],
  ['same_text', /\(WA_SAME_TEXT_PER_HOUR\)/],
];

/** A hold from what the governor wrote (a row's deferred_reason, a refusal's reason). */
export function holdOf(until: Date | null, reason: string): Hold {
  return { kind: KIND_MARKERS.find(([, marker]) => marker.test(reason))?.[0] ?? 'other', until, reason };
}
