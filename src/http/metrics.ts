/**
 * Prometheus metrics (`GET /metrics`), with prom-client. Two kinds:
 *
 * - counted as it happens in this process: sends by session, outcome and reason, send duration, pickup
 *   latency (how long a row had been due when a dispatcher claimed it), receipts by ack level, HTTP requests;
 * - read from the database at each scrape, so they hold for every instance together: outbox rows by
 *   session, status and type, the oldest due message's age and the messages the governor holds back per
 *   session, each session's risk score, pause and budgets (every session the database knows), job runs
 *   by job and status with the last success, complaints by status; and the transport's state per session.
 *
 * Every series about a number's sending carries its `session` label.
 * Plus prom-client's process metrics (CPU, memory, event loop lag, handles).
 */
import type pg from 'pg';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Governor, SessionStatus } from '../governor/governor.js';
import type { TransportState } from '../whatsapp/transport.js';
import type { RunningSession, RunningSessions } from './running-sessions.js';
import { sessionNames, waitingBySession } from './session-overview.js';

const TRANSPORT_STATES: TransportState[] = ['starting', 'awaiting_qr', 'authenticated', 'ready', 'disconnected', 'reconnecting', 'failed'];

export interface MetricsSources {
  pool: pg.Pool;
  /** The sessions this process runs: their transports, dispatchers and intakes (none in the scheduler role). */
  sessions: RunningSessions;
  /** The ban-risk governor (its state is read from the database at each scrape). */
  governor?: Governor | null;
}

export interface Metrics {
  registry: Registry;
  /** One HTTP request answered (the route's pattern, not its path, so ids do not multiply series). */
  httpRequest(method: string, route: string, status: number, seconds: number): void;
  /** Stops listening to the transport. */
  close(): void;
}

