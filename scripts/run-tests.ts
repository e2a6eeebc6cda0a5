/**
 * `npm test`: runs every test/**\/*.test.ts with node's test runner against a real PostgreSQL.
 *
 * With TEST_DATABASE_URL set (a role allowed to create databases), tests use that server. Without it,
 * an embedded PostgreSQL is started in a temporary directory for the run and stopped afterwards, so
 * the suite passes on a fresh machine with nothing running. Each test file creates its own database.
 *
 * Extra arguments are passed to node's test runner, e.g. `npm test -- --test-name-pattern=outbox`;
 * test files given as arguments replace the full list.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { EmbeddedPostgres } from '../src/db/embedded-postgres.js';
import { silentLogger } from '../src/lib/logger.js';
import { freePort } from '../test/helpers/ports.js';

async function findTests(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(
    entries.map((e) => {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) return findTests(full);
      return Promise.resolve(e.name.endsWith('.test.ts') ? [full] : []);
    }),
  );
  return nested.flat().sort();
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const explicitFiles = args.filter((a) => a.endsWith('.test.ts'));
  const runnerArgs = args.filter((a) => !a.endsWith('.test.ts'));
  const files = explicitFiles.length ? explicitFiles : await findTests('test');

  let embedded: EmbeddedPostgres | null = null;
  let tempDir: string | null = null;
  const env = { ...process.env };
  if (!env.TEST_DATABASE_URL) {
    tempDir = await fs.mkdtemp(path.join(os.tmpdir(), 'cicero-wa-test-'));
    await fs.chmod(tempDir, 0o755); // run as root, PostgreSQL runs as another user and must enter it
    embedded = new EmbeddedPostgres({ dataDir: tempDir, port: await freePort(), logger: silentLogger() });
    env.TEST_DATABASE_URL = await embedded.start();
    process.stdout.write(`test database: embedded PostgreSQL in ${tempDir}\n`);
  } else {
    process.stdout.write('test database: TEST_DATABASE_URL\n');
  }

  try {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=300000', ...runnerArgs, ...files],
      { stdio: 'inherit', env },
    );
    const forward = (signal: NodeJS.Signals) => child.kill(signal);
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    return await new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? 1)));
  } finally {
    await embedded?.stop();
    if (tempDir) await fs.rm(tempDir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`npm test: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
