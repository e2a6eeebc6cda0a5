/**
 * Runs the `cicero-wa` command from source in a child process, with a clean environment (only what the
 * test passes, plus PATH and HOME) and, by default, a temporary working directory (so no developer's
 * .env is picked up).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from './temp-dirs.js';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = path.join(REPO_ROOT, 'src', 'main.ts');
const TSX_LOADER = import.meta.resolve('tsx');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves when a line of output matches. Rejects when the process exits first or after timeoutMs. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  exited: Promise<CliResult>;
}

export { tempDir } from './temp-dirs.js';

export function startCli(args: string[], env: Record<string, string>, cwd: string): CliProcess {
  return startChild(MAIN, env, cwd, args);
}

/** Runs a TypeScript program (a child program of the tests) the same way. */
export function startChild(script: string, env: Record<string, string>, cwd: string, args: string[] = []): CliProcess {
  const child = spawn(process.execPath, ['--import', TSX_LOADER, script, ...args], {
    cwd,
    // Many services run at once in the tests: each HTTP API on a free port unless a test chooses one.
    // The ban-risk governor is off unless a test turns it on (its own tests do): the others send far
    // faster than any real budget allows.
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', HTTP_PORT: '0', WA_GOVERNOR: 'off', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const waiters = new Set<() => void>();
  child.stdout!.on('data', (c: Buffer) => {
    stdout += c.toString('utf8');
    waiters.forEach((w) => w());
  });
  child.stderr!.on('data', (c: Buffer) => {
    stderr += c.toString('utf8');
    waiters.forEach((w) => w());
  });
  const exited = new Promise<CliResult>((resolve) => {
    child.on('close', (code, signal) => {
      resolve({ code, signal, stdout, stderr });
      waiters.forEach((w) => w());
    });
  });
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    waitFor(pattern, timeoutMs = 60000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const line = `${stdout}\n${stderr}`.split('\n').find((l) => pattern.test(l));
          if (line !== undefined) {
            done();
            resolve(line);
          } else if (child.exitCode !== null || child.signalCode !== null) {
            done();
            reject(new Error(`process exited before ${pattern}:\n${stdout}\n${stderr}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`timed out waiting for ${pattern}:\n${stdout}\n${stderr}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
  };
}

export async function runCli(args: string[], env: Record<string, string> = {}, cwd?: string): Promise<CliResult> {
  const dir = cwd ?? (await tempDir());
  return startCli(args, env, dir).exited;
}

/** Log lines (pino JSON) from a process's stdout. */
export function logLines(stdout: string): Array<Record<string, unknown>> {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Processes whose command line names `text` (a data directory: the embedded PostgreSQL, Chromium). */
export function processesUsing(text: string): string[] {
  try {
    return execFileSync('pgrep', ['-af', text], { encoding: 'utf8' }).split('\n').filter(Boolean);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}
