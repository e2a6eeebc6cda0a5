/**
 * Jobs (as `cicero-wa jobs`, `cicero-wa jobs times` and `cicero-wa run`) and complaints (as
 * `cicero-wa complaints`).
 */
import type { FastifyInstance } from 'fastify';
import { COMPLAINT_STATUS_FILTERS, listComplaints, type ComplaintStatusFilter } from '../../features/complaints/complaint-queue.js';
import { retryComplaints } from '../../features/complaints/retry.js';
import { JOB_NAMES, REPORT_JOBS, TIMES_JOB_NAMES, timesJob, type JobName } from '../../jobs.js';
import { isoZoned, zoneName } from '../../lib/zoned-time.js';
import { changeJobTimes, MAX_TIMES, readJobTimes, TimesChangeError, timesProblems, type JobTimes } from '../../scheduler/job-times.js';
import { scheduleOf } from '../../scheduler/schedule-math.js';
import { jobListingJson, jobListings, reportDateProblem } from '../../scheduler/overview.js';
import { badRequest, HttpError, type HttpDeps } from '../deps.js';

export function jobRoutes(app: FastifyInstance, deps: HttpDeps): void {
  const { pool, config, scheduler, clock, logger } = deps;
  const timeZone = config.cron.timezone;
  const nameParam = { type: 'object', required: ['name'], properties: { name: { type: 'string', enum: [...JOB_NAMES] } } };

  app.get('/api/jobs', { config: { access: 'read' }, schema: { summary: 'The jobs: schedule, next fire, pause, last run', tags: ['jobs'] } }, async () => {
    const listings = await jobListings(pool, scheduler.jobs, timeZone, clock, logger);
    return { jobs: listings.map((j) => jobListingJson(j, timeZone)) };
  });

  app.post<{ Params: { name: string }; Body: { date?: string } | undefined }>(
    '/api/jobs/:name/run',
    {
      config: { access: 'write' },
      schema: {
        summary: 'Run a job once, now (a report for a date: { "date": "YYYY-MM-DD" })',
        tags: ['jobs'],
        params: nameParam,
        body: { type: 'object', nullable: true, additionalProperties: false, properties: { date: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$' } } },
      },
    },
    async (request, reply) => {
      const name = request.params.name as JobName;
      const date = request.body?.date ?? null;
      if (date !== null) {
        if (!(REPORT_JOBS as readonly string[]).includes(name)) throw badRequest([{ field: 'body.date', message: `applies to ${REPORT_JOBS.join(', ')}, not ${name}` }]);
        const problem = reportDateProblem(date);
        if (problem) throw badRequest([{ field: 'body.date', message: problem }]);
      }
      if (!scheduler.job(name)) throw new HttpError(409, 'not_here', `${name} does not run in this process (SERVICE_ROLE=${config.role})`);
      const outcome = await scheduler.runNow(name, date);
      const status = outcome.status === 'succeeded' || outcome.status === 'skipped' ? 200 : outcome.status === 'taken' ? 409 : 500;
      return reply.code(status).send({ job: name, ...outcome });
    },
  );

  /** A job's times as the API gives them, with the next fire and the zone they are in. */
  const timesJson = (times: JobTimes, job: NonNullable<ReturnType<typeof timesJob>>) => ({
    job: times.job,
    times: times.times,
    defaults: [...job.defaultTimes],
    source: times.source,
    off: times.times.length === 0,
    timeZone,
    zone: zoneName(timeZone),
    updatedAt: isoZoned(times.updatedAt, timeZone),
    updatedBy: times.updatedBy,
    next: isoZoned(scheduleOf(job, times.times, timeZone)?.next(clock.now()), timeZone),
  });
  const timesJobOf = (name: string) => {
    const job = timesJob(name);
    if (!job) throw badRequest([{ field: 'params.name', message: `${name} has a node-cron schedule set by its variable; jobs with times: ${TIMES_JOB_NAMES.join(', ')}` }]);
    return job;
  };

  app.get<{ Params: { name: string } }>(
    '/api/jobs/:name/times',
    { config: { access: 'read' }, schema: { summary: "The times of day of a job whose schedule is data (in CRON_TIMEZONE; empty: off)", tags: ['jobs'], params: nameParam } },
    async (request) => {
      const job = timesJobOf(request.params.name);
      const times = (await readJobTimes(pool, [job], logger)).get(job.name)!;
      return timesJson(times, job);
    },
  );

  app.put<{ Params: { name: string }; Body: { times?: unknown } }>(
    '/api/jobs/:name/times',
    {
      config: { access: 'write' },
      schema: {
        summary: `Set the times of day of a job whose schedule is data: { "times": ["17:05", "17:35"] } (HH:MM in CRON_TIMEZONE, each once, at most ${MAX_TIMES}; [] switches the job off). Running schedulers apply it at once.`,
        tags: ['jobs'],
        params: nameParam,
        body: { type: 'object', required: ['times'], additionalProperties: false, properties: { times: {} } },
      },
    },
    async (request) => {
      const job = timesJobOf(request.params.name);
      const problems = timesProblems(request.body.times, 'body.times');
      if (problems.length > 0) throw badRequest(problems);
      try {
        const times = await changeJobTimes(pool, job, { set: request.body.times as string[] }, request.headers.origin ? 'dashboard' : 'api');
        logger.info({ job: job.name, times: times.times }, 'job times changed');
        return timesJson(times, job);
      } catch (err) {
        if (err instanceof TimesChangeError) throw badRequest(err.problems.map((p) => ({ ...p, field: `body.${p.field}` })));
        throw err;
      }
    },
  );

  app.get<{ Querystring: { status?: ComplaintStatusFilter; limit?: number } }>(
    '/api/complaints',
    {
      config: { access: 'read' },
      schema: {
        summary: 'Complaints, newest first',
        tags: ['complaints'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { status: { type: 'string', enum: [...COMPLAINT_STATUS_FILTERS] }, limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 } },
        },
      },
    },
    async (request) => {
      const rows = await listComplaints(pool, { ...(request.query.status ? { status: request.query.status } : {}), limit: request.query.limit ?? 50 });
      return { complaints: rows.map((r) => ({ ...r, createdAt: isoZoned(r.createdAt, timeZone), respondedAt: isoZoned(r.respondedAt, timeZone) })) };
    },
  );

  app.post<{ Params: { id: number } }>(
    '/api/complaints/:id/retry',
    {
      config: { access: 'write' },
      schema: { summary: 'Answer a failed complaint again', tags: ['complaints'], params: { type: 'object', required: ['id'], properties: { id: { type: 'integer', minimum: 1, maximum: 2147483647 } } } },
    },
    async (request, reply) => {
      const [result] = await retryComplaints(pool, [request.params.id]);
      if (!result || result.detail === 'no such complaint') throw new HttpError(404, 'not_found', `no complaint ${request.params.id}`);
      if (!result.done) throw new HttpError(409, 'not_allowed', result.detail);
      return reply.send(result);
    },
  );
}
