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
import type { Transport, TransportStatus } from '../whatsapp/transport.js';
import type { Tenure } from '../sessions/leases.js';
import { finishCommand, publishLiveView, takeCommands, type LiveView } from '../sessions/live-view.js';
import { carryOut } from './session-commands.js';
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
  /** This process in wa_outbox.locked_by and wa_sessions.owner (instanceId()). */
  owner: string;
}

export class SessionRuntime {
  readonly delivery: SessionDelivery;
  readonly intake: Intake;
  private readonly logger: Logger;
  private readonly unsubscribe: Array<() => void> = [];
  private started = { intake: false, transport: false, delivery: false };
  private stateWrites: Promise<void> = Promise.resolve();

  constructor(
    readonly name: string,
    readonly transport: Transport,
    private readonly deps: SessionRuntimeDeps,
    /** The session's lease as this process holds it: its claims, hand-overs and state writes prove it. */
    readonly tenure: Tenure | null = null,
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
      tenure,
      instanceId: deps.owner,
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
      transport.onStateChange((status) => this.keepState(status)),
      // A new QR code or pairing code: every instance's dashboard shows it (the live view).
      transport.onPairing(() => void this.keepState(this.transport.status())),
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
    await this.keepState(this.transport.status());
    this.started.transport = true;
    await this.transport.start();
  }

  /**
   * The state in wa_sessions and the live view every instance reads, written one after the other (never
   * an older state over a newer one).
   */
  private keepState(status: TransportStatus): Promise<void> {
    const { pool } = this.deps;
    const number = status.state === 'ready' ? (this.transport.details?.().number ?? null) : null;
    const view = this.view();
    this.stateWrites = this.stateWrites.then(async () => {
      try {
        const holder = this.tenure ? { owner: this.deps.owner, fence: this.tenure.fence } : null;
        await recordState(pool, this.name, status.state, status.reason, status.since, holder);
        if (number) await recordPairedNumber(pool, this.name, number, holder);
        if (holder) await publishLiveView(pool, this.name, holder, view);
      } catch (err) {
        this.logger.warn({ err: (err as Error).message }, 'could not record the session state');
      }
    });
    return this.stateWrites;
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
    await this.stateWrites;
  }

  async stopIntake(): Promise<void> {
    this.started.intake = false;
    await this.intake.stop();
  }

  /**
   * The lease was lost or is ending: WhatsApp is closed at once, the delivery is stopped beside it (its
   * hand-overs already refuse, see Tenure), and a browser that does not close within `killAfterMs` is
   * killed. Resolves once the browser is gone; the rest of the stop goes on behind.
   */
  async abandon(killAfterMs: number): Promise<void> {
    // Unhooked first: closing on purpose is no dropped connection for the governor, and the state is no longer this process's to write.
    for (const off of this.unsubscribe.splice(0)) off();
    // close() next: it takes the browser; the stop's own close() then finds nothing left to close.
    const closing = this.transport.close().catch(() => undefined);
    const rest = this.stop().catch((err: Error) => this.logger.warn({ err: err.message }, 'error while stopping a session whose lease was lost'));
    const closed = await Promise.race([closing.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), killAfterMs).unref())]);
    if (!closed) {
      this.logger.warn({ afterMs: killAfterMs }, "the session did not finish closing in time (a last save of its login may still run): its browser, if still running, is killed");
      // Every browser of the transport: the current one and one a recovery or the close is still destroying.
      this.transport.kill?.();
      await Promise.race([closing, new Promise<void>((resolve) => setTimeout(resolve, 3000).unref())]);
    }
    void rest;
  }

  /** The session's WhatsApp state as the API shows it, here and (published) on every other instance. */
  view(): LiveView {
    const transport = this.transport;
    const status = transport.status();
    const details = transport.details?.() ?? { webVersion: null, number: null, pageFix: null };
    const pairing = transport.pairing();
    return {
      transport: transport.name,
      dryRun: transport.dryRun === true,
      state: status.state,
      reason: status.reason,
      since: status.since.toISOString(),
      retry: status.retry ?? null,
      webVersion: details.webVersion,
      number: details.number,
      pageFix: details.pageFix ?? null,
      pairing: pairing ? { qr: pairing.qr, code: pairing.code, at: pairing.at.toISOString() } : null,
      // Whether a number was ever paired on this session and is not logged out: what logout and the governor's "sending" need.
      paired: transport.pairedSince ? transport.pairedSince() !== null : details.number !== null || status.state === 'ready',
    };
  }

  /** Carries out what other instances asked of this session (a pairing code, a logout), each once. */
  async runCommands(): Promise<void> {
    if (!this.tenure || !this.started.transport) return;
    const { pool, owner } = this.deps;
    for (const command of await takeCommands(pool, this.name, { owner, fence: this.tenure.fence })) {
      const outcome = await carryOut(this.transport, command.command, command.argument);
      this.logger.info({ command: command.command, id: command.id, ok: outcome.ok }, 'carried out a command from another instance');
      await finishCommand(pool, command.id, outcome);
    }
  }

  /** `ready`, or the state and its reason. */
  describe(): string {
    const status = this.transport.status();
    return `${this.name}: ${status.state}${status.reason ? ` (${status.reason})` : ''}`;
  }
}
