/**
 * The composition root (src/app/app.ts): what each SERVICE_ROLE builds and starts, on a real
 * PostgreSQL, with the fake transport in place of WhatsApp.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { composeApp, startApp, type App } from '../src/app/app.js';
import { parseConfig } from '../src/config/index.js';
import { JOB_NAMES } from '../src/jobs.js';
import { silentLogger } from '../src/lib/logger.js';
import { FakeTransport } from '../src/whatsapp/fake-transport.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { waitUntil } from './helpers/dispatch.js';
import { insertMessages } from './helpers/services.js';
import { testCwd } from './helpers/temp-dirs.js';

const logger = silentLogger();

describe('the composition root and its roles', () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase('app_roles');
  });
  after(async () => db.drop());

  const config = (role: string) => parseConfig({ DATABASE_URL: db.url, SERVICE_ROLE: role, WA_TRANSPORT: 'fake', WA_GOVERNOR: 'off', WA_SEND_INTERVAL_MS: '0', WA_SEND_JITTER_MS: '0', HTTP_PORT: '0' }, testCwd());

  it('all: every component, every job; started in order and stopped in reverse', async () => {
    const app = await startApp(config('all'), logger, { transport: new FakeTransport(), drawQr: null });
    try {
      assert.deepEqual(
        app.status().map((c) => c.name),
        ['outbox maintenance', 'inbound', 'whatsapp', 'outbox listener', 'dispatcher', 'session watcher', 'session commands', 'complaint responder', 'complaint listener', 'scheduler', 'http'],
      );
      assert.ok(app.status().every((c) => c.state === 'running'));
      assert.equal(app.scheduler.jobs.length, JOB_NAMES.length);
    } finally {
      await app.stop();
    }
    assert.ok(app.status().every((c) => c.state === 'stopped'));
  });

  it('a scheduler and a worker on one database: the scheduler runs the shared jobs and no WhatsApp, the worker sends', async () => {
    let scheduler: App | null = null;
    let worker: App | null = null;
    try {
      scheduler = await startApp(config('scheduler'), logger, { drawQr: null });
      assert.equal(scheduler.transport, null);
      assert.equal(scheduler.delivery, null);
      assert.ok(scheduler.scheduler.jobs.every((j) => j.shared), 'only shared jobs');
      assert.ok(scheduler.scheduler.jobs.length >= 5);

      const transport = new FakeTransport();
      worker = await startApp(config('worker'), logger, { transport, drawQr: null });
      assert.deepEqual(worker.scheduler.jobs.map((j) => j.name), ['wa-gateway-poll'], 'only its own outbox poll');

      await insertMessages(db.pool, 3, 'role test ');
      await waitUntil(() => transport.sends.length === 3, 10_000, 'the worker sent the three rows');
    } finally {
      await worker?.stop();
      await scheduler?.stop();
    }
  });

  it('a short command (role command) starts nothing long-running', async () => {
    const app = await composeApp(config('all'), logger, { role: 'command', transport: new FakeTransport(), drawQr: null });
    try {
      assert.ok(!app.status().some((c) => c.name === 'scheduler'));
      assert.equal(app.scheduler.jobs.length, JOB_NAMES.length, 'but knows every job, for `run` and `jobs`');
    } finally {
      await app.stop();
    }
  });
});
