/**
 * Running the embedded PostgreSQL when the service runs as root.
 *
 * PostgreSQL refuses to run as root, so it runs as an unprivileged user (`postgres`, or `cicero-pg`
 * created for it). That user must be able to enter the directories holding the server binaries
 * (node_modules) and the cluster (DATA_DIR/postgres). A project checked out under a private directory
 * (root's home, a 0700 temp dir) is not enterable, so in that case:
 * - the binaries are copied once per version to /var/lib/cicero-wa/postgres-<version>;
 * - the cluster lives in /var/lib/cicero-wa/clusters/<hash of DATA_DIR>/postgres, and
 *   DATA_DIR/postgres is a symbolic link to it (so it is still found, and reused, under DATA_DIR).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from '../lib/logger.js';
import { OperatorError } from '../lib/errors.js';

const execFileAsync = promisify(execFile);

/** Where root keeps what the PostgreSQL user must reach when the project's own directories are private. */
export const ROOT_STATE_DIR = '/var/lib/cicero-wa';

export interface RunAs {
  uid: number;
  gid: number;
  name: string;
}

export class RunAsError extends OperatorError {
  constructor(message: string) {
    super(message);
  }
}

async function idOf(user: string): Promise<RunAs | null> {
  try {
    const [uid, gid] = await Promise.all([
      execFileAsync('id', ['-u', user]).then((r) => Number(r.stdout.trim())),
      execFileAsync('id', ['-g', user]).then((r) => Number(r.stdout.trim())),
    ]);
    return { uid, gid, name: user };
  } catch {
    return null;
  }
}

export function runningAsRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** The unprivileged user the server runs as when we are root: `postgres`, else `cicero-pg` (created if need be). */
export async function serverUser(logger: Logger): Promise<RunAs> {
  const existing = (await idOf('postgres')) ?? (await idOf('cicero-pg'));
  if (existing) return existing;
  try {
    await execFileAsync('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', 'cicero-pg']);
  } catch (err) {
    throw new RunAsError(
      'running as root, the embedded PostgreSQL needs an unprivileged user and creating "cicero-pg" failed ' +
        `(${(err as Error).message.trim()}); create a "postgres" user, run as another user, or set DATABASE_URL`,
    );
  }
  logger.warn('created system user "cicero-pg" to run the embedded PostgreSQL (it refuses to run as root)');
  const created = await idOf('cicero-pg');
  if (!created) throw new RunAsError('created user "cicero-pg" but cannot look it up');
  return created;
}

/** Whether `user` may enter `dir` and every directory above it (the execute bit for owner, group or others). */
export function canEnter(dir: string, user: RunAs): boolean {
  let current = path.resolve(dir);
  for (;;) {
    let stat;
    try {
      stat = statSync(current);
    } catch {
      return false;
    }
    const bit = stat.uid === user.uid ? 0o100 : stat.gid === user.gid ? 0o010 : 0o001;
    if ((stat.mode & bit) === 0) return false;
    const parent = path.dirname(current);
    if (parent === current) return true;
    current = parent;
  }
}

/**
 * The directory holding bin/, lib/ and share/ that `user` can use: the package's own, or a copy under
 * ROOT_STATE_DIR made once per version (copied aside, then renamed into place, so a copy interrupted
 * half-way is never used).
 */
export async function reachableInstall(installDir: string, version: string, user: RunAs, logger: Logger): Promise<string> {
  if (canEnter(path.join(installDir, 'bin'), user)) return installDir;
  const target = path.join(ROOT_STATE_DIR, `postgres-${version}`);
  if (existsSync(path.join(target, 'bin', 'postgres'))) return target;
  logger.info({ from: installDir, to: target }, `copying the PostgreSQL binaries where user "${user.name}" can run them`);
  await fs.mkdir(ROOT_STATE_DIR, { recursive: true, mode: 0o755 });
  await fs.chmod(ROOT_STATE_DIR, 0o755);
  const partial = `${target}.partial-${process.pid}`;
  await fs.rm(partial, { recursive: true, force: true });
  await fs.cp(installDir, partial, { recursive: true, verbatimSymlinks: true });
  await fs.chmod(partial, 0o755);
  await fs.rename(partial, target).catch(async (err: NodeJS.ErrnoException) => {
    // Another process finished the same copy first: use theirs.
    await fs.rm(partial, { recursive: true, force: true });
    if (!existsSync(path.join(target, 'bin', 'postgres'))) throw err;
  });
  return target;
}

/**
 * The real directory of the cluster that appears as `pgdata` (DATA_DIR/postgres): `pgdata` itself
 * when `user` can reach it, else a directory under ROOT_STATE_DIR that `pgdata` links to.
 */
export async function reachableClusterDir(pgdata: string, user: RunAs, logger: Logger): Promise<string> {
  const link = await fs.lstat(pgdata).catch(() => null);
  if (link?.isSymbolicLink()) return fs.realpath(pgdata);
  if (link?.isDirectory() || canEnter(path.dirname(pgdata), user)) return pgdata;

  const key = createHash('sha256').update(path.resolve(pgdata)).digest('hex').slice(0, 16);
  const real = path.join(ROOT_STATE_DIR, 'clusters', key, 'postgres');
  logger.info(
    { dataDir: pgdata, cluster: real },
    `user "${user.name}" cannot enter ${path.dirname(pgdata)}: keeping the cluster under ${ROOT_STATE_DIR}, linked from DATA_DIR`,
  );
  await fs.mkdir(path.dirname(real), { recursive: true, mode: 0o755 });
  for (let dir = path.dirname(real); dir.startsWith(ROOT_STATE_DIR); dir = path.dirname(dir)) await fs.chmod(dir, 0o755);
  await fs.symlink(real, pgdata);
  return real;
}
