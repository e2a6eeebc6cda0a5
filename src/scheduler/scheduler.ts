/**
 * The scheduler: node-cron fires each job in CRON_TIMEZONE; every fire goes through `runSlot`, which
 * makes it safe and visible:
 *
 * - single-flight per job in this process: a fire while the previous run goes on is skipped and
 *   recorded;
 * - paused when Cicero_V2's cron_job_config says so (read at each fire);
 * - once per slot across instances: shared jobs claim (job, slot) in the run ledger, and only the
 *   instance whose claim succeeds runs it; the ledger keeps start, end, status, counts and error;
 * - a failed run is recorded and never stops later slots;
 * - catch-up: at start-up, a report slot missed while the service was down runs once if it is within
 *   the job's catch-up window (a failed slot in the window is run again); for a list of times, the
 *   latest time passed, if it is of the same day in CRON_TIMEZONE;
 * - a schedule that is data (a list of times of day, src/scheduler/job-times.ts) is read at start and
 *   again whenever it changes (a NOTIFY on its table): each time is a slot, rescheduled without a restart.
 *
 * Local jobs (the outbox poll) are not shared: each instance runs its own, without the ledger.
 */
import cron, { type ScheduledTask } from 'node-cron';
import type pg from 'pg';
import type { Clock } from '../lib/clock.js';
import type { JobContext, JobDefinition, JobName, RunTrigger } from '../jobs.js';
import type { Logger } from '../lib/logger.js';
import { instanceId } from '../lib/instance-id.js';
import { zonedParts } from '../lib/zoned-time.js';
import { isPaused } from './job-config.js';
import { describeDatabaseError } from '../db/pool.js';
import { ChannelListener } from '../db/listener.js';
import { JOB_TIMES_CHANNEL, readJobTimes } from './job-times.js';
import { abandonStaleRuns, claimSlot, failRunsOf, finishRun, pruneHistory, recordSkipped } from './run-ledger.js';
import { scheduleOf, TimesSchedule, type Schedule } from './schedule-math.js';

export type { JobDefinition };

export type RunOutcome =
  | { status: 'succeeded'; enqueued: number; heldBack: number | null; detail: string | null }
  | { status: 'failed'; error: string }
  | { status: 'skipped'; reason: string }
  | { status: 'taken'; reason: string };

export interface SchedulerOptions {
  pool: pg.Pool;
  jobs: JobDefinition[];
  timezone: string;
  historyDays: number;
  logger: Logger;
  clock: Clock;
  instanceId?: string;
  /** How long a busy instance waits before recording a skipped slot, so a free instance can claim it first. */
  skipGraceMs?: number;
  /** Where to LISTEN for changed job times; without it, a change applies at `reloadTimes()` (or a restart). */
  connectionString?: string;
}

