/**
 * The dispatcher's gate to the ban-risk governor: a permit before each message (its places in the
 * budgets taken), given back when the send never reached WhatsApp; the session's pause; and the risk a
 * failed send carries. Without a governor every message passes and nothing is counted.
 */
import type { Governor, Permit } from '../governor/governor.js';
import type { Logger } from '../lib/logger.js';
import type { SendError } from '../whatsapp/transport.js';
import type { Persist } from './persist.js';

export type Granted = Extract<Permit, { ok: true }>;
export type Refused = Extract<Permit, { ok: false }>;

const NO_GOVERNOR: Granted = { ok: true, reservations: [], typingMs: 0, cold: false };

export class GovernorGate {
  constructor(
    private readonly governor: Governor | null,
    private readonly session: string,
    private readonly logger: Logger,
    private readonly persist: Persist,
  ) {}

  /** The governor's word on a message of `parts` parts to `chatId`: granted (with its reservations), or refused with until when and why. */
  async permit(row: { id: number; content: string | null }, chatId: string, parts: number): Promise<Permit> {
    if (!this.governor || parts === 0) return NO_GOVERNOR;
    const governor = this.governor;
    return this.persist(() => governor.permit({ session: this.session, chatId, text: row.content ?? '', parts, outboxId: row.id }));
  }

  /** The session's pause (until when, null: until an operator resumes it), or null when it is not paused. */
  async pause(): Promise<{ until: Date | null; reason: string } | null> {
    return this.governor ? this.governor.pausedUntil(this.session) : null;
  }

  /** A send that never reached WhatsApp gives its places in the budgets back. */
  async giveBack(permit: Granted, handedOver: boolean): Promise<void> {
    if (handedOver || permit.reservations.length === 0 || !this.governor) return;
    await this.governor.release(permit.reservations).catch((err: Error) => this.logger.warn({ err: err.message }, 'could not give budget places back'));
  }

  /** What a failed send says about the number (a number not on WhatsApp, a refused send), told to the governor. */
  async failed(error: SendError): Promise<void> {
    if (!this.governor) return;
    if (error.reason === 'not_on_whatsapp') await this.governor.signal(this.session, 'not_on_whatsapp', error.message);
    else if (error.kind === 'permanent' || error.reason === 'send_error') await this.governor.signal(this.session, 'send_failed', error.message);
  }
}
