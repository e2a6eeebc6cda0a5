/**
 * Backup and restore of the embedded PostgreSQL (`cicero-wa backup` / `cicero-wa restore`).
 *
 * The embedded build ships `initdb`, `pg_ctl` and `postgres` only: no `pg_dump`, and a `pg_dump` older
 * than the server (Debian's 15) refuses it. So the backup is physical, made with PostgreSQL's own
 * low-level API while the server runs (the service's, or one started for the command):
 *
 * 1. a temporary physical replication slot that reserves WAL at once, so no WAL the backup needs is
 *    recycled while the files are copied;
 * 2. `pg_backup_start(label, fast)`: a checkpoint, and full-page writes until the end;
 * 3. the cluster's files copied (what PostgreSQL's own base backup leaves out is left out: pg_wal's
 *    contents, postmaster.pid, temporary and runtime directories);
 * 4. `pg_backup_stop(false)`: its label written as `backup_label` (and `tablespace_map`);
 * 5. the WAL segments from the backup's start through its stop copied into pg_wal.
 *
 * The archive (tar, gzip) holds that cluster, the credentials file (the password is inside the cluster
 * too) and `cicero-wa-backup.json` (format, PostgreSQL version, system identifier, LSNs, time). Restoring
 * puts the cluster in place of the current one (kept aside, never deleted), with its credentials, and
 * starts the server once: it replays the copied WAL to the backup's stop point, as after a crash, and the
 * data is the data at that point. The service must not be running during a restore.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import type { Logger } from '../lib/logger.js';
import { OperatorError } from '../lib/errors.js';
import { runningAsRoot, serverUser } from './embedded-postgres-root.js';
import { EmbeddedPostgres, loadBinaries, runningServerPid } from './embedded-postgres.js';

const execFileAsync = promisify(execFile);

const FORMAT = 'cicero-wa-embedded-backup';
const FORMAT_VERSION = 1;
const MANIFEST = 'cicero-wa-backup.json';

/** What PostgreSQL's own base backup leaves out: directories kept empty, and files skipped. */
const EMPTY_DIRS = new Set(['pg_wal', 'pg_replslot', 'pg_dynshmem', 'pg_notify', 'pg_serial', 'pg_snapshots', 'pg_stat_tmp', 'pg_subtrans']);
const SKIPPED_FILES = new Set(['postmaster.pid', 'postmaster.opts', 'backup_label', 'tablespace_map', 'backup_manifest', 'pg_internal.init']);
const WAL_SEGMENT = /^[0-9A-F]{24}$/;

export class BackupError extends OperatorError {
  constructor(message: string) {
    super(message);
  }
}

export interface BackupManifest {
  format: typeof FORMAT;
  version: typeof FORMAT_VERSION;
  createdAt: string;
  postgresVersion: string;
  systemIdentifier: string;
  startLsn: string;
  stopLsn: string;
}

export interface EmbeddedBackupOptions {
  dataDir: string;
  port: number;
  logger: Logger;
  /** Told when no service runs and the server is started for the command. */
  onStarting?: (dataDir: string) => void;
}

/** Copies `from` into `to` (a directory tree), leaving out what a base backup leaves out. */
async function copyCluster(from: string, to: string, top = true): Promise<void> {
  await fs.mkdir(to, { mode: 0o700 });
  let entries;
  try {
    entries = await fs.readdir(from, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // removed while copying: WAL replay says so
    throw err;
  }
  for (const entry of entries) {
    const source = path.join(from, entry.name);
    const target = path.join(to, entry.name);
    if (SKIPPED_FILES.has(entry.name) || entry.name.startsWith('pgsql_tmp')) continue;
    if (entry.isDirectory()) {
      if (top && EMPTY_DIRS.has(entry.name)) await fs.mkdir(target, { mode: 0o700 });
      else await copyCluster(source, target, false);
    } else if (entry.isSymbolicLink()) {
      throw new BackupError(`${source} is a symbolic link (a tablespace?); the embedded database has none, and this backup cannot follow one`);
    } else if (entry.isFile()) {
      await fs.copyFile(source, target).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err; // a file dropped while copying: WAL replay removes it anyway
      });
    }
  }
  if (top) await fs.mkdir(path.join(to, 'pg_wal', 'archive_status'), { mode: 0o700 });
}

async function tar(args: string[]): Promise<void> {
  try {
    await execFileAsync('tar', args, { maxBuffer: 16 * 1024 * 1024 });
  } catch (err) {
    const detail = `${(err as { stderr?: string }).stderr ?? ''}`.trim() || (err as Error).message;
    throw new BackupError(`tar ${args[0]} failed: ${detail}`);
  }
}

/**
 * Writes a backup of the embedded database to `file` (tar.gz, mode 0600), whole or not at all. Uses the
 * running service's server, or starts one for the backup and stops it after.
 */
