/**
 * Chat affinity fed by confirmed sends: a delivered receipt (ack >= 2) on a message of a session records
 * that the session reached the person (sessions/affinity.ts), in the transaction that records the
 * receipt. The inbox's half is the intake's (inbound/intake.ts). Registered once per process on the
 * outcome hooks' registry (app/wiring.ts).
 */
import type { Queryable } from '../db/pool.js';
import type { OutcomeHooks, ReceiptEvent } from '../outbox/outcomes.js';
import { recordDelivered } from '../sessions/affinity.js';
import { normaliseRecipient } from '../whatsapp/recipient.js';

/** Delivered (ack 2) and beyond (read, played). */
const DELIVERED_ACK = 2;

/** Records, for the rows a delivered receipt concerns, that their session reached their personal chat. */
export async function recordDeliveredReceipt(db: Queryable, event: ReceiptEvent, defaultCountryCode: string): Promise<void> {
  if (event.ack < DELIVERED_ACK || event.rowIds.length === 0) return;
  const { rows } = await db.query<{ session: string | null; recipient: string }>(
    'SELECT session, recipient FROM wa_outbox WHERE id = ANY($1::int[])',
    [event.rowIds],
  );
  const deliveries = rows.flatMap((r) => {
    const chat = normaliseRecipient(r.recipient, defaultCountryCode);
    return r.session !== null && chat.ok && !chat.chatId.endsWith('@g.us') ? [{ chatId: chat.chatId, session: r.session }] : [];
  });
  await recordDelivered(db, deliveries);
}

/** Registers the receipt hook that keeps chat affinity from delivered sends. */
export function affinityHooks(hooks: OutcomeHooks, defaultCountryCode: string): void {
  hooks.onReceipt((tx, event) => recordDeliveredReceipt(tx, event, defaultCountryCode));
}
