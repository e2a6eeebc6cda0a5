/**
 * What the HTTP routes are given (built by the composition root), and how a route refuses a request:
 * an HttpError becomes the JSON `{ error, message, fields? }` with its status.
 */
import type pg from 'pg';
import type { Config } from '../config/index.js';
import type { Dispatcher } from '../delivery/dispatcher.js';
import type { Governor } from '../governor/governor.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import type { IntakeStats } from '../inbound/intake.js';
import type { Transport } from '../whatsapp/transport.js';
import type { Access, Level } from './auth.js';
import type { Metrics } from './metrics.js';

export interface HttpDeps {
  config: Config;
  pool: pg.Pool;
  logger: Logger;
  /** The WhatsApp sessions this process runs (none in the scheduler role), following wa_sessions. */
  sessions: RunningSessions;
  /** The ban-risk governor: budgets, warm-up, pauses. */
  governor: Governor | null;
  scheduler: Scheduler;
  metrics: Metrics;
  clock: Clock;
  /** Wrong keys one address may send within a minute before it gets 429 (default 10; tests raise it). */
  maxAuthFailures?: number;
}

/** One WhatsApp number this process runs: its transport, its dispatcher, its intake's counts. */
export interface RunningSession {
  readonly name: string;
  readonly transport: Transport;
  readonly delivery: { readonly dispatcher: Dispatcher };
  readonly intake: { readonly stats: IntakeStats };
}

/** The numbers this process runs now; they start and stop as wa_sessions changes. */
export interface RunningSessions {
  get(name: string): RunningSession | undefined;
  list(): RunningSession[];
  /** The service's own session (`default`) when it runs here, else the first; null when none runs. */
  primary(): RunningSession | null;
  /** Told when a session starts or stops after the service started. */
  onChange(listener: (session: RunningSession, change: 'started' | 'stopped') => void): () => void;
}

/** No sessions: a process that sends nothing (SERVICE_ROLE=scheduler). */
export const NO_SESSIONS: RunningSessions = { get: () => undefined, list: () => [], primary: () => null, onChange: () => () => undefined };

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
  }
  interface FastifyRequest {
    /** What the caller may do (set by the access gate): null for a stranger on a public route. */
    accessLevel: Level | null;
  }
}

/** A refusal in the API's shape. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly error: string,
    message: string,
    readonly fields?: Array<{ field: string; message: string }>,
    readonly extra?: Record<string, unknown>,
  ) {
    super(message);
  }
}

/** A 400 naming each bad field. */
export function badRequest(fields: Array<{ field: string; message: string }>): HttpError {
  return new HttpError(400, 'invalid_request', fields.map((f) => `${f.field} ${f.message}`).join('; '), fields);
}

