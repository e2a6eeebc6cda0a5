import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { CRON_JOB_NAMES, CRON_SCHEDULE_VARIABLES, ConfigError, maskUrlPassword, parseConfig } from '../src/config/index.js';
import { REPO_ROOT, runCli, tempDir } from './helpers/cli.js';
import { defaultMaxSessions, memoryLimitBytes } from '../src/config/capacity.js';

function problemsOf(env: Record<string, string>): string[] {
  try {
    parseConfig(env, '/srv/cicero');
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.problems;
  }
  assert.fail('expected a ConfigError');
}

describe('configuration', () => {
  it('has a default for every variable, so an empty environment is valid', () => {
    const config = parseConfig({}, '/srv/cicero');
    assert.equal(config.database.url, null);
    assert.equal(config.database.poolMax, 10);
    assert.equal(config.logLevel, 'info');
    assert.equal(config.nodeEnv, 'production');
    assert.equal(config.dataDir, '/srv/cicero/data');
    assert.equal(config.cron.timezone, 'Asia/Jakarta');
    assert.equal(config.wa.transport, 'wwebjs');
    assert.equal(config.wa.authPath, '/srv/cicero/data/wa-auth');
    assert.equal(config.wa.authProfile, 'cicero-wa');
    assert.deepEqual(config.wa.puppeteerArgs, []);
    assert.deepEqual(config.cron.schedules, {
      'daily-report': '0 7 * * *',
      'weekly-report': '0 7 * * 1',
      'monthly-report': '0 7 1 * *',
      'task-delivery-recap': '*/30 * * * *',
      'task-broadcast': '0,30 6-17 * * *',
      'complaint-response': '*/5 * * * *',
      'outbox-retention': '30 3 * * *',
      'outbox-maintenance': '* * * * *',
      'reminder-release': '* * * * *',
      'wa-gateway-poll': '*/2 * * * *',
    });
    assert.equal(config.database.statementTimeoutMs, 30_000);
    assert.equal(config.outbox.retentionDays, 90);
  });

  it('takes each schedule from its variable; "off" disables a job; 6 fields (seconds) are allowed', () => {
    for (const job of CRON_JOB_NAMES) {
      const { variable } = CRON_SCHEDULE_VARIABLES[job];
      assert.equal(parseConfig({ [variable]: '*/7 * * * * *' }).cron.schedules[job], '*/7 * * * * *');
      assert.equal(parseConfig({ [variable]: 'off' }).cron.schedules[job], null);
    }
  });

  it('WA_MAX_SESSIONS: its default from the lowest cgroup memory limit on the way to the process (a systemd MemoryMax=, a container)', async () => {
    const dir = await tempDir();
    try {
      const root = path.join(dir, 'cgroup');
      await fs.mkdir(path.join(root, 'system.slice', 'cicero-wa-worker@8081.service'), { recursive: true });
      await fs.writeFile(path.join(root, 'system.slice', 'memory.max'), 'max\n');
      await fs.writeFile(path.join(root, 'system.slice', 'cicero-wa-worker@8081.service', 'memory.max'), `${3424 * 1024 * 1024}\n`);
      await fs.writeFile(path.join(dir, 'self'), '0::/system.slice/cicero-wa-worker@8081.service\n');
      const unit = memoryLimitBytes(path.join(dir, 'self'), root);
      assert.equal(unit, 3424 * 1024 * 1024, "the unit's MemoryMax=, not the machine's memory");
      assert.equal(defaultMaxSessions(unit), 4, '(3424 MiB − 1 GiB) ÷ 600 MiB');
      // A container: its own cgroup is "/", and the root's file is its limit.
      await fs.writeFile(path.join(root, 'memory.max'), `${2 * 1024 ** 3}\n`);
      await fs.writeFile(path.join(dir, 'self'), '0::/\n');
      assert.equal(memoryLimitBytes(path.join(dir, 'self'), root), 2 * 1024 ** 3);
      assert.equal(defaultMaxSessions(1024 ** 3), 1, 'at least one');
      assert.equal(defaultMaxSessions(512 * 1024 ** 3), 50, 'at most 50');
      assert.ok(parseConfig({}).cluster.maxSessions >= 1);
      assert.match(String(problemsOf({ WA_MAX_SESSIONS: '0', WA_HOST_LABEL: 'bad label', WA_SESSION_LEASE_SECONDS: '4' })), /WA_MAX_SESSIONS="0".*WA_HOST_LABEL="bad label".*WA_SESSION_LEASE_SECONDS="4"/s);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('reads the other variables', () => {
    const config = parseConfig(
      {
        DATABASE_URL: 'postgres://cicero:pw@db.internal:5433/cicero',
        DB_POOL_MAX: '25',
        LOG_LEVEL: 'DEBUG',
        NODE_ENV: 'development',
        DATA_DIR: '/var/lib/cicero-wa',
        CRON_TIMEZONE: 'Asia/Makassar',
        WA_TRANSPORT: 'log',
        WA_AUTH_PROFILE: 'polres_1',
        WA_PUPPETEER_ARGS: '["--disable-gpu", "--no-zygote"]',
        PUPPETEER_EXECUTABLE_PATH: '/opt/chrome/chrome',
      },
      '/srv/cicero',
    );
    assert.equal(config.database.url, 'postgres://cicero:pw@db.internal:5433/cicero');
    assert.equal(config.database.poolMax, 25);
    assert.equal(config.logLevel, 'debug');
    assert.equal(config.nodeEnv, 'development');
    assert.equal(config.dataDir, '/var/lib/cicero-wa');
    assert.equal(config.wa.authPath, '/var/lib/cicero-wa/wa-auth');
    assert.equal(config.cron.timezone, 'Asia/Makassar');
    assert.equal(config.wa.transport, 'log');
    assert.equal(config.wa.authProfile, 'polres_1');
    assert.deepEqual(config.wa.puppeteerArgs, ['--disable-gpu', '--no-zygote']);
    assert.equal(config.wa.chromiumPath, '/opt/chrome/chrome');
    assert.deepEqual(parseConfig({ WA_PUPPETEER_ARGS: '--disable-gpu, --no-zygote' }).wa.puppeteerArgs, ['--disable-gpu', '--no-zygote']);
    assert.equal(parseConfig({ WA_CHROMIUM_PATH: '/a', PUPPETEER_EXECUTABLE_PATH: '/b' }).wa.chromiumPath, '/a');
  });

  it('reports every bad value at once, one line each, naming the variable and masking the password', () => {
    const problems = problemsOf({
      DAILY_REPORT_CRON: '61 * * * *',
      DB_POOL_MAX: 'ten',
      LOG_LEVEL: 'loud',
      CRON_TIMEZONE: 'Mars/Olympus',
      DATABASE_URL: 'mysql://cicero:s3cret@db/cicero',
    });
    assert.equal(problems.length, 5, problems.join('\n'));
    for (const variable of ['DAILY_REPORT_CRON', 'DB_POOL_MAX', 'LOG_LEVEL', 'CRON_TIMEZONE', 'DATABASE_URL']) {
      assert.equal(problems.filter((p) => p.startsWith(`${variable}=`)).length, 1, `one line for ${variable}`);
    }
    assert.ok(!problems.join('\n').includes('s3cret'), 'password must be masked');
    assert.match(problems.find((p) => p.startsWith('DB_POOL_MAX'))!, /whole number from 1 to 1000/);
    assert.match(problems.find((p) => p.startsWith('LOG_LEVEL'))!, /fatal, error, warn, info, debug, trace, silent/);
    assert.match(problems.find((p) => p.startsWith('DATABASE_URL'))!, /postgres:\/\//);
  });

  it('explains what is wrong with a cron expression', () => {
    const cases: Array<[string, RegExp]> = [
      ['0 7 * * * * *', /expected 5 or 6 fields but got 7/],
      ['0 25 * * *', /25 is a invalid expression for hour/],
      ['every morning', /expected 5 or 6 fields/],
      ['', /empty/],
    ];
    for (const [value, reason] of cases) {
      const [problem] = problemsOf({ WA_GATEWAY_POLL_CRON: value });
      assert.ok(problem?.startsWith(`WA_GATEWAY_POLL_CRON=${JSON.stringify(value)}`), problem);
      assert.match(problem!, reason);
      assert.match(problem!, /"off"/);
    }
  });

  it('rejects other bad values with what is allowed', () => {
    const problems = problemsOf({
      WA_PUPPETEER_ARGS: 'disable-gpu',
      WA_AUTH_PROFILE: 'my session!',
      WA_TRANSPORT: 'sms',
      NODE_ENV: 'staging',
      EMBEDDED_PG_PORT: '70000',
      DATA_DIR: ' ',
    });
    assert.equal(problems.length, 6, problems.join('\n'));
    assert.match(problems.join('\n'), /WA_PUPPETEER_ARGS=.*starting with "--"/);
    assert.match(problems.join('\n'), /WA_AUTH_PROFILE=.*letters, digits/);
    assert.match(problems.join('\n'), /WA_TRANSPORT=.*wwebjs, log, fake/);
    assert.match(problems.join('\n'), /NODE_ENV=.*production, development, test/);
    assert.match(problems.join('\n'), /EMBEDDED_PG_PORT=.*1 to 65535/);
    assert.match(problems.join("\n"), /DATA_DIR=" " is invalid: it is empty; unset it for the default \(\.\/data\)/);
    assert.match(problemsOf({ WA_PUPPETEER_ARGS: '["--ok", 3]' })[0]!, /JSON array of strings/);
    assert.match(problemsOf({ WA_LEASE_MS: '60000', WA_SEND_TIMEOUT_MS: '45000' })[0]!, /WA_LEASE_MS="60000" is invalid: must be at least twice WA_SEND_TIMEOUT_MS \(45000\)/);
    assert.match(problemsOf({ WA_RETRY_BASE_MS: '9000', WA_RETRY_MAX_MS: '1000' })[0]!, /WA_RETRY_MAX_MS="1000" is invalid: must not be below WA_RETRY_BASE_MS/);
    assert.match(problemsOf({ WA_PUPPETEER_ARGS: '[--broken' })[0]!, /does not parse/);
  });

  it('reads the auth profile from WA_AUTH_PROFILE, or from its old name WA_SESSION_NAME; the two set to different values are refused, naming both', async () => {
    assert.equal(parseConfig({ WA_AUTH_PROFILE: 'polres_2' }).wa.authProfile, 'polres_2', 'the new name alone');
    assert.equal(parseConfig({ WA_SESSION_NAME: 'polres_1' }).wa.authProfile, 'polres_1', 'the old name alone: an existing .env keeps working');
    assert.equal(parseConfig({ WA_AUTH_PROFILE: 'polres_1', WA_SESSION_NAME: 'polres_1' }).wa.authProfile, 'polres_1', 'both, the same value');
    assert.deepEqual(problemsOf({ WA_AUTH_PROFILE: 'polres_2', WA_SESSION_NAME: 'polres_1' }), [
      'WA_AUTH_PROFILE="polres_2" and WA_SESSION_NAME="polres_1" are both set, to different values: WA_SESSION_NAME is the old name of WA_AUTH_PROFILE; keep WA_AUTH_PROFILE only',
    ]);
    assert.equal(problemsOf({ WA_AUTH_PROFILE: 'polres_1', WA_SESSION_NAME: 'polres_1 ' }).length, 1, 'a value that differs by a space differs');
    // A bad value is named under the variable it was given in.
    assert.match(problemsOf({ WA_SESSION_NAME: 'my session!' }).join('\n'), /^WA_SESSION_NAME="my session!" is invalid: .*letters, digits/);
    const both = await runCli(['start'], { WA_AUTH_PROFILE: 'polres_2', WA_SESSION_NAME: 'polres_1' });
    assert.equal(both.code, 2, both.stderr);
    assert.match(both.stderr, /^cicero-wa: config: WA_AUTH_PROFILE="polres_2" and WA_SESSION_NAME="polres_1" are both set, to different values/m);
    assert.equal(both.stdout, '', 'nothing is started');
  });

  it('bounds the statement timeout and the outbox retention, naming the variable', () => {
    const config = parseConfig({ DATABASE_STATEMENT_TIMEOUT_MS: '5000', OUTBOX_RETENTION_DAYS: '30' });
    assert.equal(config.database.statementTimeoutMs, 5000);
    assert.equal(config.outbox.retentionDays, 30);
    for (const value of ['999', '3600001', '30s', '0']) {
      const [problem] = problemsOf({ DATABASE_STATEMENT_TIMEOUT_MS: value });
      assert.equal(problem, `DATABASE_STATEMENT_TIMEOUT_MS=${JSON.stringify(value)} is invalid: expected a whole number from 1000 to 3600000`);
    }
    for (const value of ['0', '3651', 'off', '-1']) {
      const [problem] = problemsOf({ OUTBOX_RETENTION_DAYS: value });
      assert.equal(problem, `OUTBOX_RETENTION_DAYS=${JSON.stringify(value)} is invalid: expected a whole number from 1 to 3650`);
    }
    assert.equal(parseConfig({ OUTBOX_RETENTION_CRON: 'off' }).cron.schedules['outbox-retention'], null, 'retention is switched off by its schedule');
  });

  it('validates the WhatsApp Web pin: a build number, and a URL template that needs it', () => {
    const ok = parseConfig({ WA_WEB_VERSION: '2.3000.1017054665', WA_WEB_VERSION_URL: 'https://example.org/wa/{version}.html' }, '/srv');
    assert.equal(ok.wa.webVersion, '2.3000.1017054665');
    assert.equal(ok.wa.webVersionUrl, 'https://example.org/wa/{version}.html');
    assert.equal(parseConfig({}, '/srv').wa.webVersion, null);
    assert.equal(parseConfig({}, '/srv').dispatch.confirmTimeoutMs, 600_000);
    assert.match(problemsOf({ WA_WEB_VERSION: 'latest' })[0]!, /^WA_WEB_VERSION="latest" is invalid: expected a WhatsApp Web build such as 2\.3000\.1017054665/);
    assert.match(problemsOf({ WA_WEB_VERSION: '2.3000.1', WA_WEB_VERSION_URL: 'https://example.org/wa/latest.html' })[0]!, /^WA_WEB_VERSION_URL=.*\{version\}/);
    assert.match(problemsOf({ WA_WEB_VERSION: '2.3000.1', WA_WEB_VERSION_URL: 'ftp://example.org/{version}.html' })[0]!, /^WA_WEB_VERSION_URL=.*http\(s\) URL/);
    assert.match(problemsOf({ WA_WEB_VERSION_URL: 'https://example.org/wa/{version}.html' })[0]!, /^WA_WEB_VERSION_URL=.*without WA_WEB_VERSION/);
    assert.match(problemsOf({ WA_CONFIRM_TIMEOUT_MS: '10' })[0]!, /^WA_CONFIRM_TIMEOUT_MS="10" is invalid: expected a whole number from 1000/);
  });

  it('masks passwords in URLs', () => {
    assert.equal(maskUrlPassword('postgres://u:p%40ss@h:5432/d'), 'postgres://u:***@h:5432/d');
    assert.equal(maskUrlPassword('postgres://u@h/d'), 'postgres://u@h/d');
    assert.equal(maskUrlPassword('not a url //u:secret@h'), 'not a url //u:***@h');
  });

  it('documents every variable it reads in .env.example', async () => {
    const dir = path.join(REPO_ROOT, 'src', 'config');
    const files = (await fs.readdir(dir)).filter((f) => f.endsWith('.ts'));
    const source = (await Promise.all(files.map((f) => fs.readFile(path.join(dir, f), 'utf8')))).join('\n');
    const read = new Set([...source.matchAll(/read\.\w+\('([A-Z_]+)'/g)].map((m) => m[1]!));
    for (const { variable } of Object.values(CRON_SCHEDULE_VARIABLES)) read.add(variable);
    const example = await fs.readFile(path.join(REPO_ROOT, '.env.example'), 'utf8');
    const documented = new Set([...example.matchAll(/^#?\s*([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]!));
    assert.ok(read.size >= 15);
    assert.deepEqual([...read].filter((v) => !documented.has(v)), [], 'variables missing from .env.example');
    assert.deepEqual([...documented].filter((v) => !read.has(v)), [], 'variables in .env.example that the service does not read');
  });
});

describe('configuration errors at start-up (cicero-wa start)', () => {
  it('exits with code 2 and one line per bad variable, all at once', async () => {
    const result = await runCli(['start'], {
      WEEKLY_REPORT_CRON: '0 7 * * 8',
      DB_POOL_MAX: '0',
      LOG_LEVEL: 'verbose',
      CRON_TIMEZONE: 'Jakarta',
      DATABASE_URL: 'postgres://cicero:hunter2@',
    });
    assert.equal(result.code, 2, result.stderr);
    const lines = result.stderr.trim().split('\n');
    assert.equal(lines.length, 5, result.stderr);
    for (const variable of ['WEEKLY_REPORT_CRON', 'DB_POOL_MAX', 'LOG_LEVEL', 'CRON_TIMEZONE', 'DATABASE_URL']) {
      assert.equal(lines.filter((l) => l.includes(`${variable}=`)).length, 1, variable);
    }
    assert.ok(!result.stderr.includes('hunter2'));
    assert.equal(result.stdout, '', 'nothing is started');
  });

  it('refuses a bad WhatsApp Web pin at start with exit code 2, naming the variable', async () => {
    const bad = await runCli(['start'], { WA_WEB_VERSION: 'newest' });
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /^cicero-wa: config: WA_WEB_VERSION="newest" is invalid/m);
    const badUrl = await runCli(['start'], { WA_WEB_VERSION: '2.3000.1017054665', WA_WEB_VERSION_URL: 'not a url' });
    assert.equal(badUrl.code, 2, badUrl.stderr);
    assert.match(badUrl.stderr, /^cicero-wa: config: WA_WEB_VERSION_URL="not a url" is invalid/m);
    assert.equal(bad.stdout + badUrl.stdout, '', 'nothing is started');
  });

  it('reads .env from the working directory; the real environment wins over it', async () => {
    const cwd = await tempDir();
    await fs.writeFile(path.join(cwd, '.env'), 'LOG_LEVEL=chatty\nDB_POOL_MAX=-1\n');
    const result = await runCli(['start'], { DB_POOL_MAX: '5' }, cwd);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /LOG_LEVEL="chatty"/);
    assert.doesNotMatch(result.stderr, /DB_POOL_MAX/);
  });

  it('exits with code 2 on an unknown command', async () => {
    const result = await runCli(['launch']);
    assert.equal(result.code, 2);
    assert.deepEqual(result.stderr.trim().split('\n'), ['cicero-wa: unknown command "launch"', 'Run "cicero-wa --help" for the commands and their options.']);
    const help = await runCli(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^Usage: cicero-wa <command>/);
  });
});