/** A run still `running` after this long belongs to an instance that died. */
const ABANDONED_AFTER_MS = 60 * 60 * 1000;
const STOP_WAIT_MS = 3000;
const DAY_MS = 24 * 60 * 60 * 1000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class Scheduler {
  readonly instanceId: string;
  private readonly tasks = new Map<JobName, ScheduledTask[]>();
  /** The times in force of each job whose schedule is data. */
  private readonly times = new Map<JobName, string[]>();
  private listener: ChannelListener | null = null;
  private reloading: Promise<void> = Promise.resolve();
  private started = false;
  private readonly running = new Set<JobName>();
  private readonly inflight = new Set<Promise<unknown>>();
  private pruneTimer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(private readonly options: SchedulerOptions) {
    this.instanceId = options.instanceId ?? instanceId();
  }

  get jobs(): JobDefinition[] {
    return this.options.jobs;
  }

  job(name: string): JobDefinition | undefined {
    return this.options.jobs.find((j) => j.name === name);
  }

  /** Housekeeping, the times kept as data, catch-up, then the live schedules and the listener for changed times. */
  async start(): Promise<void> {
    const { pool, logger } = this.options;
    const abandoned = await abandonStaleRuns(pool, ABANDONED_AFTER_MS);
    if (abandoned > 0) logger.warn({ runs: abandoned }, 'runs left unfinished by a stopped instance are marked failed');
    await this.prune();
    this.pruneTimer = setInterval(() => void this.prune(), DAY_MS);
    this.pruneTimer.unref();

    // Listening before the first read: a change made meanwhile is not missed.
    if (this.options.connectionString && this.options.jobs.some((j) => j.defaultTimes)) {
      const reload = () => void this.reloadTimes().catch((err: Error) => logger.warn({ err: err.message }, 'could not read the job times again; the ones in force stay'));
      this.listener = new ChannelListener({ connectionString: this.options.connectionString, channel: JOB_TIMES_CHANNEL, logger, onNotify: reload, onReconnect: reload });
      await this.listener.start();
    }
    await this.reloadTimes();
    await this.catchUp();

    this.started = true;
    for (const job of this.options.jobs) this.schedule(job);
  }

  /** (Re)creates the node-cron tasks of a job from its schedule in force: one task per time of a list. */
  private schedule(job: JobDefinition): void {
    const { logger, timezone } = this.options;
    for (const task of this.tasks.get(job.name) ?? []) void task.destroy();
    this.tasks.delete(job.name);
    const schedule = this.scheduleOf(job);
    if (schedule === null) {
      logger.info({ job: job.name, ...(job.variable ? { variable: job.variable } : { times: [] }) }, 'job switched off');
      return;
    }
    const expressions = schedule instanceof TimesSchedule ? schedule.expressions() : [job.expression!];
    const fire = (context: { date: Date }) => this.track(this.runSlot(job, new Date(Math.floor(context.date.getTime() / 1000) * 1000), 'schedule'));
    this.tasks.set(job.name, expressions.map((expression) => cron.schedule(expression, fire, { timezone, name: `${job.name} ${expression}` })));
    const next = schedule.next(this.options.clock.now());
    logger.debug({ job: job.name, schedule: job.expression ?? this.times.get(job.name), timezone, next: next?.toISOString() ?? null }, 'job scheduled');
  }

  private scheduleOf = (job: JobDefinition): Schedule | null => scheduleOf(job, this.times.get(job.name), this.options.timezone);

  /** Reads the times of the jobs whose schedule is data; returns the jobs whose list changed. */
  private async loadTimes(): Promise<JobDefinition[]> {
    const read = await readJobTimes(this.options.pool, this.options.jobs, this.options.logger);
    const changed: JobDefinition[] = [];
    for (const job of this.options.jobs) {
      const now = read.get(job.name);
      if (!now) continue;
      if (this.times.get(job.name)?.join(',') !== now.times.join(',')) changed.push(job);
      this.times.set(job.name, now.times);
    }
    return changed;
  }

  /** Reads the job times again and reschedules each job whose list changed (what a NOTIFY on the table asks); one read at a time. */
  reloadTimes(): Promise<void> {
    const next = this.reloading.then(() => this.applyTimes());
    this.reloading = next.catch(() => undefined);
    return next;
  }

  private async applyTimes(): Promise<void> {
    const changed = await this.loadTimes();
    if (!this.started || this.stopped) return;
    for (const job of changed) {
      this.options.logger.info({ job: job.name, times: this.times.get(job.name), timezone: this.options.timezone }, 'job times changed: rescheduled');
      this.schedule(job);
    }
  }

  /** The times of day in force for a job whose schedule is data (its defaults before start), else null. */
  timesOf(name: JobName): string[] | null {
    const job = this.job(name);
    if (!job?.defaultTimes) return null;
    return this.times.get(name) ?? [...job.defaultTimes];
  }

  /** Runs, once, each report slot missed within its job's catch-up window. */
  async catchUp(): Promise<void> {
    const now = this.options.clock.now();
    for (const job of this.options.jobs) {
      const schedule = this.scheduleOf(job);
      if (!job.shared || job.catchUpHours <= 0 || schedule === null) continue;
      const slot = schedule.previous(now);
      if (!slot || now.getTime() - slot.getTime() > job.catchUpHours * 3600_000) continue;
      // Times of day are about their day: yesterday's last time is not run this morning.
      if (schedule instanceof TimesSchedule && !sameDay(slot, now, this.options.timezone)) continue;
      const outcome = await this.runSlot(job, slot, 'catch-up');
      if (outcome.status === 'succeeded' || outcome.status === 'failed') {
        this.options.logger.info({ job: job.name, slot: slot.toISOString(), status: outcome.status }, 'missed slot caught up');
      }
    }
  }

  /** Runs a job now, outside its schedule (`cicero-wa run`). */
  async runNow(name: JobName, date: string | null): Promise<RunOutcome> {
    const job = this.job(name);
    if (!job) throw new Error(`unknown job ${name}`);
    return this.runSlot(job, this.options.clock.now(), 'manual', date);
  }

  /** The next fire of each job after `from` (null when off or never). */
  nextFires(from: Date = this.options.clock.now()): Map<JobName, Date | null> {
    return new Map(this.options.jobs.map((job) => [job.name, this.scheduleOf(job)?.next(from) ?? null]));
  }

  /** Stops the schedules, gives running jobs a moment to finish, and records those that did not. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    await this.listener?.stop();
    await Promise.all([...this.tasks.values()].flat().map((t) => t.destroy()));
    this.tasks.clear();
    if (this.inflight.size > 0) {
      await Promise.race([Promise.allSettled([...this.inflight]), sleep(STOP_WAIT_MS)]);
    }
    if (this.running.size > 0) {
      await failRunsOf(this.options.pool, this.instanceId, 'stopped during the run: the service was shut down').catch(() => undefined);
    }
  }

  private track(promise: Promise<unknown>): void {
    this.inflight.add(promise);
    void promise.finally(() => this.inflight.delete(promise));
  }

  /** Every run goes through here: single-flight, pause, claim, run, record. Never throws. */
  async runSlot(job: JobDefinition, slot: Date, trigger: RunTrigger, date: string | null = null): Promise<RunOutcome> {
    const { pool, logger } = this.options;
    const log = logger.child({ job: job.name, slot: slot.toISOString(), trigger });
    try {
      if (this.running.has(job.name)) {
        const reason = 'previous run of this job still in progress on this instance';
        if (job.shared) {
          await sleep(this.options.skipGraceMs ?? 1000); // a free instance may take the slot meanwhile
          await recordSkipped(pool, { job: job.name, slot, trigger, instance: this.instanceId, reason });
        }
        log.warn({ reason }, 'job skipped');
        return { status: 'skipped', reason };
      }
      if (await isPaused(pool, job.name, log)) {
        const reason = 'paused: cron_job_config.is_active = false';
        if (job.shared) await recordSkipped(pool, { job: job.name, slot, trigger, instance: this.instanceId, reason });
        log.info({ reason }, 'job skipped');
        return { status: 'skipped', reason };
      }
      if (this.stopped && trigger !== 'manual') return { status: 'skipped', reason: 'stopping' };

      let runId: number | null = null;
      if (job.shared) {
        runId = await claimSlot(pool, { job: job.name, slot, trigger, instance: this.instanceId, retryFailed: trigger === 'catch-up' });
        // A manual run's slot is the moment it started; two started in the same millisecond both run.
        for (let bump = 1; runId === null && trigger === 'manual' && bump <= 50; bump++) {
          runId = await claimSlot(pool, { job: job.name, slot: new Date(slot.getTime() + bump), trigger, instance: this.instanceId, retryFailed: false });
        }
        if (runId === null) {
          log.debug('slot already run by another instance');
          return { status: 'taken', reason: 'this slot was run by another instance' };
        }
      }
      return await this.execute(job, { job: job.name, slot, trigger, date, clock: this.options.clock, logger: log }, runId);
    } catch (err) {
      log.error({ err: (err as Error).message }, 'job could not be started (database unreachable?)');
      return { status: 'failed', error: (err as Error).message };
    }
  }

  private async execute(job: JobDefinition, context: JobContext, runId: number | null): Promise<RunOutcome> {
    const { pool } = this.options;
    const started = performance.now();
    this.running.add(job.name);
    try {
      const result = (await job.handler(context)) ?? {};
      if (result.skipped) {
        if (runId !== null) await finishRun(pool, runId, { status: 'skipped', enqueued: 0, detail: result.skipped, error: null });
        context.logger.warn({ reason: result.skipped }, 'job skipped');
        return { status: 'skipped', reason: result.skipped };
      }
      const enqueued = result.enqueued ?? 0;
      const heldBack = result.heldBack ?? null;
      const detail = result.detail ?? null;
      if (runId !== null) await finishRun(pool, runId, { status: 'succeeded', enqueued, heldBack, detail, error: null });
      context.logger[job.shared ? 'info' : 'debug']({ enqueued, heldBack, detail, ms: Math.round(performance.now() - started) }, 'job succeeded');
      return { status: 'succeeded', enqueued, heldBack, detail };
    } catch (err) {
      const error = describeDatabaseError(err);
      if (runId !== null) {
        await finishRun(pool, runId, { status: 'failed', enqueued: null, detail: null, error }).catch((e: Error) =>
          context.logger.error({ err: e.message }, 'could not record the failed run'),
        );
      }
      context.logger.error({ err: error, ms: Math.round(performance.now() - started) }, 'job failed');
      return { status: 'failed', error };
    } finally {
      this.running.delete(job.name);
    }
  }

  private async prune(): Promise<void> {
    try {
      const removed = await pruneHistory(this.options.pool, this.options.historyDays);
      if (removed > 0) this.options.logger.info({ removed, olderThanDays: this.options.historyDays }, 'old run history removed');
    } catch (err) {
      this.options.logger.warn({ err: (err as Error).message }, 'could not prune run history');
    }
  }
}

function sameDay(a: Date, b: Date, timeZone: string): boolean {
  const x = zonedParts(a, timeZone);
  const y = zonedParts(b, timeZone);
  return x.year === y.year && x.month === y.month && x.day === y.day;
}
