/**
 * The outbox's notification channel: an insert of pending rows notifies it (a statement-level trigger,
 * migration 002), and so does an operator's retry; every running dispatcher listens.
 */
import type { Queryable } from '../db/pool.js';
import { ChannelListener, type ChannelListenerOptions } from '../db/listener.js';

export const OUTBOX_CHANNEL = 'wa_outbox_pending';

/** The payload that says a session's sends were recovered with an unknown outcome: its confirmer looks for them. */
export function recoveredUnknownPayload(session: string): string {
  return `recovered-unknown:${session}`;
}

/**
 * Wakes every running dispatcher (delivered when the caller's transaction commits); with a payload
 * (recoveredUnknownPayload), the confirmer of that session too, in whichever process runs it.
 */
export async function wakeDispatchers(db: Queryable, payload = ''): Promise<void> {
  await db.query('SELECT pg_notify($1, $2)', [OUTBOX_CHANNEL, payload]);
}

/** A listener on the outbox's channel. */
export function outboxListener(options: Omit<ChannelListenerOptions, 'channel'>): ChannelListener {
  return new ChannelListener({ ...options, channel: OUTBOX_CHANNEL });
}
