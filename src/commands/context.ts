/** What every command is given, and how it prints its result (stdout; logs go to stderr). */
import type pg from 'pg';
import type { Config } from '../config/index.js';
import { openDatabase } from '../db/database.js';
import type { Logger } from '../lib/logger.js';

export interface CommandContext {
  config: Config;
  logger: Logger;
  /** The words after the command's name. */
  args: string[];
  /** The options given (validated by the command that owns them). */
  options: Record<string, string | boolean | undefined>;
}

export function print(lines: string[]): void {
  for (const line of lines) process.stdout.write(`${line}\n`);
}

/** Said when a command has to start the embedded server itself (it takes a few seconds). */
export function announceEmbeddedStart(dir: string): void {
  process.stderr.write(`cicero-wa: no service is running on ${dir}: starting the embedded PostgreSQL for this command (a few seconds)\n`);
}

/**
 * Opens the database for a short command (sharing a running service's embedded server, else starting
 * it for the command, which it says), runs `work`, closes.
 */
export async function withDatabase(context: CommandContext, work: (pool: pg.Pool) => Promise<number>): Promise<number> {
  const database = await openDatabase(context.config, context.logger, { shareRunning: true, onEmbeddedStart: announceEmbeddedStart });
  try {
    return await work(database.pool);
  } finally {
    await database.close();
  }
}
