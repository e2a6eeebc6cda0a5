/**
 * `npm test`: runs every test/**\/*.test.ts with node's test runner against a real PostgreSQL.
 *
 * With TEST_DATABASE_URL set (a role allowed to create databases), tests use that server. Without it,
 * an embedded PostgreSQL is started in a temporary directory for the run and stopped afterwards, so
 * the suite passes on a fresh machine with nothing running. Each test file creates its own database.
 *
 * A run leaves the machine as it found it, or fails. The tests make their temporary directories in one
 * directory of the run (CICERO_WA_TEST_TMP, see test/helpers/temp-dirs.ts); whatever is still in it
 * after the tests is listed, removed, and fails the run. The programs the tests start (Chromium,
 * LibreOffice, the service) get a TMPDIR of the run too, removed after it, its leftovers listed. Inside
 * a git checkout, `git status --porcelain` (with each listed file's content) is taken before and after:
 * a file the tests changed, made or deleted fails the run too.
 *
 * `npm run screenshots` (`--screenshots`): runs test/dashboard.test.ts with CICERO_WA_SCREENSHOTS set
 * to docs/screenshots, where it then writes the README's pictures; changes there are allowed, as are
 * changes to test/golden with UPDATE_GOLDEN set.
 *
 * Extra arguments are passed to node's test runner, e.g. `npm test -- --test-name-pattern=outbox`;
 * test files given as arguments replace the full list.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, readFileSync, readlinkSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EmbeddedPostgres } from '../src/db/embedded-postgres.js';
import { silentLogger } from '../src/lib/logger.js';
import { freePort } from '../test/helpers/ports.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
/** Where `npm run screenshots` writes the README's pictures (relative to the repository, as git prints it). */
const SCREENSHOTS = 'docs/screenshots';

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

/**
 * The working tree as `git status --porcelain` lists it (untracked files one by one), each listed path
 * with a fingerprint of its content, so that a file already changed before the run and changed again
 * counts too. Null outside a git checkout (no git, or an unpacked tarball).
 */
function treeState(): Map<string, string> | null {
  let top: string;
  let out: string;
  try {
    const git = (args: string[]) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    top = git(['rev-parse', '--show-toplevel']).trim();
    out = git(['status', '--porcelain', '-z', '--untracked-files=all']);
  } catch {
    return null;
  }
  const state = new Map<string, string>();
  const fields = out.split('\0');
  for (let i = 0; i < fields.length; i++) {
    const entry = fields[i]!;
    if (!entry) continue;
    const code = entry.slice(0, 2);
    if (code.includes('R') || code.includes('C')) i++; // a rename or copy: the next field is where it came from
    const file = entry.slice(3);
    state.set(file, `${code} ${fingerprint(path.join(top, file))}`);
  }
  return state;
}

function fingerprint(file: string): string {
  try {
    const stat = lstatSync(file);
    if (stat.isSymbolicLink()) return `link to ${readlinkSync(file)}`;
    if (!stat.isFile()) return 'not a file';
    return createHash('sha1').update(readFileSync(file)).digest('hex');
  } catch {
    return 'missing';
  }
}

/** The paths the run changed, made or deleted (as git status shows them now), except under `allowed`. */
function treeChanges(before: Map<string, string>, after: Map<string, string>, allowed: string[]): string[] {
  const changed: string[] = [];
  for (const [file, now] of after) if (before.get(file) !== now) changed.push(`${now.slice(0, 2)} ${file}`);
  for (const file of before.keys()) if (!after.has(file)) changed.push(`   ${file} (changed before the run, now as committed)`);
  return changed.filter((l) => !allowed.some((dir) => l.slice(3).startsWith(`${dir}/`)));
}

