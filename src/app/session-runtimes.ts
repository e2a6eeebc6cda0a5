/**
 * The WhatsApp numbers this process runs: one SessionRuntime per session whose lease it holds
 * (src/sessions/leases.ts). At start-up the service's own configuration becomes the session `default`
 * (its auth profile kept, so an upgrade needs no new pairing), and the process takes the leases of up to
 * WA_MAX_SESSIONS enabled sessions nobody else holds. After that, rounds three times per lease renew
 * what is held (proving each fence), stop what was lost (taken over, disabled, removed, pinned to another
 * host), start anew what changed (auth profile, pairing), and take free sessions while there is room; a
 * change of wa_sessions (its trigger notifies wa_sessions_changed: a session added, enabled, let go of)
 * starts a round at once. A watchdog on this process's own clock stops a session whose lease could not be
 * renewed in time, before another process may take it; on shutdown every browser is closed, then every
 * lease let go of, so the others take the sessions at once.
 */
import type pg from 'pg';
import type { Config } from '../config/index.js';
import { ChannelListener } from '../db/listener.js';
import { DEFAULT_SESSION } from '../outbox/enqueue.js';
import type { Logger } from '../lib/logger.js';
import { SingleFlight } from '../lib/single-flight.js';
import { performance } from 'node:perf_hooks';
import os from 'node:os';
import { isAlive } from '../lib/processes.js';
import { deadPredecessors, nextTakeoverInMs, releaseSession, renewEveryMs, renewLeases, stopAllowanceMs, takeSessions, Tenure, type LeaseTerms } from '../sessions/leases.js';
import { SESSIONS_CHANNEL, type SessionRecord } from '../sessions/registry.js';
import { pruneCommands, SESSION_COMMANDS_CHANNEL } from '../sessions/live-view.js';
import type { Transport } from '../whatsapp/transport.js';
import type { RunningSessions } from '../http/deps.js';
import { SessionRuntime, type SessionRuntimeDeps } from './session-runtime.js';

export interface SessionRuntimesOptions {
  deps: SessionRuntimeDeps;
  /** The transport of a session (the service's own configuration for `default`). */
  transportFor: (session: SessionRecord) => Transport;
  connectionString: string;
  /** How many sessions this process runs at most, and the label they may be pinned to (config.cluster). */
  cluster: Config['cluster'];
  /** The id of this process's data directory (dataHome()). */
  home: string;
  /**
   * A session was just taken: its rows still held by the process that had it are put back (that process
   * can no longer prove the fence), before this process sends for it.
   */
  recoverRows?: (session: string) => Promise<void>;
}

/** What a running session was built from: a change of it starts the session anew. */
function fingerprint(session: SessionRecord): string {
  return JSON.stringify([session.authProfile, session.pairing, session.pairPhone]);
}

interface Held {
  runtime: SessionRuntime;
  fingerprint: string;
  tenure: Tenure;
}

/** How often each held lease is checked against this process's own clock (no database needed). */
const WATCHDOG_MS = 250;

export class SessionRuntimes implements RunningSessions {
  private readonly runtimes = new Map<string, Held>();
  private readonly changeListeners = new Set<(runtime: SessionRuntime, change: 'started' | 'stopped') => void>();
  private readonly logger: Logger;
  private readonly pool: pg.Pool;
  private readonly terms: LeaseTerms;
  /** True once the whole set was started by the service (a session taken after that starts at once). */
  private running = false;
  /** Shutting down: leases are renewed until the browsers are closed, then let go; nothing new is taken. */
  private stopping = false;
  private readonly follow: SingleFlight;
  private nextRound: NodeJS.Timeout | null = null;
  private watchdog: NodeJS.Timeout | null = null;
  /** Sessions being stopped because their lease was lost or is ending (kill() reaches their browsers too). */
  private readonly losing = new Map<Promise<void>, SessionRuntime>();

  constructor(private readonly options: SessionRuntimesOptions) {
    this.logger = options.deps.logger.child({ component: 'sessions' });
    this.pool = options.deps.pool;
    this.terms = { owner: options.deps.owner, hostLabel: options.cluster.hostLabel, leaseMs: options.cluster.sessionLeaseMs, home: options.home };
    this.follow = new SingleFlight(() => this.round(), (err) => this.logger.error({ err: err.message }, 'could not renew or take session leases'));
  }

  /** Renews the leases held here and takes free sessions while there is room. */
  reconcile(): void {
    this.follow.trigger();
  }

