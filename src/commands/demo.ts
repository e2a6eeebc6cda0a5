/**
 * `cicero-wa demo seed`: the demo dataset in an empty database. `cicero-wa demo`: the service on its own
 * embedded database (DATA_DIR/demo) with that data and the dry-run transport; every recap is sent once
 * to the terminal, a summary follows, and the service stops (unless --keep-running).
 */
import path from 'node:path';
import { startApp } from '../app/app.js';
import { runUntilStopped } from '../app/lifecycle.js';
import type { Config } from '../config/index.js';
import { migrate } from '../db/migrate.js';
import { seedDemo } from '../features/rekap/demo/seed.js';
import { installReportViews } from '../features/rekap/index.js';
import { systemClock } from '../lib/clock.js';
import { backlogSize, sentCountsByType } from '../outbox/admin.js';
import { LogTransport } from '../whatsapp/log-transport.js';
import { print, withDatabase, type CommandContext } from './context.js';
import { UsageError } from './usage.js';

export async function commandDemoSeed(context: CommandContext): Promise<number> {
  return withDatabase(context, async (pool) => {
    await migrate(pool, context.logger);
    const result = await seedDemo(pool, systemClock, context.config.cron.timezone);
    await installReportViews(pool);
    print([
      result.created
        ? `demo data created: ${result.units} units, ${result.personnel} personnel, ${result.posts} posts, ${result.tasks} tasks today`
        : 'demo data already there; nothing changed',
    ]);
    return 0;
  });
}

export async function commandDemo(context: CommandContext): Promise<number> {
  const { config, logger } = context;
  if (context.args[0] === 'seed') return commandDemoSeed(context);
  if (context.args[0] !== undefined) throw new UsageError(`unknown demo action "${context.args[0]}": expected "cicero-wa demo" or "cicero-wa demo seed"`);
  const keepRunning = context.options['keep-running'] === true;
  const demoConfig: Config = {
    ...config,
    dataDir: path.join(config.dataDir, 'demo'),
    database: { ...config.database, url: null },
    wa: { ...config.wa, transport: 'log' },
    dispatch: { ...config.dispatch, sendIntervalMs: 1000, sendJitterMs: 0 },
    role: 'all',
  };
  const transport = new LogTransport(logger, (text) => process.stderr.write(text));
  const build = () =>
    startApp(demoConfig, logger, {
      transport,
      prepare: async (database) => {
        const result = await seedDemo(database.pool, systemClock, config.cron.timezone);
        if (result.created) logger.info(result, 'demo data created');
      },
    });
  return runUntilStopped(build, logger, {
    afterStart: async (app) => {
      let enqueued = 0;
      for (const job of ['daily-report', 'weekly-report', 'monthly-report', 'task-delivery-recap'] as const) {
        const outcome = await app.scheduler.runNow(job, null);
        if (outcome.status === 'succeeded') enqueued += outcome.enqueued;
        logger.info({ job, outcome }, 'demo: job run');
      }
      // Every recap goes out (to the terminal) before the summary.
      const pool = app.database.pool;
      for (let waited = 0; (await backlogSize(pool)) > 0 && waited < 120_000; waited += 200) await new Promise((r) => setTimeout(r, 200));
      const sent = await sentCountsByType(pool);
      print([
        '',
        `Demo: ${enqueued} new recap(s) this run; in all ${sent.map((r) => `${r.count} ${r.type}`).join(', ') || 'none'} shown above (to the log, not to WhatsApp).`,
        `The demo database is in ${path.join(demoConfig.dataDir, 'postgres')}: cicero-wa outbox list (with DATA_DIR=${demoConfig.dataDir}) shows every message.`,
        keepRunning ? 'The service keeps running (--keep-running): stop it with Ctrl-C.' : 'Stopping; run "npm run demo -- --keep-running" to keep the service up.',
      ]);
      return keepRunning ? undefined : 'stop';
    },
  });
}
