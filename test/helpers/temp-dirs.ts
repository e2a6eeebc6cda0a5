/**
 * Temporary directories for tests, all in one place per test run: inside CICERO_WA_TEST_TMP, the run's
 * directory that `npm test` (scripts/run-tests.ts) makes, checks for leftovers afterwards and removes
 * (outside the runner: the system's temporary directory).
 *
 * Every directory made here is removed when its test file's tests have ended, passed or failed (a
 * root `after` hook), and at the latest when the process exits. A test may remove its own sooner,
 * e.g. an embedded PostgreSQL's (about 65 MB) once the server has stopped.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after } from 'node:test';

const made = new Set<string>();

/** Where this run's temporary directories go. */
export function testTempRoot(): string {
  return process.env.CICERO_WA_TEST_TMP ?? os.tmpdir();
}

/** A temporary directory that the embedded PostgreSQL's user (when running as root) can enter. */
export async function tempDir(prefix = 'cicero-wa-'): Promise<string> {
  const dir = await fs.mkdtemp(path.join(testTempRoot(), prefix));
  made.add(dir);
  await fs.chmod(dir, 0o755);
  return dir;
}

/** The same, made at once (for a caller that cannot wait). */
export function tempDirSync(prefix = 'cicero-wa-'): string {
  const dir = mkdtempSync(path.join(testTempRoot(), prefix));
  made.add(dir);
  chmodSync(dir, 0o755);
  return dir;
}

let cwd: string | null = null;

/**
 * The working directory for configurations a test parses in its own process (parseConfig(env, cwd)):
 * the default DATA_DIR (./data) and what the service keeps there land in this process's temporary
 * directory, not in a shared place such as /tmp.
 */
export function testCwd(): string {
  cwd ??= tempDirSync('cicero-wa-cwd-');
  return cwd;
}

/** Removes every temporary directory made so far (those a test removed itself are already gone). */
export async function removeTempDirs(): Promise<void> {
  for (const dir of [...made]) {
    await fs.rm(dir, { recursive: true, force: true, maxRetries: 3 });
    made.delete(dir);
  }
}

// Only in a test file's process (node --test sets NODE_TEST_CONTEXT): a child program of the tests that
// imported node:test would print a test report of its own.
if (process.env.NODE_TEST_CONTEXT) after(removeTempDirs);
process.on('exit', () => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});
