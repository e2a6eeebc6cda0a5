/**
 * The outbox's notification channel: an insert of pending rows notifies it (a statement-level trigger,
 * migration 002), and so does an operator's retry; every running dispatcher listens.
 */
import type { Queryable } from '../db/pool.js';
import { ChannelListener, type ChannelListenerOptions } from '../db/listener.js';

export const OUTBOX_CHANNEL = 'wa_outbox_pending';

/** Wakes every running dispatcher (delivered when the caller's transaction commits). */
export async function wakeDispatchers(db: Queryable): Promise<void> {
  await db.query(`NOTIFY ${OUTBOX_CHANNEL}`);
}

/** A listener on the outbox's channel. */
export function outboxListener(options: Omit<ChannelListenerOptions, 'channel'>): ChannelListener {
  return new ChannelListener({ ...options, channel: OUTBOX_CHANNEL });
}
