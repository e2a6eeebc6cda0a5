/**
 * What the benchmarks share: the PostgreSQL server they run on, the machine they report, and
 * bench/results.json, which each benchmark updates with its own entries.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EmbeddedPostgres } from '../src/db/embedded-postgres.js';
import { silentLogger } from '../src/lib/logger.js';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const RESULTS_FILE = path.join(ROOT, 'bench/results.json');

export const log = (line: string) => process.stdout.write(`${line}\n`);
export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * Runs `work` with an admin URL: BENCH_DATABASE_URL, else TEST_DATABASE_URL, else an embedded server
 * started for the run (and stopped after it).
 */
export async function withBenchServer<T>(work: (adminUrl: string) => Promise<T>): Promise<T> {
  const given = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? '';
  if (given) return work(given);
  const tempDir = await fs.mkdtemp(path.join(os.tmpdir(), 'cicero-wa-bench-'));
  await fs.chmod(tempDir, 0o755);
  const embedded = new EmbeddedPostgres({ dataDir: tempDir, port: 54000 + Math.floor(Math.random() * 900), logger: silentLogger() });
  try {
    return await work(await embedded.start());
  } finally {
    await embedded.stop();
    await fs.rm(tempDir, { recursive: true, force: true });
  }
}

export function machine(): Record<string, string> {
  const cpu = os.cpus()[0]?.model ?? 'unknown';
  let postgres = 'unknown';
  try {
    postgres = execFileSync('psql', ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    // no client
  }
  return { cpu: `${os.cpus().length} × ${cpu}`, memory: `${Math.round(os.totalmem() / 2 ** 30)} GiB`, node: process.version, os: `${os.type()} ${os.release()}`, postgresClient: postgres };
}

/** Writes `entries` into bench/results.json, keeping the entries of the other benchmarks. */
export async function mergeResults(entries: Record<string, unknown>): Promise<void> {
  let current: Record<string, unknown> = {};
  try {
    current = JSON.parse(await fs.readFile(RESULTS_FILE, 'utf8')) as Record<string, unknown>;
  } catch {
    // first run
  }
  await fs.writeFile(RESULTS_FILE, `${JSON.stringify({ ...current, ...entries }, null, 2)}\n`);
}
