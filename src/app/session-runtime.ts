/**
 * One WhatsApp number in this process: its transport, its delivery (dispatcher, confirmer, the groups
 * of its number), and its intake of incoming messages, each built for the session and started in the
 * order that misses nothing (the intake listens before WhatsApp starts; the dispatcher starts last).
 * What connects it to the rest of the service is wired here too: the governor hears its state and its
 * pairing, its state is kept in wa_sessions, the `session.state` webhook event, and its QR codes drawn
 * on the terminal.
 */
import type pg from 'pg';
import type { Config } from '../config/index.js';
import { SessionDelivery } from '../delivery/session-delivery.js';
import { inboundComplaints } from '../features/complaints/inbound-complaints.js';
import { optInCommands } from '../features/notifwa/opt-in.js';
import type { Governor } from '../governor/governor.js';
import { Intake } from '../inbound/intake.js';
import type { Logger } from '../lib/logger.js';
import type { OutcomeHooks } from '../outbox/outcomes.js';
import { recordPairedNumber, recordState } from '../sessions/registry.js';
import type { WebhookEvents } from '../webhooks/events.js';
import { watchTransport } from '../whatsapp/state-log.js';
import { drawQrCodes } from '../whatsapp/terminal-qr.js';
import type { Transport } from '../whatsapp/transport.js';
import { wireGovernor, wireSessionStateEvents } from './wiring.js';

export interface SessionRuntimeDeps {
  pool: pg.Pool;
  config: Config;
  logger: Logger;
  governor: Governor;
  hooks: OutcomeHooks;
  webhooks: WebhookEvents;
  /** Where QR codes are drawn as terminal pictures (null: not drawn). */
  drawQr: ((text: string) => void) | null;
}

export class SessionRuntime {
  readonly delivery: SessionDelivery;
  readonly intake: Intake;
  private readonly logger: Logger;
  private readonly unsubscribe: Array<() => void> = [];
  private started = { intake: false, transport: false, delivery: false };

  constructor(
    readonly name: string,
    readonly transport: Transport,
    private readonly deps: SessionRuntimeDeps,
  ) {
    const { pool, config, governor, hooks, webhooks } = deps;
    this.logger = deps.logger.child({ session: name });
    this.delivery = new SessionDelivery({
      pool,
      transport,
      session: name,
      logger: this.logger.child({ component: 'delivery' }),
      dispatch: config.dispatch,
      defaultCountryCode: config.wa.defaultCountryCode,
      hooks,
      governor,
    });
    // Every number understands complaints and notifwa#on/off: what answers goes out from the number that heard it.
    this.intake = new Intake({
      pool,
      session: name,
      transport,
      webhooks,
      handlers: [
        inboundComplaints(webhooks, {
          perMessage: config.complaints.perMessage,
          perSenderHour: config.complaints.perSenderHour,
          defaultCountryCode: config.wa.defaultCountryCode,
          timeZone: config.cron.timezone,
        }),
        ...(config.inbound.optInCommands ? [optInCommands(config.wa.defaultCountryCode)] : []),
      ],
      logger: this.logger.child({ component: 'inbound' }),
    });
    this.unsubscribe.push(
      wireGovernor(governor, transport, name, this.logger),
      wireSessionStateEvents(webhooks, transport, name, pool, this.logger),
      transport.onStateChange((status) => {
        recordState(pool, name, status.state, status.reason, status.since).catch((err: Error) => this.logger.warn({ err: err.message }, 'could not record the session state'));
        if (status.state === 'ready') {
          const number = transport.details?.().number ?? null;
          if (number) recordPairedNumber(pool, name, number).catch((err: Error) => this.logger.warn({ err: err.message }, 'could not record the paired number'));
        }
      }),
    );
  }

  /** Listening for incoming messages before WhatsApp starts: nothing it reports is missed. */
  async startIntake(): Promise<void> {
    await this.intake.start();
    this.started.intake = true;
  }

  async startTransport(): Promise<void> {
    watchTransport(this.transport, this.logger, this.deps.config.cron.timezone);
    if (this.deps.drawQr) this.unsubscribe.push(drawQrCodes(this.transport, this.deps.drawQr, this.logger));
    await recordState(this.deps.pool, this.name, this.transport.status().state, this.transport.status().reason).catch((err: Error) =>
      this.logger.warn({ err: err.message }, 'could not record the session state'),
    );
    this.started.transport = true;
    await this.transport.start();
  }

  startDelivery(): void {
    this.delivery.start();
    this.started.delivery = true;
  }

  /** The whole runtime, in order (a session added while the service runs). */
  async start(): Promise<void> {
    await this.startIntake();
    await this.startTransport();
    this.startDelivery();
  }

  /** In the reverse order: the dispatcher finishes its send in flight, then WhatsApp closes, then the intake. */
  async stop(): Promise<void> {
    if (this.started.delivery) await this.stopDelivery();
    if (this.started.transport) await this.stopTransport();
    if (this.started.intake) await this.stopIntake();
  }

  async stopDelivery(): Promise<void> {
    this.started.delivery = false;
    await this.delivery.stop();
  }

  async stopTransport(): Promise<void> {
    this.started.transport = false;
    for (const off of this.unsubscribe.splice(0)) off();
    await this.transport.close();
  }

  async stopIntake(): Promise<void> {
    this.started.intake = false;
    await this.intake.stop();
  }

  /** `ready`, or the state and its reason. */
  describe(): string {
    const status = this.transport.status();
    return `${this.name}: ${status.state}${status.reason ? ` (${status.reason})` : ''}`;
  }
}
