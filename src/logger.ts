/**
 * Structured logging (pino, JSON lines on stdout). Secrets never reach the log: connection strings are
 * masked before they are logged, and the usual secret-bearing keys are redacted as a second guard.
 */
import { pino, type Logger } from 'pino';
import type { LogLevel } from './config.js';

export type { Logger };

export function createLogger(level: LogLevel, destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { service: 'cicero-wa-gateway' },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: ['password', '*.password', 'connectionString', '*.connectionString', 'session', '*.session'],
      censor: '***',
    },
  };
  return destination ? pino(options, destination) : pino(options);
}

/** A logger that discards everything, for commands and tests that do not want output. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
