/**
 * How the composition root connects parts that do not know each other: the outbox sweep job and the
 * dispatchers, webhook events and what causes them, a dry run and a backlog it must not eat.
 */
import type pg from 'pg';
import type { Config } from '../config/index.js';
import type { OutboxMaintenance } from '../delivery/outbox-maintenance.js';
import type { JobHandler } from '../jobs.js';
import type { Logger } from '../lib/logger.js';
import { backlogSize } from '../outbox/listing.js';
import { wakeDispatchers } from '../outbox/channel.js';
import type { OutcomeHooks } from '../outbox/outcomes.js';
import type { WebhookEvents } from '../webhooks/events.js';
import { DryRunBacklogError } from '../whatsapp/log-transport.js';
import type { Governor } from '../governor/governor.js';
import type { Transport } from '../whatsapp/transport.js';
import { component, type Component } from './components.js';

/** A dry run marks what it logs as sent: it must not eat messages waiting for WhatsApp. */
export async function refuseDryRunBacklog(pool: pg.Pool, config: Config, logger: Logger): Promise<void> {
  const backlog = await backlogSize(pool);
  if (backlog > 0 && !config.wa.dryRunTakeBacklog) throw new DryRunBacklogError(backlog);
  if (backlog > 0) logger.warn({ rows: backlog }, 'dry run over a backlog (WA_DRY_RUN_TAKE_BACKLOG=true): these messages are logged, not sent; cicero-wa outbox retry --dry-run puts them back');
}

/** The outbox sweep: this process's dispatchers, or (without any) every running service's. */
export function pollHandler(local: { trigger(reason: string): void } | null, pool: pg.Pool): JobHandler {
  if (local) {
    return async () => {
      local.trigger('poll');
    };
  }
  return async () => {
    await wakeDispatchers(pool);
    return { detail: 'running services were asked to sweep the outbox' };
  };
}

/**
 * Webhook events the outbox causes: a message's outcome and its receipts, in the transaction that
 * records them, whichever part of the service records it.
 */
export function wireWebhookEvents(webhooks: WebhookEvents, hooks: OutcomeHooks): void {
  if (webhooks.wants('message.sent') || webhooks.wants('message.failed')) {
    hooks.onOutcome('*', async (tx, e) => {
      const payload = { id: e.row.id, type: e.row.type, recipient: e.row.recipient, reason: e.reason, sentAt: e.sentAt?.toISOString() ?? null };
      await webhooks.record(tx, e.status === 'sent' ? 'message.sent' : 'message.failed', payload, e.row.recipient);
    });
  }
  if (webhooks.wants('message.ack')) {
    // WhatsApp's message ids read `true_<chat>_<id>`: the chat keeps a chat's receipts in order.
    hooks.onReceipt(async (tx, r) => void (await webhooks.record(tx, 'message.ack', { ids: r.rowIds, messageId: r.messageId, ack: r.ack }, r.messageId.split('_')[1] ?? '')));
  }
}

/** A session's state changes as `session.state` webhook events; returns the unsubscribe. */
export function wireSessionStateEvents(webhooks: WebhookEvents, transport: Transport, session: string, pool: pg.Pool, logger: Logger): () => void {
  if (!webhooks.wants('session.state')) return () => undefined;
  return transport.onStateChange((status) => {
    const payload = { session, state: status.state, reason: status.reason, since: status.since.toISOString() };
    webhooks.record(pool, 'session.state', payload, `session:${session}`).catch((err: Error) => logger.warn({ err: err.message }, 'could not record the session.state webhook event'));
  });
}

/**
 * The governor hears a session: the number paired (the warm-up starts with it), the connection
 * dropping while paired, and WhatsApp asking for a new QR code after it was paired (a logout or a ban:
 * critical, the session pauses until an operator resumes it). Returns the unsubscribe.
 */
export function wireGovernor(governor: Governor, transport: Transport, session: string, logger: Logger): () => void {
  let paired = false;
  const notePaired = () =>
    governor.notePaired(session, transport.details?.().number ?? null).catch((err: Error) => logger.warn({ err: err.message }, 'could not record the pairing'));
  const offState = transport.onStateChange((status) => {
    if (status.state === 'ready') {
      paired = true;
      void notePaired();
    } else if (paired && (status.state === 'disconnected' || status.state === 'reconnecting')) {
      void governor.signal(session, 'disconnected', status.reason);
    }
  });
  const offPairing = transport.onPairing((event) => {
    if (event.kind === 'paired') void notePaired();
    if (event.kind === 'qr' && paired) {
      paired = false;
      void governor.signal(session, 'logged_out', 'WhatsApp asked for a new QR code after the number was paired');
    }
  });
  return () => {
    offState();
    offPairing();
  };
}

/** The outbox maintenance once at start-up, before anything sends; a failure is logged (the job runs again within a minute). */
export function maintenanceAtStart(maintenance: OutboxMaintenance, logger: Logger): Component {
  return component(
    'outbox maintenance',
    async () => {
      await maintenance.run().catch((err: Error) => logger.warn({ err: err.message }, 'outbox maintenance at start-up failed; the outbox-maintenance job tries again'));
    },
    async () => undefined,
  );
}
