import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ROOT_STATE_DIR, canEnter, runningAsRoot } from '../src/db/embedded-postgres-root.js';
import { EmbeddedPostgres } from '../src/db/embedded-postgres.js';
import { silentLogger } from '../src/lib/logger.js';
import { freePort } from './helpers/ports.js';
import { testTempRoot } from './helpers/temp-dirs.js';

const stranger = { uid: 54321, gid: 54321, name: 'stranger' };

describe('embedded PostgreSQL run as root', () => {
  it('knows which directories another user can enter', async () => {
    const base = await fs.mkdtemp(path.join(testTempRoot(), 'cicero-wa-enter-'));
    try {
      const inner = path.join(base, 'inner');
      await fs.mkdir(inner);
      await fs.chmod(base, 0o700);
      await fs.chmod(inner, 0o755);
      assert.equal(canEnter(inner, stranger), false, 'a private parent blocks the way');
      await fs.chmod(base, 0o711);
      assert.equal(canEnter(inner, stranger), true);
      await fs.chmod(inner, 0o750);
      assert.equal(canEnter(inner, stranger), false);
    } finally {
      await fs.rm(base, { recursive: true, force: true });
    }
  });

  it('runs with DATA_DIR under a private (0700) directory, keeping the cluster linked from DATA_DIR',
    { skip: runningAsRoot() ? false : 'only meaningful when the tests run as root' },
    async () => {
      const privateDir = await fs.mkdtemp(path.join(testTempRoot(), 'cicero-wa-private-'));
      await fs.chmod(privateDir, 0o700);
      const dataDir = path.join(privateDir, 'data');
      let realCluster: string | null = null;
      try {
        const server = new EmbeddedPostgres({ dataDir, port: await freePort(), logger: silentLogger() });
        await server.start();
        const link = await fs.lstat(path.join(dataDir, 'postgres'));
        assert.ok(link.isSymbolicLink(), 'DATA_DIR/postgres links to the real cluster');
        realCluster = await fs.realpath(path.join(dataDir, 'postgres'));
        assert.ok(realCluster.startsWith(`${ROOT_STATE_DIR}/clusters/`), realCluster);
        await server.stop();

        const again = new EmbeddedPostgres({ dataDir, port: await freePort(), logger: silentLogger() });
        await again.start();
        assert.equal(await fs.realpath(path.join(dataDir, 'postgres')), realCluster, 'the same cluster is reused');
        await again.stop();
      } finally {
        await fs.rm(privateDir, { recursive: true, force: true });
        if (realCluster) await fs.rm(path.dirname(realCluster), { recursive: true, force: true });
      }
    });
});
