/**
 * One WhatsApp session's delivery: its dispatcher and its confirmer, built side by side on the session's
 * transport and sharing what they must (the hand-overs still in flight, a dispatcher told of unknown
 * outcomes, a confirmer that wakes the dispatcher when a row goes back to the retry path), and what the
 * session's number knows of its groups (group-membership.ts). The outcome
 * hooks and the governor are the process's, shared by every session.
 */
import type pg from 'pg';
import type { Config } from '../config/index.js';
import type { Governor } from '../governor/governor.js';
import type { Logger } from '../lib/logger.js';
import { recoveredUnknownPayload } from '../outbox/channel.js';
import { DEFAULT_SESSION } from '../outbox/enqueue.js';
import { OutcomeHooks } from '../outbox/outcomes.js';
import type { Transport } from '../whatsapp/transport.js';
import { Confirmer } from './confirmer.js';
import { Dispatcher, type DispatchObserver } from './dispatcher.js';
import { GroupFollower } from './group-membership.js';
import { retryPolicy } from './retry-policy.js';
import type { SessionTenure } from './hand-over.js';

export interface SessionDeliveryOptions {
  pool: pg.Pool;
  transport: Transport;
  logger: Logger;
  dispatch: Config['dispatch'];
  defaultCountryCode: string;
  /** The process's outcome hooks (default: a registry of this delivery's own). */
  hooks?: OutcomeHooks;
  governor?: Governor | null;
  /** The WhatsApp session (default `default`). */
  session?: string;
  /** Identifies this process in `locked_by` (default: the process's instance id). */
  instanceId?: string;
  random?: () => number;
  /** How old an own-message event must be before it confirms an unknown send (tests shorten it). */
  confirmSettleMs?: number;
  /** The session's lease as this process holds it (the service's sessions): every claim and hand-over proves it. */
  tenure?: SessionTenure | null;
}

export class SessionDelivery {
  readonly dispatcher: Dispatcher;
  readonly confirmer: Confirmer;
  readonly hooks: OutcomeHooks;
  /** The groups of the session's number, kept in wa_group_members. */
  readonly groups: GroupFollower;

  constructor(options: SessionDeliveryOptions) {
    const session = options.session ?? DEFAULT_SESSION;
    const inFlightSends = new Set<number>();
    const { pool, transport, logger, dispatch, governor = null } = options;
    this.groups = new GroupFollower(pool, transport, session, logger);
    const hooks = (this.hooks = options.hooks ?? new OutcomeHooks());
    this.confirmer = new Confirmer({
      pool,
      transport,
      logger,
      session,
      confirmTimeoutMs: dispatch.confirmTimeoutMs,
      settleGraceMs: dispatch.settleGraceMs,
      resendChecked: dispatch.resendChecked,
      retry: retryPolicy(dispatch, hooks, logger, options.random),
      ...(options.confirmSettleMs !== undefined ? { settleMs: options.confirmSettleMs } : {}),
      onRequeue: () => this.dispatcher.trigger('ack error'),
      isInFlight: (id) => inFlightSends.has(id),
      governor,
      hooks,
    });
    this.dispatcher = new Dispatcher({
      pool,
      transport,
      logger,
      dispatch,
      defaultCountryCode: options.defaultCountryCode,
      hooks,
      confirmations: this.confirmer,
      inFlightSends,
      session,
      governor,
      ...(options.instanceId ? { instanceId: options.instanceId } : {}),
      ...(options.random ? { random: options.random } : {}),
      tenure: options.tenure ?? null,
    });
  }

  get session(): string {
    return this.dispatcher.session;
  }

  /** The confirmer listens first, so no event of a send the dispatcher makes is missed; the groups are followed from the start. */
  start(): void {
    this.groups.start();
    this.confirmer.start();
    this.dispatcher.start();
  }

  /** The dispatcher finishes the send in flight, then the confirmer its pass. */
  async stop(): Promise<void> {
    await this.dispatcher.stop();
    await this.confirmer.stop();
    await this.groups.stop();
  }

  trigger(reason: string): void {
    this.dispatcher.trigger(reason);
  }

  /**
   * A notification on the outbox channel: the dispatcher drains; a payload saying this session's sends
   * were recovered with an unknown outcome also wakes the confirmer.
   */
  notified(payload: string): void {
    this.dispatcher.trigger('notify');
    if (payload === recoveredUnknownPayload(this.session)) this.confirmer.trigger();
  }

  idle(): Promise<void> {
    return this.dispatcher.idle();
  }

  observe(observer: DispatchObserver): void {
    this.dispatcher.observe(observer);
  }
}
