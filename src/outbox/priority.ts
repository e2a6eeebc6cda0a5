/**
 * A message's priority: the order a session's due rows are claimed in. `reply` (an answer to someone who
 * just wrote), `normal` (the default, and what rows written by other programs get), `bulk` (recaps);
 * stored as 0, 1, 2 in wa_outbox.priority (migration 015).
 */
export const OUTBOX_PRIORITIES = ['reply', 'normal', 'bulk'] as const;
export type OutboxPriority = (typeof OUTBOX_PRIORITIES)[number];

/** What wa_outbox.priority holds for a priority. */
export function priorityValue(priority: OutboxPriority): number {
  return OUTBOX_PRIORITIES.indexOf(priority);
}

/** The priority a stored value means; a value outside 0..2 (the column's check forbids it) reads as normal. */
export function priorityName(value: number | null | undefined): OutboxPriority {
  return OUTBOX_PRIORITIES[value ?? 1] ?? 'normal';
}