  /** Resolves when the runtimes match the table as last read. */
  settled(): Promise<void> {
    return this.follow.idle();
  }

  /**
   * Takes the leases of up to WA_MAX_SESSIONS enabled sessions and builds their runtimes (nothing
   * started); from now on the leases are renewed, and each is watched by this process's own clock.
   */
  async load(): Promise<void> {
    const sentAt = performance.now();
    const won = await takeSessions(this.pool, this.terms, this.options.cluster.maxSessions, await this.deadPredecessors());
    for (const { session, fence } of won) {
      await this.options.recoverRows?.(session.name);
      this.build(session, new Tenure(session.name, fence, sentAt, this.terms.leaseMs));
    }
    await pruneCommands(this.pool).catch(() => undefined);
    if (won.length > 0) this.logger.info({ sessions: won.map((w) => `${w.session.name} (fence ${w.fence})`), host: this.terms.hostLabel }, 'took the leases of these sessions');
    this.schedule(renewEveryMs(this.terms.leaseMs));
    this.watchdog = setInterval(() => this.checkTenures(), WATCHDOG_MS);
    this.watchdog.unref();
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
    this.reconcile();
  }

  async stopDeliveries(): Promise<void> {
    this.stopping = true;
    await this.follow.idle();
    await Promise.all(this.list().map((r) => r.stopDelivery()));
  }

  /** Closes every browser, then lets go of the sessions' leases: other processes take them at once. */
  async stopTransports(): Promise<void> {
    this.stopping = true;
    await this.follow.idle();
    await Promise.all(this.list().map((r) => r.stopTransport()));
    await Promise.all([...this.losing.keys()]);
    this.follow.stop();
    await this.follow.idle();
    this.clearTimers();
    for (const [name, held] of [...this.runtimes]) {
      if (!held.tenure.live()) continue; // stopped by its own clock: the lease lapses by itself
      await releaseSession(this.pool, this.terms.owner, name, held.tenure.fence, `handed over: ${this.terms.owner} stopped`).catch((err: Error) =>
        this.logger.warn({ session: name, err: err.message }, 'could not let go of the session; another process takes it when its lease ends'),
      );
    }
  }

  async stopIntakes(): Promise<void> {
    await Promise.all(this.list().map((r) => r.stopIntake()));
  }

  kill(): void {
    this.clearTimers();
    for (const r of [...this.list(), ...this.losing.values()]) r.transport.kill?.();
  }

  /** The listener that makes the runtimes follow wa_sessions (and take sessions let go of elsewhere). */
  watcher(): ChannelListener {
    return new ChannelListener({
      connectionString: this.options.connectionString,
      channel: SESSIONS_CHANNEL,
      logger: this.logger,
      onNotify: () => this.reconcile(),
      onReconnect: () => this.reconcile(),
    });
  }

  /** The listener that hands each session's holder what other instances ask of it (pairing code, logout). */
  commandWatcher(): ChannelListener {
    const run = (runtime: SessionRuntime | undefined) =>
      void runtime?.runCommands().catch((err: Error) => this.logger.warn({ session: runtime.name, err: err.message }, 'could not carry out a command from another instance'));
    return new ChannelListener({
      connectionString: this.options.connectionString,
      channel: SESSION_COMMANDS_CHANNEL,
      logger: this.logger,
      onNotify: (session) => run(this.get(session)),
      onReconnect: () => this.list().forEach(run),
    });
  }

  describe(): string {
    return this.list().map((r) => r.describe()).join('; ') || 'no session held here';
  }

  private build(session: SessionRecord, tenure: Tenure): SessionRuntime {
    const runtime = new SessionRuntime(session.name, this.options.transportFor(session), this.options.deps, tenure);
    this.runtimes.set(session.name, { runtime, fingerprint: fingerprint(session), tenure });
    return runtime;
  }

  /** Processes that ran on this data directory before and are gone (a crash): their sessions need no wait. */
  private async deadPredecessors(): Promise<string[]> {
    const dead = await deadPredecessors(this.pool, this.terms, os.hostname(), isAlive);
    if (dead.length > 0) this.logger.info({ predecessors: dead }, 'the process that ran on this data directory before is gone: its sessions are taken now');
    return dead;
  }

  private schedule(ms: number): void {
    if (this.nextRound) clearTimeout(this.nextRound);
    this.nextRound = setTimeout(() => this.reconcile(), ms);
    this.nextRound.unref();
  }

  private clearTimers(): void {
    if (this.nextRound) clearTimeout(this.nextRound);
    if (this.watchdog) clearInterval(this.watchdog);
    this.nextRound = this.watchdog = null;
  }