/** A reason short enough to be a label: the machine-readable part before any detail. */
function reasonLabel(reason: string | null): string {
  if (!reason) return '';
  return reason.split(/[:(]/)[0]!.trim().replace(/\s+/g, '_').slice(0, 40);
}

export function createMetrics(sources: MetricsSources): Metrics {
  const { pool } = sources;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];

  const sends = new Counter({
    name: 'cicero_wa_sends_total',
    help: 'Messages (or parts of split messages) given to WhatsApp by this process, by outcome: confirmed (WhatsApp gave the id), unknown (handed over, no id yet), failed (before the hand-over, by reason)',
    labelNames: ['session', 'type', 'outcome', 'reason'],
    registers,
  });
  const sendSeconds = new Histogram({
    name: 'cicero_wa_send_duration_seconds',
    help: 'Time the transport took to send one message or part, by session and outcome',
    labelNames: ['session', 'outcome'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers,
  });
  const pickup = new Histogram({
    name: 'cicero_wa_pickup_latency_seconds',
    help: 'How long a message had been due when a dispatcher of this process claimed it, by session',
    labelNames: ['session'],
    buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120, 600],
    registers,
  });
  const acks = new Counter({
    name: 'cicero_wa_acks_total',
    help: 'Delivery receipts WhatsApp reported, by session and level (-1 error, 1 server, 2 delivered, 3 read, 4 played)',
    labelNames: ['session', 'level'],
    registers,
  });
  const httpRequests = new Counter({
    name: 'cicero_wa_http_requests_total',
    help: 'HTTP requests answered, by method, route and status',
    labelNames: ['method', 'route', 'status'],
    registers,
  });
  const httpSeconds = new Histogram({
    name: 'cicero_wa_http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by method and route',
    labelNames: ['method', 'route'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers,
  });

  // Each session's sends and receipts, counted from the moment it runs here (a session added later too).
  const watched = new Map<RunningSession, () => void>();
  const watch = (session: RunningSession) => {
    const dispatcher = session.delivery.dispatcher;
    dispatcher.observe({
      claimed: (row) => pickup.observe({ session: session.name }, row.waitedMs / 1000),
      sent: (send) => {
        sends.inc({ session: session.name, type: send.type, outcome: send.outcome, reason: reasonLabel(send.reason) });
        sendSeconds.observe({ session: session.name, outcome: send.outcome }, send.durationMs / 1000);
      },
    });
    watched.set(session, session.transport.onAck((_, ack) => acks.inc({ session: session.name, level: String(ack) })));
  };
  for (const session of sources.sessions.list()) watch(session);
  const offChanges = sources.sessions.onChange((session, change) => {
    if (change === 'started') watch(session);
    else {
      watched.get(session)?.();
      watched.delete(session);
    }
  });

  const seen = new Map<string, Record<string, number>>();
  new Counter({
    name: 'cicero_wa_inbound_messages_total',
    help: 'Incoming messages this process heard, by session and result: stored, duplicate (WhatsApp delivered it again), ignored_status, ignored_group (no unit\'s group), handled',
    labelNames: ['session', 'result'],
    registers,
    collect() {
      for (const session of sources.sessions.list()) {
        const stats = session.intake.stats;
        const before = seen.get(session.name) ?? {};
        const now: Record<string, number> = { stored: stats.stored, duplicate: stats.duplicates, ignored_status: stats.ignoredStatus, ignored_group: stats.ignoredGroup, handled: stats.handled };
        // A session started anew counts from zero again: only what it added since is counted.
        for (const [result, value] of Object.entries(now)) this.inc({ session: session.name, result }, Math.max(0, value - (before[result] ?? 0)));
        seen.set(session.name, now);
      }
    },
  });
  new Gauge({
    name: 'cicero_wa_transport_state',
    help: 'The WhatsApp transport state per session: 1 for the current state, 0 for the others',
    labelNames: ['session', 'state'],
    registers,
    collect() {
      this.reset();
      for (const session of sources.sessions.list()) {
        const current = session.transport.status().state;
        for (const state of TRANSPORT_STATES) this.set({ session: session.name, state }, state === current ? 1 : 0);
      }
    },
  });
  new Gauge({
    name: 'cicero_wa_outbox_messages',
    help: 'Rows in wa_outbox, by session ((unrouted): written without one, not yet routed), status and type (all instances)',
    labelNames: ['session', 'status', 'type'],
    registers,
    async collect() {
      const { rows } = await pool.query<{ session: string; status: string | null; type: string; n: number }>(
        "SELECT coalesce(session, '(unrouted)') AS session, status, type, count(*)::int AS n FROM wa_outbox GROUP BY 1, status, type",
      );
      this.reset();
      for (const r of rows) this.set({ session: r.session, status: r.status ?? 'none', type: r.type }, r.n);
    },
  });
  new Gauge({
    name: 'cicero_wa_outbox_oldest_due_seconds',
    help: 'Age of the oldest pending message that is due (0 when none is waiting; a message waiting for its digest is not due)',
    labelNames: ['session'],
    registers,
    async collect() {
      const { rows } = await pool.query<{ session: string; age: number }>(
        `SELECT coalesce(session, '(unrouted)') AS session, extract(epoch FROM now() - min(next_attempt_at))::float8 AS age
           FROM wa_outbox WHERE status = 'pending' AND next_attempt_at <= now() AND digest_key IS NULL GROUP BY 1`,
      );
      this.reset();
      for (const session of sources.sessions.list()) this.set({ session: session.name }, 0);
      for (const r of rows) this.set({ session: r.session }, r.age);
    },
  });
  new Gauge({
    name: 'cicero_wa_job_runs',
    help: 'Recorded runs of the shared jobs (cron_job_runs, kept CRON_HISTORY_DAYS), by job and status',
    labelNames: ['job', 'status'],
    registers,
    async collect() {
      const { rows } = await pool.query<{ job: string; status: string; n: number }>('SELECT job, status, count(*)::int AS n FROM cron_job_runs GROUP BY job, status');
      this.reset();
      for (const r of rows) this.set({ job: r.job, status: r.status }, r.n);
    },
  });
  new Gauge({
    name: 'cicero_wa_job_last_success_timestamp_seconds',
    help: 'When each shared job last finished successfully (Unix time)',
    labelNames: ['job'],
    registers,
    async collect() {
      const { rows } = await pool.query<{ job: string; at: number }>(
        "SELECT job, extract(epoch FROM max(finished_at))::float8 AS at FROM cron_job_runs WHERE status = 'succeeded' GROUP BY job",
      );
      this.reset();
      for (const r of rows) this.set({ job: r.job }, r.at);
    },
  });
  new Gauge({
    name: 'cicero_wa_complaints',
    help: 'Complaints in complaint_queue, by status',
    labelNames: ['status'],
    registers,
    async collect() {
      const { rows } = await pool.query<{ status: string | null; n: number }>('SELECT status, count(*)::int AS n FROM complaint_queue GROUP BY status');
      this.reset();
      for (const r of rows) this.set({ status: r.status ?? 'none' }, r.n);
    },
  });

  const governor = sources.governor?.enabled ? sources.governor : null;
  const runningNames = () => sources.sessions.list().map((session) => session.name);
  new Gauge({
    name: 'cicero_wa_session_held_messages',
    help: 'Pending messages the ban-risk governor holds back now, by session and rule (quiet_hours, budget_minute, budget_hour, budget_day, warmup, cold_*, same_text, paused_*, other)',
    labelNames: ['session', 'kind'],
    registers,
    async collect() {
      const waiting = await waitingBySession(pool, governor, await sessionNames(pool, runningNames()));
      this.reset();
      for (const [session, w] of waiting) for (const h of w.heldBackByKind) this.set({ session, kind: h.kind }, h.count);
    },
  });

  if (governor) {
    // One reading of every known session's status per scrape, shared by the three gauges below.
    let reading: { at: number; statuses: Promise<SessionStatus[]> } | null = null;
    const statuses = (): Promise<SessionStatus[]> => {
      if (!reading || Date.now() - reading.at > 1000) {
        reading = { at: Date.now(), statuses: sessionNames(pool, runningNames()).then((names) => Promise.all(names.map((name) => governor.status(name)))) };
      }
      return reading.statuses;
    };
    new Gauge({
      name: 'cicero_wa_session_risk_score',
      help: "Each session's risk score: the weights of the last hour's risk signals (ack errors, numbers not on WhatsApp, failed and unconfirmed sends, disconnects, logouts); 50 pauses it to cool down, 100 until an operator resumes it",
      labelNames: ['session'],
      registers,
      async collect() {
        const all = await statuses();
        this.reset();
        for (const s of all) this.set({ session: s.session }, s.riskScore);
      },
    });
    new Gauge({
      name: 'cicero_wa_session_paused',
      help: '1 while the session is paused, by why: cooling (a high risk score), critical (until an operator resumes it), operator',
      labelNames: ['session', 'kind'],
      registers,
      async collect() {
        const all = await statuses();
        this.reset();
        for (const s of all) this.set({ session: s.session, kind: s.pauseKind ?? 'none' }, s.paused ? 1 : 0);
      },
    });
    new Gauge({
      name: 'cicero_wa_session_budget_messages',
      help: 'Per session: messages the governor let through in the last hour and 24 hours, the daily budget now (the warm-up day included), and the room left now in the minute, hour and 24-hour budgets (left_minute, left_hour, left_day)',
      labelNames: ['session', 'measure'],
      registers,
      async collect() {
        const all = await statuses();
        this.reset();
        for (const s of all) {
          const set = (measure: string, value: number) => this.set({ session: s.session, measure }, value);
          set('sent_last_hour', s.sentLastHour);
          set('sent_last_day', s.sentLastDay);
          set('daily_budget', s.dailyBudget);
          set('left_minute', s.budgets.minute.left);
          set('left_hour', s.budgets.hour.left);
          set('left_day', s.budgets.day.left);
        }
      },
    });
  }

  return {
    registry,
    httpRequest(method, route, status, seconds) {
      httpRequests.inc({ method, route, status: String(status) });
      httpSeconds.observe({ method, route }, seconds);
    },
    close() {
      offChanges();
      for (const off of watched.values()) off();
      watched.clear();
    },
  };
}
