/**
 * `npm run mutate`: weakens the service's guards one at a time and runs the tests named for each, to
 * show that every guard fails a test when it is weakened.
 *
 * The mutations are kept in mutations/*.json, each file an array of
 * `{ "id", "title", "file", "search", "replace", "tests": ["test/….test.ts", …] }`: `search` must occur
 * exactly once in `file`, else the entry is reported as broken. The working tree is never touched: the
 * tree as it is now (tracked and untracked files, not the ignored ones) is copied into a temporary
 * directory with node_modules linked, a mutation is written there, its test files run with
 * scripts/run-tests.ts, and the file is put back before the next. The copy is removed at the end, also
 * after a failure or Ctrl-C, as is the test runs' TMPDIR (a run killed at its timeout cannot clean up after
 * itself).
 *
 * The named test files first run once without any mutation (the baseline): a test that fails anyway
 * would make every mutation look killed. Tests use TEST_DATABASE_URL when it is set; otherwise one
 * embedded PostgreSQL is started for the whole run.
 *
 *   npm run mutate                       every mutation
 *   npm run mutate -- --only a,b         these ids
 *   npm run mutate -- --list             the list, nothing run
 *   npm run mutate -- --no-baseline      skip the run without mutations
 *   npm run mutate -- --timeout 900      seconds one mutation's tests may take (then: killed, timeout)
 *   npm run mutate -- --verbose          the test output as it comes
 *
 * Exit code 0 when every mutation was killed; 1 when one survived or an entry is broken; 2 for a usage
 * error or a failing baseline.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, lstatSync, realpathSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EmbeddedPostgres } from '../src/db/embedded-postgres.js';
import { silentLogger } from '../src/lib/logger.js';
import { freePort } from '../test/helpers/ports.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const MUTATIONS_DIR = path.join(ROOT, 'mutations');

export interface Mutation {
  id: string;
  title: string;
  file: string;
  search: string;
  replace: string;
  tests: string[];
  /** The list it came from (mutations/<name>.json). */
  source: string;
}

interface Broken {
  id: string;
  source: string;
  problem: string;
}

type Verdict = 'killed' | 'killed (timeout)' | 'survived' | 'broken';

interface Outcome {
  id: string;
  verdict: Verdict;
  seconds: number;
  note: string;
}

interface Options {
  only: string[] | null;
  list: boolean;
  baseline: boolean;
  timeoutS: number;
  verbose: boolean;
}

class UsageError extends Error {}

function parseArgs(argv: string[]): Options {
  const options: Options = { only: null, list: false, baseline: true, timeoutS: 1200, verbose: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = (): string => {
      const next = argv[++i];
      if (next === undefined || next.startsWith('--')) throw new UsageError(`${arg} needs a value`);
      return next;
    };
    if (arg === '--only') options.only = value().split(',').map((s) => s.trim()).filter(Boolean);
    else if (arg.startsWith('--only=')) options.only = arg.slice('--only='.length).split(',').map((s) => s.trim()).filter(Boolean);
    else if (arg === '--list') options.list = true;
    else if (arg === '--no-baseline') options.baseline = false;
    else if (arg === '--verbose') options.verbose = true;
    else if (arg === '--timeout') {
      const raw = value();
      options.timeoutS = Number(raw);
      if (!Number.isInteger(options.timeoutS) || options.timeoutS < 1) throw new UsageError(`--timeout: a whole number of seconds, 1 or more (got ${raw})`);
    } else throw new UsageError(`unknown option ${arg} (allowed: --only <id,...>, --list, --no-baseline, --timeout <s>, --verbose)`);
  }
  if (options.only?.length === 0) throw new UsageError('--only: at least one id');
  return options;
}

/** Every entry of mutations/*.json, checked: the broken ones apart, each with what is wrong. */
async function loadMutations(): Promise<{ mutations: Mutation[]; broken: Broken[] }> {
  const mutations: Mutation[] = [];
  const broken: Broken[] = [];
  const files = (await fs.readdir(MUTATIONS_DIR)).filter((f) => f.endsWith('.json')).sort();
  const seen = new Set<string>();
  for (const name of files) {
    const source = `mutations/${name}`;
    let entries: unknown;
    try {
      entries = JSON.parse(await fs.readFile(path.join(MUTATIONS_DIR, name), 'utf8'));
    } catch (err) {
      broken.push({ id: `(${source})`, source, problem: `not JSON: ${(err as Error).message}` });
      continue;
    }
    if (!Array.isArray(entries)) {
      broken.push({ id: `(${source})`, source, problem: 'not an array of mutations' });
      continue;
    }
    for (const [index, entry] of entries.entries()) {
      const e = (entry ?? {}) as Record<string, unknown>;
      const id = typeof e.id === 'string' && e.id !== '' ? e.id : `(${source} entry ${index})`;
      const problem = await checkEntry(e, seen);
      if (problem) broken.push({ id, source, problem });
      else mutations.push({ ...(e as unknown as Omit<Mutation, 'source'>), source });
      seen.add(id);
    }
  }
  return { mutations, broken };
}

