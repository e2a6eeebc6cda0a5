/**
 * What the HTTP routes are given (built by the composition root), and how a route refuses a request:
 * an HttpError becomes the JSON `{ error, message, fields? }` with its status.
 */
import type pg from 'pg';
import type { Config } from '../config/index.js';
import type { Governor } from '../governor/governor.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import type { Access, Level } from './auth.js';
import type { RunningSessions } from './running-sessions.js';
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

export { NO_SESSIONS, type RunningSession, type RunningSessions } from './running-sessions.js';

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