export async function backupEmbedded(file: string, options: EmbeddedBackupOptions): Promise<BackupManifest> {
  const target = path.resolve(file);
  if (!existsSync(path.dirname(target))) throw new BackupError(`cannot write ${target}: the directory ${path.dirname(target)} does not exist`);
  if (!existsSync(path.join(options.dataDir, 'postgres', 'PG_VERSION'))) {
    throw new BackupError(`there is no embedded database in ${path.join(options.dataDir, 'postgres')} to back up (DATA_DIR=${options.dataDir})`);
  }
  const staging = `${target}.partial-${process.pid}`;
  const server = new EmbeddedPostgres({ dataDir: options.dataDir, port: options.port, logger: options.logger, shareRunning: true, ...(options.onStarting ? { onStarting: options.onStarting } : {}) });
  const url = await server.start();
  const client = new pg.Client({ connectionString: url });
  try {
    await fs.rm(staging, { recursive: true, force: true });
    await fs.mkdir(staging, { mode: 0o700 });
    await client.connect();
    const { rows: [info] } = await client.query<{ dir: string; version: string; system: string }>(
      "SELECT current_setting('data_directory') AS dir, current_setting('server_version') AS version, system_identifier::text AS system FROM pg_control_system()",
    );
    const cluster = info!.dir;
    // Temporary: dropped when this connection ends, whatever happens to this process.
    await client.query('SELECT pg_create_physical_replication_slot($1, true, true)', [`cicero_wa_backup_${process.pid}`]);
    const { rows: [start] } = await client.query<{ lsn: string; file: string }>(
      "SELECT lsn::text, pg_walfile_name(lsn) AS file FROM pg_backup_start($1, true) AS lsn",
      [`cicero-wa backup ${new Date().toISOString()}`],
    );
    const copy = path.join(staging, 'postgres');
    // Should the copy fail, the connection's end (below) ends the backup and drops the slot.
    await copyCluster(cluster, copy);
    const { rows: [stop] } = await client.query<{ lsn: string; labelfile: string; spcmapfile: string; file: string }>(
      'SELECT lsn::text, labelfile, spcmapfile, pg_walfile_name(lsn) AS file FROM pg_backup_stop(false)',
    );
    await fs.writeFile(path.join(copy, 'backup_label'), stop!.labelfile, { mode: 0o600 });
    if (stop!.spcmapfile) await fs.writeFile(path.join(copy, 'tablespace_map'), stop!.spcmapfile, { mode: 0o600 });
    // The WAL from the backup's start to its stop (the slot has kept it), and the timeline histories.
    let segments = 0;
    for (const name of (await fs.readdir(path.join(cluster, 'pg_wal'))).sort()) {
      const wanted = (WAL_SEGMENT.test(name) && name >= start!.file && name <= stop!.file) || name.endsWith('.history');
      if (!wanted) continue;
      await fs.copyFile(path.join(cluster, 'pg_wal', name), path.join(copy, 'pg_wal', name));
      if (WAL_SEGMENT.test(name)) segments++;
    }
    if (segments === 0) throw new BackupError(`the WAL segment ${start!.file} the backup starts in is missing from ${cluster}/pg_wal`);

    await fs.copyFile(path.join(options.dataDir, 'postgres.json'), path.join(staging, 'postgres.json'));
    const manifest: BackupManifest = {
      format: FORMAT,
      version: FORMAT_VERSION,
      createdAt: new Date().toISOString(),
      postgresVersion: info!.version,
      systemIdentifier: info!.system,
      startLsn: start!.lsn,
      stopLsn: stop!.lsn,
    };
    await fs.writeFile(path.join(staging, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
    const partial = `${target}.partial-${process.pid}.tar.gz`;
    try {
      await tar(['-czf', partial, '-C', staging, MANIFEST, 'postgres.json', 'postgres']);
      await fs.chmod(partial, 0o600);
      await fs.rename(partial, target);
    } finally {
      await fs.rm(partial, { force: true });
    }
    options.logger.info({ file: target, startLsn: manifest.startLsn, stopLsn: manifest.stopLsn }, 'embedded database backed up');
    return manifest;
  } finally {
    await client.end().catch(() => undefined);
    await server.stop();
    await fs.rm(staging, { recursive: true, force: true });
  }
}

export interface RestoreResult {
  manifest: BackupManifest;
  /** Where the database that was replaced now is (null when there was none). */
  keptAside: string | null;
  /** Where its credentials file now is. */
  keptCredentials: string | null;
}

async function readManifest(dir: string, file: string): Promise<BackupManifest> {
  let manifest: Partial<BackupManifest>;
  try {
    manifest = JSON.parse(await fs.readFile(path.join(dir, MANIFEST), 'utf8')) as Partial<BackupManifest>;
  } catch {
    throw new BackupError(`${file} is not a cicero-wa backup: it has no readable ${MANIFEST}`);
  }
  if (manifest.format !== FORMAT || manifest.version !== FORMAT_VERSION) {
    throw new BackupError(`${file} is not a cicero-wa backup of format ${FORMAT} ${FORMAT_VERSION} (found ${String(manifest.format)} ${String(manifest.version)})`);
  }
  for (const inside of ['postgres.json', 'postgres/PG_VERSION', 'postgres/backup_label']) {
    if (!existsSync(path.join(dir, inside))) throw new BackupError(`${file} is incomplete: ${inside} is missing`);
  }
  return manifest as BackupManifest;
}

async function chownTree(dir: string, uid: number, gid: number): Promise<void> {
  await fs.lchown(dir, uid, gid);
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) await chownTree(full, uid, gid);
    else await fs.lchown(full, uid, gid);
  }
}

