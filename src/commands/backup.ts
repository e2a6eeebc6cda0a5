/**
 * `cicero-wa backup <file>` and `cicero-wa restore <file>`: the embedded database (no DATABASE_URL) to a
 * file and back (src/db/embedded-backup.ts). A database at DATABASE_URL is backed up with that server's
 * own pg_dump: these commands say so and stop.
 */
import { backupEmbedded, restoreEmbedded } from '../db/embedded-backup.js';
import { announceEmbeddedStart, print, type CommandContext } from './context.js';
import { UsageError } from './usage.js';

function fileArgument(context: CommandContext, command: string): string {
  const [file, ...rest] = context.args;
  if (!file || file.trim() === '') throw new UsageError(`${command} needs a file name, e.g. cicero-wa ${command} cicero-wa-backup.tar.gz`);
  if (rest.length > 0) throw new UsageError(`${command} takes one file (got also ${rest.join(' ')})`);
  if (context.config.database.url !== null) {
    throw new UsageError(
      `${command} is for the embedded database, and DATABASE_URL is set: back that server up with its own tools, ` +
        'e.g. pg_dump -Fc -f cicero.dump "$DATABASE_URL" and pg_restore (a pg_dump of the same or a newer major version than the server)',
    );
  }
  return file;
}

function options(context: CommandContext) {
  return { dataDir: context.config.dataDir, port: context.config.database.embeddedPort, logger: context.logger };
}

export async function commandBackup(context: CommandContext): Promise<number> {
  const file = fileArgument(context, 'backup');
  const manifest = await backupEmbedded(file, { ...options(context), onStarting: announceEmbeddedStart });
  print([`${file}: embedded database backed up (PostgreSQL ${manifest.postgresVersion}, WAL ${manifest.startLsn} to ${manifest.stopLsn}, ${manifest.createdAt})`]);
  return 0;
}

export async function commandRestore(context: CommandContext): Promise<number> {
  const file = fileArgument(context, 'restore');
  const result = await restoreEmbedded(file, options(context));
  print([
    `${file}: embedded database restored as it was at ${result.manifest.createdAt} (PostgreSQL ${result.manifest.postgresVersion})`,
    ...(result.keptAside ? [`the database it replaced is kept in ${result.keptAside}${result.keptCredentials ? `, its credentials in ${result.keptCredentials}` : ''}: remove them once the restored one is right`] : []),
  ]);
  return 0;
}
