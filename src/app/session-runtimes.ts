/**
 * The WhatsApp numbers this process runs: one SessionRuntime per enabled session of wa_sessions. At
 * start-up the service's own configuration becomes the session `default` (its auth profile kept, so an
 * upgrade needs no new pairing), and every enabled session gets a runtime. After that the runtimes
 * follow the table: a session added or enabled (CLI, API, dashboard) starts at once, one removed or
 * disabled stops, one whose auth profile or pairing changed starts anew (the table's trigger notifies
 * wa_sessions_changed; the listener's reconnect and start-up read the table whole).
 */
import type pg from 'pg';
import type { Config } from '../config/index.js';
import { createTransport } from '../whatsapp/index.js';
import { ChannelListener } from '../db/listener.js';
import { DEFAULT_SESSION } from '../outbox/enqueue.js';
import type { Logger } from '../lib/logger.js';
import { SingleFlight } from '../lib/single-flight.js';
import { listSessions, SESSIONS_CHANNEL, type SessionRecord } from '../sessions/registry.js';
import type { Transport } from '../whatsapp/transport.js';
import type { RunningSessions } from '../http/deps.js';
import { SessionRuntime, type SessionRuntimeDeps } from './session-runtime.js';

export interface SessionRuntimesOptions {
  deps: SessionRuntimeDeps;
  /** The transport of a session (the service's own configuration for `default`). */
  transportFor: (session: SessionRecord) => Transport;
  connectionString: string;
}

/** What a running session was built from: a change of it starts the session anew. */
function fingerprint(session: SessionRecord): string {
  return JSON.stringify([session.authProfile, session.pairing, session.pairPhone]);
}

export class SessionRuntimes implements RunningSessions {
  private readonly runtimes = new Map<string, { runtime: SessionRuntime; fingerprint: string }>();
  private readonly changeListeners = new Set<(runtime: SessionRuntime, change: 'started' | 'stopped') => void>();
  private readonly logger: Logger;
  private readonly pool: pg.Pool;
  /** True once the whole set was started by the service (a session added after that starts at once). */
  private running = false;
  private stopping = false;
  private readonly follow: SingleFlight;

  constructor(private readonly options: SessionRuntimesOptions) {
    this.logger = options.deps.logger.child({ component: 'sessions' });
    this.pool = options.deps.pool;
    this.follow = new SingleFlight(() => this.followTable(), (err) => this.logger.error({ err: err.message }, 'could not follow the sessions table'));
  }

  /** Reads wa_sessions and starts, stops or restarts runtimes to match it. */
  reconcile(): void {
    this.follow.trigger();
  }

  /** Resolves when the runtimes match the table as last read. */
  settled(): Promise<void> {
    return this.follow.idle();
  }

  /** Builds the runtimes of the enabled sessions (nothing started). */
  async load(): Promise<void> {
    for (const session of await listSessions(this.pool, { enabledOnly: true })) this.build(session);
  }

  get(name: string): SessionRuntime | undefined {
    return this.runtimes.get(name)?.runtime;
  }

  list(): SessionRuntime[] {
    return [...this.runtimes.values()].map((r) => r.runtime);
  }

  /** The service's own session when it runs here, else the first (what single-number views show). */
  primary(): SessionRuntime | null {
    return this.get(DEFAULT_SESSION) ?? this.list()[0] ?? null;
  }