/**
 * Replaces the embedded database with the one in `file`. Refused while a server runs on DATA_DIR (the
 * service must be stopped). The database replaced is kept aside, with its credentials; the restored one
 * is started once (WAL replayed to the backup's end) and stopped.
 */
export async function restoreEmbedded(file: string, options: EmbeddedBackupOptions): Promise<RestoreResult> {
  const source = path.resolve(file);
  if (!existsSync(source)) throw new BackupError(`${source} does not exist`);
  const pgdata = path.join(options.dataDir, 'postgres');
  const running = await runningServerPid(pgdata);
  if (running !== null) {
    throw new BackupError(
      `the embedded PostgreSQL in ${pgdata} is running (pid ${running}): stop the service first (e.g. systemctl stop cicero-wa-gateway); ` +
        'a restore replaces the database under it',
    );
  }
  await fs.mkdir(options.dataDir, { recursive: true });
  // Where the cluster really is (as root with a private DATA_DIR, DATA_DIR/postgres links elsewhere).
  const link = await fs.lstat(pgdata).catch(() => null);
  const cluster = link?.isSymbolicLink() ? await fs.realpath(pgdata) : pgdata;
  const staging = `${cluster}.restore-${process.pid}`;
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  await fs.rm(staging, { recursive: true, force: true });
  await fs.mkdir(staging, { mode: 0o700 });
  try {
    await tar(['-xzf', source, '--no-same-owner', '-C', staging]);
    const manifest = await readManifest(staging, source);
    const backupMajor = (await fs.readFile(path.join(staging, 'postgres', 'PG_VERSION'), 'utf8')).trim();
    const { stdout } = await execFileAsync((await loadBinaries()).postgres, ['--version']);
    const installedMajor = /(\d+)(\.\d+)?/.exec(stdout)?.[1];
    if (installedMajor !== backupMajor) {
      throw new BackupError(`${source} holds a PostgreSQL ${backupMajor} database, and the embedded PostgreSQL installed is ${installedMajor ?? stdout.trim()}: restore it with a PostgreSQL ${backupMajor} build`);
    }
    const restored = path.join(staging, 'postgres');
    await fs.chmod(restored, 0o700);
    if (runningAsRoot()) {
      const user = await serverUser(options.logger);
      await chownTree(restored, user.uid, user.gid);
    }

    // The current database and its credentials are kept aside, never deleted.
    let keptAside: string | null = null;
    let keptCredentials: string | null = null;
    if (existsSync(cluster)) {
      keptAside = `${cluster}.before-restore-${stamp}`;
      await fs.rename(cluster, keptAside);
    }
    const credentials = path.join(options.dataDir, 'postgres.json');
    if (existsSync(credentials)) {
      keptCredentials = `${credentials}.before-restore-${stamp}`;
      await fs.rename(credentials, keptCredentials);
    }
    await fs.rename(restored, cluster);
    await fs.copyFile(path.join(staging, 'postgres.json'), `${credentials}.tmp`);
    await fs.chmod(`${credentials}.tmp`, 0o600);
    await fs.rename(`${credentials}.tmp`, credentials);

    // Started once: the WAL copied with the backup is replayed to its stop point.
    const server = new EmbeddedPostgres({ dataDir: options.dataDir, port: options.port, logger: options.logger });
    try {
      const client = new pg.Client({ connectionString: await server.start() });
      await client.connect();
      await client.query('SELECT 1');
      await client.end();
    } catch (err) {
      throw new BackupError(
        `the restored database did not start: ${(err as Error).message}; the database it replaced is in ${keptAside ?? '(none)'}` +
          (keptCredentials ? ` with its credentials in ${keptCredentials}` : ''),
      );
    } finally {
      await server.stop();
    }
    options.logger.info({ file: source, keptAside }, 'embedded database restored');
    return { manifest, keptAside, keptCredentials };
  } finally {
    await fs.rm(staging, { recursive: true, force: true });
  }
}