async function checkEntry(e: Record<string, unknown>, seen: Set<string>): Promise<string | null> {
  for (const field of ['id', 'title', 'file', 'search'] as const) {
    if (typeof e[field] !== 'string' || e[field] === '') return `${field}: a non-empty string is needed`;
  }
  if (typeof e.replace !== 'string') return 'replace: a string is needed';
  if (e.replace === e.search) return 'replace: the same as search, nothing would change';
  if (!/^[a-z0-9][a-z0-9-]*$/.test(e.id as string)) return 'id: lower-case letters, digits and -';
  if (seen.has(e.id as string)) return 'id: used twice';
  if (!Array.isArray(e.tests) || e.tests.length === 0 || !e.tests.every((t) => typeof t === 'string' && t.endsWith('.test.ts'))) {
    return 'tests: a non-empty array of test files (test/….test.ts)';
  }
  for (const test of e.tests as string[]) if (!existsSync(path.join(ROOT, test))) return `tests: ${test} does not exist`;
  const file = path.join(ROOT, e.file as string);
  if (!existsSync(file)) return `file: ${e.file as string} does not exist`;
  const text = await fs.readFile(file, 'utf8');
  const count = text.split(e.search as string).length - 1;
  if (count !== 1) return `search: found ${count} times in ${e.file as string} (exactly once is needed)`;
  return null;
}

/** A plain file (not a directory, not a link such as a linked node_modules). */
function isFile(file: string): boolean {
  try {
    return lstatSync(file).isFile();
  } catch {
    return false;
  }
}

/** The tree as it is now (tracked and untracked, not ignored) in a temporary git repository, node_modules linked. */
async function fillScratchCopy(dir: string): Promise<void> {
  await fs.chmod(dir, 0o755); // an embedded PostgreSQL running as another user enters test directories below it
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' })
    .split('\0')
    .filter((f) => f !== '' && f !== 'node_modules' && !f.startsWith('node_modules/') && isFile(path.join(ROOT, f)));
  for (const file of files) {
    await fs.mkdir(path.join(dir, path.dirname(file)), { recursive: true });
    await fs.copyFile(path.join(ROOT, file), path.join(dir, file));
  }
  await fs.symlink(realpathSync(path.join(ROOT, 'node_modules')), path.join(dir, 'node_modules'), 'dir');
  // Its own repository, clean, so a runner that compares `git status` before and after sees only what the tests do.
  const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=mutate', '-c', 'user.email=mutate@localhost', ...args], { cwd: dir, stdio: 'ignore' });
  git('init', '-q');
  await fs.mkdir(path.join(dir, '.git', 'info'), { recursive: true });
  await fs.appendFile(path.join(dir, '.git', 'info', 'exclude'), '/node_modules\n'); // a link, which `node_modules/` does not match
  git('add', '-A');
  git('commit', '-q', '-m', 'the tree under mutation');
}

interface TestRun {
  passed: boolean;
  timedOut: boolean;
  failures: string[];
}

let running: { kill(): void } | null = null;

/** scripts/run-tests.ts on these files in `cwd`, in its own process group (so a timeout ends every child). */
function runTests(cwd: string, files: string[], env: NodeJS.ProcessEnv, options: Options): Promise<TestRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/run-tests.ts', ...files], { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const killGroup = () => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    running = { kill: killGroup };
    let output = '';
    const take = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (options.verbose) process.stdout.write(chunk);
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, options.timeoutS * 1000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      killGroup(); // what the runner left running
      running = null;
      // The failed tests, innermost first (a test before the describe around it).
      const failures = output
        .split('\n')
        .filter((l) => /^\s*not ok \d+ - /.test(l))
        .map((l) => ({ depth: l.length - l.trimStart().length, name: l.trim().replace(/^not ok \d+ - /, '') }))
        .sort((a, b) => b.depth - a.depth)
        .map((f) => f.name)
        .filter((name, i, all) => all.indexOf(name) === i);
      resolve({ passed: code === 0 && !timedOut, timedOut, failures });
    });
  });
}

