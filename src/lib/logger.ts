/**
 * Structured logging (pino). Two formats of the same events:
 *
 * - `json`: one JSON object per line, for journald, files and log shippers (the default when the output
 *   is not a terminal);
 * - `pretty`: one readable line per event, coloured, its time in CRON_TIMEZONE with the zone named
 *   (`07:00:03 WIB INFO  cicero-wa-gateway is up  database=embedded`), for a person at a terminal (the
 *   default when the output is one).
 *
 * Secrets never reach the log: connection strings are masked before they are logged, and the usual
 * secret-bearing keys are redacted as a second guard.
 */
import { pino, type Logger } from 'pino';
import { writeSync } from 'node:fs';
import { prettyFactory } from 'pino-pretty';

import { formatZoned } from './zoned-time.js';

export type { Logger };

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface LoggerOptions {
  level: LogLevel;
  /** `auto`: pretty on a terminal, JSON otherwise. */
  format?: LogFormat;
  /** Where the lines go: the service logs to stdout; commands keep stdout for their results. */
  destination?: 'stdout' | 'stderr';
  /** Zone of the times in the pretty format. */
  timeZone?: string;
}

const REDACT = {
  paths: ['password', '*.password', 'connectionString', '*.connectionString', 'session', '*.session', 'apiKey', '*.apiKey'],
  censor: '***',
};

/** Fields every line has, which the pretty format leaves out (time and level lead the line). */
const LEFT_OUT = ['pid', 'hostname', 'service'];
const NOT_EXTRAS = new Set([...LEFT_OUT, 'level', 'time', 'msg']);
const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

function prettyStream(fd: 1 | 2, timeZone: string, colorize: boolean): pino.DestinationStream {
  const inline = (value: unknown): string => {
    if (typeof value === 'string' && ISO_TIME.test(value)) return JSON.stringify(formatZoned(new Date(value), timeZone));
    if (typeof value === 'string') return /[\s"=]/.test(value) || value === '' ? JSON.stringify(value) : value;
    if (value && typeof value === 'object') return JSON.stringify(value);
    return String(value);
  };
  const format = prettyFactory({
    colorize,
    translateTime: false,
    hideObject: true,
    ignore: LEFT_OUT.join(','),
    customPrettifiers: { time: (time) => formatZoned(new Date(String(time)), timeZone, { timeOnly: true }) },
    messageFormat: (log, messageKey) => {
      const extras = Object.entries(log)
        .filter(([key, value]) => !NOT_EXTRAS.has(key) && key !== messageKey && value !== undefined && value !== null)
        .map(([key, value]) => `${key}=${inline(value)}`);
      return [String(log[messageKey] ?? ''), ...extras].join('  ');
    },
  });
  // Written synchronously, line by line: nothing is lost when the process exits right after.
  return { write: (line: string) => void writeSync(fd, format(line)) };
}

export function createLogger(options: LoggerOptions | LogLevel, destination?: pino.DestinationStream): Logger {
  const o: LoggerOptions = typeof options === 'string' ? { level: options } : options;
  const base: pino.LoggerOptions = {
    level: o.level,
    base: { service: 'cicero-wa-gateway' },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: REDACT,
  };
  if (destination) return pino(base, destination);
  const fd = o.destination === 'stderr' ? 2 : 1;
  const stream = fd === 1 ? process.stdout : process.stderr;
  const format = o.format ?? 'auto';
  if (format === 'pretty' || (format === 'auto' && stream.isTTY)) {
    return pino(base, prettyStream(fd, o.timeZone ?? 'UTC', Boolean(stream.isTTY)));
  }
  return pino(base, pino.destination({ fd, sync: true }));
}

/** A logger that discards everything, for commands and tests that do not want output. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