  /** Told when a runtime starts or stops while the service runs (metrics follow the sessions). */
  onChange(listener: (runtime: SessionRuntime, change: 'started' | 'stopped') => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  /** The rows the dispatchers of this process hold right now (the maintenance leaves them alone). */
  heldRows(): number[] {
    return this.list().flatMap((r) => r.delivery.dispatcher.heldRows());
  }

  trigger(reason: string): void {
    for (const r of this.list()) r.delivery.trigger(reason);
  }

  notified(payload: string): void {
    for (const r of this.list()) r.delivery.notified(payload);
  }

  // The service starts the parts of every session in its own order (components in app.ts).
  async startIntakes(): Promise<void> {
    for (const r of this.list()) await r.startIntake();
  }

  async startTransports(): Promise<void> {
    for (const r of this.list()) await r.startTransport();
  }

  startDeliveries(): void {
    for (const r of this.list()) r.startDelivery();
    this.running = true;
  }

  async stopDeliveries(): Promise<void> {
    this.stopping = true;
    this.follow.stop();
    await this.follow.idle();
    await Promise.all(this.list().map((r) => r.stopDelivery()));
  }

  async stopTransports(): Promise<void> {
    await Promise.all(this.list().map((r) => r.stopTransport()));
  }

  async stopIntakes(): Promise<void> {
    await Promise.all(this.list().map((r) => r.stopIntake()));
  }

  kill(): void {
    for (const r of this.list()) r.transport.kill?.();
  }

  /** The listener that makes the runtimes follow wa_sessions. */
  watcher(): ChannelListener {
    return new ChannelListener({
      connectionString: this.options.connectionString,
      channel: SESSIONS_CHANNEL,
      logger: this.logger,
      onNotify: () => this.reconcile(),
      onReconnect: () => this.reconcile(),
    });
  }

  describe(): string {
    return this.list().map((r) => r.describe()).join('; ') || 'no enabled session';
  }

  private build(session: SessionRecord): SessionRuntime {
    const runtime = new SessionRuntime(session.name, this.options.transportFor(session), this.options.deps);
    this.runtimes.set(session.name, { runtime, fingerprint: fingerprint(session) });
    return runtime;
  }

  private async followTable(): Promise<void> {
    if (!this.running || this.stopping) return;
    const wanted = new Map((await listSessions(this.pool, { enabledOnly: true })).map((s) => [s.name, s]));
    for (const [name, { runtime, fingerprint: built }] of [...this.runtimes]) {
      const session = wanted.get(name);
      if (session && fingerprint(session) === built) continue;
      this.logger.info({ session: name }, session ? 'session changed: starting it anew' : 'session removed or disabled: stopping it');
      this.runtimes.delete(name);
      await runtime.stop();
      this.tell(runtime, 'stopped');
    }
    for (const session of wanted.values()) {
      if (this.runtimes.has(session.name) || this.stopping) continue;
      const runtime = this.build(session);
      this.logger.info({ session: session.name }, 'session added or enabled: starting it');
      try {
        await runtime.start();
        this.tell(runtime, 'started');
      } catch (err) {
        this.logger.error({ session: session.name, err: (err as Error).message }, 'the session could not start; it is tried again at the next change of the sessions table');
        this.runtimes.delete(session.name);
        await runtime.stop().catch(() => undefined);
      }
    }
  }

  private tell(runtime: SessionRuntime, change: 'started' | 'stopped'): void {
    for (const listener of this.changeListeners) listener(runtime, change);
  }
}

/** The session the single-number configuration describes: `default`, on WA_AUTH_PROFILE, paired as WA_PAIR_PHONE says. */
export function configuredSession(config: Config): { name: string; authProfile: string; pairing: 'qr' | 'code'; pairPhone: string | null } {
  return { name: DEFAULT_SESSION, authProfile: config.wa.authProfile, pairing: config.wa.pairPhone ? 'code' : 'qr', pairPhone: config.wa.pairPhone };
}

/**
 * Each session's transport: `default` is built from the configuration as it always was (WA_AUTH_PROFILE,
 * WA_PAIR_PHONE) unless one is given (tests, the demo); every other on its own auth profile and pairing
 * from wa_sessions, or by `transports` (tests: stand-in numbers).
 */
export function sessionTransports(
  config: Config,
  logger: Logger,
  given: { transport?: Transport; transports?: (session: SessionRecord) => Transport },
): (session: SessionRecord) => Transport {
  return (session) => {
    if (session.name === DEFAULT_SESSION) return given.transport ?? createTransport(config, logger.child({ session: session.name }));
    if (given.transports) return given.transports(session);
    return createTransport(config, logger.child({ session: session.name }), {
      session: session.name,
      authProfile: session.authProfile,
      pairPhone: session.pairing === 'code' ? session.pairPhone : null,
    });
  };
}