/** Everything left in the run's temporary directory (each entry a directory or file a test made). */
async function leftovers(runDir: string): Promise<string[]> {
  const entries = await fs.readdir(runDir).catch(() => [] as string[]);
  return entries.sort().map((e) => path.join(runDir, e));
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const screenshots = args.includes('--screenshots');
  const explicitFiles = args.filter((a) => a.endsWith('.test.ts'));
  const runnerArgs = args.filter((a) => !a.endsWith('.test.ts') && a !== '--screenshots');
  const files = explicitFiles.length ? explicitFiles : screenshots ? ['test/dashboard.test.ts'] : await findTests('test');

  const treeBefore = treeState();
  const runDir = await fs.mkdtemp(path.join(os.tmpdir(), 'cicero-wa-test-run-'));
  const otherTmp = await fs.mkdtemp(path.join(os.tmpdir(), 'cicero-wa-test-tmp-'));
  let code: number;
  let left: string[];
  let othersLeft: string[];
  try {
    await fs.chmod(runDir, 0o755); // run as root, PostgreSQL runs as another user and must enter the tests' directories
    await fs.chmod(otherTmp, 0o1777); // as /tmp
    // TMPDIR: what the programs the tests start make in the temporary directory (Chromium's profiles and
    // sockets, LibreOffice's files, tsx's cache) goes there, and is removed with it.
    const env: NodeJS.ProcessEnv = { ...process.env, CICERO_WA_TEST_TMP: runDir, TMPDIR: otherTmp };
    if (screenshots) env.CICERO_WA_SCREENSHOTS = path.join(ROOT, SCREENSHOTS);
    else delete env.CICERO_WA_SCREENSHOTS;
    code = await runTests(env, [...runnerArgs, ...files]);
    left = await leftovers(runDir);
    othersLeft = (await fs.readdir(otherTmp)).filter((name) => !name.startsWith('tsx-')).sort();
  } finally {
    await fs.rm(runDir, { recursive: true, force: true });
    await fs.rm(otherTmp, { recursive: true, force: true });
  }
  if (othersLeft.length) {
    // Not the tests' own: a browser a test killed on purpose leaves its singleton directory, for example.
    process.stdout.write(`npm test: removed what the started programs left in their TMPDIR: ${othersLeft.join(', ')}\n`);
  }

  const problems: string[] = [];
  if (left.length) {
    problems.push(`the tests left ${left.length} temporary ${left.length === 1 ? 'entry' : 'entries'} behind (now removed):`, ...left.map((l) => `  ${l}`));
  }
  const treeAfter = treeBefore === null ? null : treeState();
  if (treeBefore && treeAfter) {
    // Asked for: the README's pictures (npm run screenshots), the golden files (UPDATE_GOLDEN=1).
    const allowed = [...(screenshots ? [SCREENSHOTS] : []), ...(process.env.UPDATE_GOLDEN ? ['test/golden'] : [])];
    const changed = treeChanges(treeBefore, treeAfter, allowed);
    if (changed.length) problems.push('the working tree changed during the run (git status --porcelain):', ...changed.map((l) => `  ${l}`));
  }
  if (problems.length) {
    process.stderr.write(`\nnpm test: the run did not leave the machine as it found it\n${problems.join('\n')}\n`);
    return code === 0 ? 1 : code;
  }
  return code;
}

/** Node's test runner over the files, with the test database (embedded unless TEST_DATABASE_URL is set). */
async function runTests(env: NodeJS.ProcessEnv, args: string[]): Promise<number> {
  let embedded: EmbeddedPostgres | null = null;
  let databaseDir: string | null = null;
  try {
    if (!env.TEST_DATABASE_URL) {
      // Apart from the tests' directory: the runner removes this one itself, after stopping the server.
      databaseDir = await fs.mkdtemp(path.join(os.tmpdir(), 'cicero-wa-test-db-'));
      await fs.chmod(databaseDir, 0o755);
      embedded = new EmbeddedPostgres({ dataDir: databaseDir, port: await freePort(), logger: silentLogger() });
      env.TEST_DATABASE_URL = await embedded.start();
      process.stdout.write(`test database: embedded PostgreSQL in ${databaseDir}\n`);
    } else {
      process.stdout.write('test database: TEST_DATABASE_URL\n');
    }
    const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=300000', ...args], { stdio: 'inherit', env });
    const forward = (signal: NodeJS.Signals) => child.kill(signal);
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    return await new Promise<number>((resolve) => child.on('exit', (c) => resolve(c ?? 1)));
  } finally {
    await embedded?.stop();
    if (databaseDir) await fs.rm(databaseDir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`npm test: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
