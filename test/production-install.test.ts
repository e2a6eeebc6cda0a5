/**
 * The production install, as the README gives it, on a real clean clone: `git clone`, `npm ci
 * --omit=dev` (no development dependency installed), then `NODE_ENV=production npm start` until the
 * service is up (embedded PostgreSQL, dry-run transport), then SIGTERM to npm: it stops cleanly, exit 0.
 * And the container image's install: only the files deploy/Dockerfile copies, `npm ci --omit=dev`, which
 * must build dist/ (no docker daemon here: the image's own build step, run on its files).
 *
 * INSTALL CHECK: this file installs the project's packages into a temporary clone (about a minute on
 * two cores, from the local npm cache where it has them: --prefer-offline). It clones the committed
 * HEAD, so commit before running it. It is skipped, saying why, when the packages can be had neither
 * from the npm cache nor from the registry.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { REPO_ROOT, tempDir } from './helpers/cli.js';
import { freePort } from './helpers/ports.js';

/** npm's words for "could not get the package": no cache entry offline, or no way to the registry. */
const UNREACHABLE = /ENOTCACHED|ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|network request .* failed/;

interface Run {
  code: number | null;
  output: string;
}

/** Runs a command with only PATH and HOME from this process (no npm_config_* of the test runner). */
function run(command: string, args: string[], cwd: string, env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (output += c.toString('utf8')));
    child.on('close', (code) => resolve({ code, output }));
  });
}

describe('production install from a clean clone (INSTALL CHECK: npm ci --omit=dev, then npm start)', () => {
  it('installs without development dependencies, builds, starts with NODE_ENV=production and stops cleanly on SIGTERM', async (t) => {
    const dir = await tempDir('cicero-wa-prod-');
    try {
      const clone = path.join(dir, 'cicero-wa-gateway');
      execFileSync('git', ['clone', '--quiet', REPO_ROOT, clone]);

      const install = await run('npm', ['ci', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund'], clone);
      if (install.code !== 0 && UNREACHABLE.test(install.output)) {
        t.skip(`the packages are neither in the npm cache nor reachable from here: ${UNREACHABLE.exec(install.output)![0]}`);
        return;
      }
      assert.equal(install.code, 0, `npm ci --omit=dev failed:\n${install.output.slice(-4000)}`);
      assert.ok(existsSync(path.join(clone, 'dist', 'main.js')), 'the install built dist/ (the prepare script)');
      assert.ok(!existsSync(path.join(clone, 'node_modules', 'tsx')), 'no development dependency was installed (tsx)');
      assert.ok(!existsSync(path.join(clone, 'node_modules', 'playwright-core')), 'no development dependency was installed (playwright-core)');

      const port = await freePort();
      const service = spawn('npm', ['start'], {
        cwd: clone,
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          HOME: process.env.HOME ?? '/root',
          NODE_ENV: 'production',
          WA_TRANSPORT: 'log',
          HTTP_PORT: String(port),
          EMBEDDED_PG_PORT: String(await freePort()),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      const exited = new Promise<number | null>((resolve) => service.on('close', (code) => resolve(code)));
      const up = new Promise<void>((resolve, reject) => {
        const onData = (c: Buffer) => {
          output += c.toString('utf8');
          if (/cicero-wa-gateway is up/.test(output)) resolve();
        };
        service.stdout.on('data', onData);
        service.stderr.on('data', onData);
        void exited.then((code) => reject(new Error(`npm start exited (code ${code}) before the service was up:\n${output.slice(-4000)}`)));
      });
      await up;
      const health = await fetch(`http://127.0.0.1:${port}/healthz`);
      assert.equal(health.status, 200, 'the service answers HTTP');

      service.kill('SIGTERM');
      assert.equal(await exited, 0, `npm start exits 0 after SIGTERM:\n${output.slice(-3000)}`);
      assert.match(output, /embedded PostgreSQL stopped/);
      assert.match(output, /cicero-wa-gateway stopped/);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it("installs and builds from the files deploy/Dockerfile copies, and nothing else (the image's npm ci step)", async (t) => {
    const dir = await tempDir('cicero-wa-image-');
    try {
      const clone = path.join(dir, 'clone');
      const app = path.join(dir, 'app');
      execFileSync('git', ['clone', '--quiet', REPO_ROOT, clone]);
      const copies = dockerfileCopies(await fs.readFile(path.join(clone, 'deploy', 'Dockerfile'), 'utf8'));
      assert.ok(copies.length > 0, 'the Dockerfile copies the sources');
      for (const { sources, target } of copies) {
        for (const source of sources) {
          const to = target.endsWith('/') ? path.join(app, target, path.basename(source)) : path.join(app, target);
          await fs.cp(path.join(clone, source), to, { recursive: true });
        }
      }
      const install = await run('npm', ['ci', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund'], app);
      if (install.code !== 0 && UNREACHABLE.test(install.output)) {
        t.skip(`the packages are neither in the npm cache nor reachable from here: ${UNREACHABLE.exec(install.output)![0]}`);
        return;
      }
      assert.equal(install.code, 0, `npm ci --omit=dev on the Dockerfile's files failed:\n${install.output.slice(-4000)}`);
      assert.ok(existsSync(path.join(app, 'dist', 'main.js')), 'the install built dist/');
      const version = await run('node', ['dist/main.js', '--help'], app, { NODE_ENV: 'production' });
      assert.equal(version.code, 0, `node dist/main.js --help:\n${version.output.slice(-2000)}`);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});

/** The Dockerfile's COPY lines (none from another stage): their sources and target, relative to WORKDIR. */
function dockerfileCopies(dockerfile: string): Array<{ sources: string[]; target: string }> {
  return dockerfile
    .split('\n')
    .filter((line) => /^COPY\s/.test(line) && !/--from=/.test(line))
    .map((line) => {
      const words = line.trim().split(/\s+/).slice(1).filter((w) => !w.startsWith('--'));
      return { sources: words.slice(0, -1), target: words.at(-1)! };
    });
}
