/**
 * The composition root: builds every part of the service from the Config and starts and stops them
 * in order. Start: database (embedded or DATABASE_URL) → migrations. Stop: the reverse.
 */
import type { Config } from './config.js';
import { openDatabase, type Database } from './db/database.js';
import { migrate } from './db/migrate.js';
import type { Logger } from './logger.js';

export interface App {
  database: Database;
  stop(): Promise<void>;
}

export async function startApp(config: Config, logger: Logger): Promise<App> {
  const database = await openDatabase(config, logger);
  try {
    const applied = await migrate(database.pool, logger);
    logger.info({ migrationsApplied: applied.length }, 'database schema is up to date');
  } catch (err) {
    await database.close();
    throw err;
  }

  logger.info(
    { database: database.embedded ? 'embedded' : 'DATABASE_URL', timezone: config.cron.timezone, transport: config.wa.transport },
    'cicero-wa-gateway is up',
  );

  let stopping: Promise<void> | null = null;
  return {
    database,
    stop() {
      stopping ??= (async () => {
        logger.info('cicero-wa-gateway is stopping');
        await database.close();
        logger.info('cicero-wa-gateway stopped');
      })();
      return stopping;
    },
  };
}