function table(outcomes: Outcome[]): string {
  const rows = [['id', 'result', 'time', 'what caught it / why'], ...outcomes.map((o) => [o.id, o.verdict, o.verdict === 'broken' ? '' : `${o.seconds.toFixed(0)} s`, o.note])];
  const widths = [0, 1, 2].map((c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => [0, 1, 2].map((c) => r[c]!.padEnd(widths[c]!)).concat(r[3]!).join('  ').trimEnd()).join('\n');
}

async function main(): Promise<number> {
  const options = parseArgs(process.argv.slice(2));
  const { mutations: all, broken: allBroken } = await loadMutations();
  const wanted = (id: string) => options.only === null || options.only.includes(id);
  if (options.only) {
    const known = new Set([...all.map((m) => m.id), ...allBroken.map((b) => b.id)]);
    const unknown = options.only.filter((id) => !known.has(id));
    if (unknown.length) throw new UsageError(`--only: no mutation ${unknown.join(', ')} in mutations/*.json (see --list)`);
  }
  const mutations = all.filter((m) => wanted(m.id));
  const broken = allBroken.filter((b) => wanted(b.id));

  if (options.list) {
    for (const m of all) process.stdout.write(`${m.id}  ${m.title}\n    ${m.file} → ${m.tests.join(', ')}  (${m.source})\n`);
    for (const b of allBroken) process.stdout.write(`${b.id}  BROKEN (${b.source}): ${b.problem}\n`);
    return allBroken.length ? 1 : 0;
  }

  const outcomes: Outcome[] = broken.map((b) => ({ id: b.id, verdict: 'broken', seconds: 0, note: `${b.source}: ${b.problem}` }));
  let scratch: string | null = null;
  let embedded: EmbeddedPostgres | null = null;
  let embeddedDir: string | null = null;
  /** The test runs' temporary directory (their TMPDIR): what a run killed at its timeout leaves goes with it. */
  let runsTmp: string | null = null;
  let stopping = false;
  const cleanUp = async () => {
    running?.kill();
    await embedded?.stop().catch(() => undefined);
    embedded = null;
    for (const dir of [scratch, embeddedDir, runsTmp]) if (dir) await fs.rm(dir, { recursive: true, force: true });
    scratch = embeddedDir = runsTmp = null;
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`\nmutate: ${signal}, removing the scratch copy\n`);
    void cleanUp().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    const env = { ...process.env };
    if (mutations.length > 0 && !env.TEST_DATABASE_URL) {
      embeddedDir = await fs.mkdtemp(path.join(os.tmpdir(), 'cicero-wa-mutate-pg-'));
      await fs.chmod(embeddedDir, 0o755);
      embedded = new EmbeddedPostgres({ dataDir: embeddedDir, port: await freePort(), logger: silentLogger() });
      env.TEST_DATABASE_URL = await embedded.start();
    }
    if (mutations.length > 0) {
      scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'cicero-wa-mutate-'));
      await fillScratchCopy(scratch);
      runsTmp = await fs.mkdtemp(path.join(os.tmpdir(), 'cicero-wa-mutate-tmp-'));
      await fs.chmod(runsTmp, 0o1777); // as /tmp: an embedded PostgreSQL running as another user makes its files there too
      env.TMPDIR = runsTmp;
    }
    process.stdout.write(`mutate: ${mutations.length} mutations${broken.length ? `, ${broken.length} broken` : ''}; copy of the tree in ${scratch ?? '(none)'}\n`);

    if (scratch && options.baseline) {
      const files = [...new Set(mutations.flatMap((m) => m.tests))].sort();
      process.stdout.write(`baseline: ${files.length} test files without any mutation …\n`);
      const started = Date.now();
      const base = await runTests(scratch, files, env, options);
      process.stdout.write(`baseline: ${base.passed ? 'passed' : 'FAILED'} in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
      if (!base.passed) {
        process.stderr.write(`mutate: the tests fail without any mutation${base.timedOut ? ' (timeout)' : ''}, so no mutation can be judged:\n  ${base.failures.slice(0, 10).join('\n  ')}\n`);
        return 2;
      }
    }

    for (const m of mutations) {
      if (stopping) break;
      const file = path.join(scratch!, m.file);
      const original = await fs.readFile(file, 'utf8');
      await fs.writeFile(file, original.replace(m.search, () => m.replace));
      process.stdout.write(`${m.id}: ${m.title} …`);
      const started = Date.now();
      try {
        const run = await runTests(scratch!, m.tests, env, options);
        const seconds = (Date.now() - started) / 1000;
        const verdict: Verdict = run.timedOut ? 'killed (timeout)' : run.passed ? 'survived' : 'killed';
        const note = run.passed ? `${m.tests.join(', ')} all pass` : run.failures.slice(0, 2).join(' | ') || 'the runner failed';
        outcomes.push({ id: m.id, verdict, seconds, note });
        process.stdout.write(` ${verdict} (${seconds.toFixed(0)} s)\n`);
      } finally {
        await fs.writeFile(file, original);
      }
    }
  } finally {
    await cleanUp();
  }

  const killed = outcomes.filter((o) => o.verdict.startsWith('killed'));
  const survived = outcomes.filter((o) => o.verdict === 'survived');
  const brokenIds = outcomes.filter((o) => o.verdict === 'broken');
  process.stdout.write(`\n${table(outcomes)}\n\n`);
  process.stdout.write(
    `${outcomes.length} mutations, ${killed.length} killed, ${survived.length} survived: ${survived.map((o) => o.id).join(', ') || 'none'}` +
      (brokenIds.length ? `; ${brokenIds.length} broken: ${brokenIds.map((o) => o.id).join(', ')}` : '') +
      '\n',
  );
  return survived.length > 0 || brokenIds.length > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`npm run mutate: ${err.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`npm run mutate: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