  /** A lease this process could not renew in time: the session stops now, before its lease may end. */
  private checkTenures(): void {
    for (const [name, held] of this.runtimes) {
      if (!held.tenure.live()) this.lose(name, held, 'its lease could not be renewed in time (database out of reach, or this process was frozen)');
    }
  }

  /** Stops a session this process no longer holds (or must stop holding): its browser first. */
  private lose(name: string, held: Held, why: string): void {
    if (this.runtimes.get(name) !== held) return;
    this.runtimes.delete(name);
    this.logger.warn({ session: name, fence: held.tenure.fence }, `session stopped here: ${why}`);
    const losing = held.runtime
      .abandon(stopAllowanceMs(this.terms.leaseMs))
      .then(async () => {
        this.tell(held.runtime, 'stopped');
        // Still this process's (disabled, pinned elsewhere, or a lease that ran short but was not taken):
        // let go now that the browser is gone, so it can be taken again without waiting for the lease to end.
        await releaseSession(this.pool, this.terms.owner, name, held.tenure.fence, `stopped on ${this.terms.owner}: ${why}`).catch(() => undefined);
      });
    this.losing.set(losing, held.runtime);
    void losing.finally(() => this.losing.delete(losing));
  }

  /** One round: renew, stop what was lost, restart what changed, take what is free while there is room. */
  private async round(): Promise<void> {
    try {
      await this.renew();
      if (this.running && !this.stopping) await this.take();
    } finally {
      if (!this.stopping || this.runtimes.size > 0) await this.scheduleNext();
    }
  }

  private async renew(): Promise<void> {
    const held = [...this.runtimes.entries()];
    if (held.length === 0) return;
    const sentAt = performance.now();
    const renewed = new Map((await renewLeases(this.pool, this.terms, held.map(([session, h]) => ({ session, fence: h.tenure.fence })))).map((s) => [s.name, s]));
    for (const [name, h] of held) {
      // Lost meanwhile (the watchdog): a late renewal never brings it back.
      if (this.runtimes.get(name) !== h) continue;
      const session = renewed.get(name);
      if (!session) {
        this.lose(name, h, 'it was taken over, disabled, removed or pinned to another host');
        continue;
      }
      h.tenure.renewed(sentAt);
      // Re-paired (auth profile or pairing changed): stopped and let go outside this round, so the other
      // sessions' renewals never wait for its browser; the next round (here or elsewhere) starts it anew.
      if (!this.stopping && fingerprint(session) !== h.fingerprint) this.lose(name, h, 'its auth profile or pairing changed: it starts anew');
    }
  }

  private async take(): Promise<void> {
    const room = this.options.cluster.maxSessions - this.runtimes.size - this.losing.size;
    if (room <= 0) return;
    const dead = await this.deadPredecessors();
    const sentAt = performance.now();
    for (const { session, fence } of await takeSessions(this.pool, this.terms, room, dead)) {
      this.logger.info({ session: session.name, fence }, 'took the lease of a session: starting it');
      await this.options.recoverRows?.(session.name);
      await this.start(session, new Tenure(session.name, fence, sentAt, this.terms.leaseMs));
    }
  }

  private async start(session: SessionRecord, tenure: Tenure): Promise<void> {
    const runtime = this.build(session, tenure);
    try {
      await runtime.start();
      this.tell(runtime, 'started');
    } catch (err) {
      this.logger.error({ session: session.name, err: (err as Error).message }, 'the session could not start: its lease is let go for another process to try');
      this.runtimes.delete(session.name);
      await runtime.stop().catch(() => undefined);
      await releaseSession(this.pool, this.terms.owner, session.name, tenure.fence, `could not start on ${this.terms.owner}: ${(err as Error).message}`).catch(() => undefined);
    }
  }

  /** The next round: at the next renewal, or sooner when a session held elsewhere may be taken. */
  private async scheduleNext(): Promise<void> {
    let ms = renewEveryMs(this.terms.leaseMs);
    if (this.running && !this.stopping && this.runtimes.size < this.options.cluster.maxSessions) {
      const takeover = await nextTakeoverInMs(this.pool, this.terms).catch(() => null);
      if (takeover !== null) ms = Math.min(ms, takeover + 50);
    }
    this.schedule(ms);
  }

  private tell(runtime: SessionRuntime, change: 'started' | 'stopped'): void {
    for (const listener of this.changeListeners) listener(runtime, change);
  }
}
