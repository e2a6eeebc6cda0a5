/** `cicero-wa migrate`: pending migrations applied; safe while the service runs, and from several machines. */
import { migrate } from '../db/migrate.js';
import { withDatabase, type CommandContext } from './context.js';

export async function commandMigrate(context: CommandContext): Promise<number> {
  return withDatabase(context, async (pool) => {
    const applied = await migrate(pool, context.logger);
    context.logger.info({ applied }, applied.length ? 'migrations applied' : 'no pending migrations');
    return 0;
  });
}
