/**
 * The `cicero-wa` command line: its options, the help, and which command runs. Each command's body is
 * in its own file here; every option belongs to the commands named below, and is refused elsewhere
 * before anything is read or started. Results go to stdout; logs to stderr (the service's to stdout).
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/index.js';
import { createLogger } from '../lib/logger.js';
import { commandBackup, commandRestore } from './backup.js';
import { commandComplaints } from './complaints.js';
import type { CommandContext } from './context.js';
import { commandDemo } from './demo.js';
import { commandDoctor } from './doctor.js';
import { commandExport } from './export.js';
import { commandInbox, commandWebhooks } from './inbox.js';
import { commandJobs, commandRun } from './jobs.js';
import { commandMigrate } from './migrate.js';
import { commandOutbox } from './outbox.js';
import { commandSessions } from './sessions.js';
import { commandStart } from './start.js';
import { UsageError } from './usage.js';

export const USAGE = `Usage: cicero-wa <command>

Commands:
  start      run the service until SIGTERM or SIGINT
  migrate    apply pending database migrations and exit
  doctor [--json]
             check the database, the recaps' source, the WhatsApp session and its directory,
             Chromium, WhatsApp Web from this machine, and the WhatsApp Web build
  run <job> [--date YYYY-MM-DD]
             run one job once (jobs: daily-report, weekly-report, monthly-report,
             task-delivery-recap, task-broadcast, complaint-response, outbox-retention,
             engagement-reminder, reminder-release,
             wa-gateway-poll); --date picks
             the report period (the day, or a day in the week or month to report)
  jobs [--json]
             each job's schedule, next fire, pause state and last run (enqueued, held back)
  jobs times <job> [add HH:MM | remove HH:MM | set HH:MM,HH:MM | reset] [--json]
             the times of day (CRON_TIMEZONE) of a job whose schedule is data (engagement-reminder);
             at most 48, each once; "set off" switches it off; reset: its default times; running
             schedulers apply a change at once
  export weekly|monthly|ranking [--date YYYY-MM-DD] [--unit ID] [--platform P] [-o FILE]
             a recap workbook (.xlsx) for the period holding the date (default: the last
             complete one; ranking: the month); ID: clients.client_id (default: every active
             unit); P: instagram or tiktok (default: both); FILE default: its own name here
  demo seed  create a small Cicero_V2-shaped dataset (3 units, 60 personnel, 40 days) in an
             empty database
  demo [--keep-running]
             run the service on an embedded database (DATA_DIR/demo) with the demo data and
             WA_TRANSPORT=log, send every recap once (see them in the terminal) and stop
  complaints list [--status S] [--limit N] [--json]
             the newest complaints (S: pending, queued, responded, failed, other)
  complaints retry <id...>
             failed complaints answered again
  outbox list [--status S] [--unconfirmed] [--since T] [--until T] [--type X]
              [--recipient R] [--limit N] [--json]
             the newest outbox rows (S: pending, sending, sent, failed, cancelled, other;
             N default 50); --unconfirmed: sent rows WhatsApp has not confirmed; T: YYYY-MM-DD
             or "YYYY-MM-DD HH:MM" in CRON_TIMEZONE; R: part of the recipient
  outbox show <id> [--json]
             one row whole: its text, receipts and every hand-over to WhatsApp
  outbox retry <id...> | outbox retry --dry-run
             failed or cancelled rows back to pending, attempts reset; --dry-run: every row a
             dry run (WA_TRANSPORT=log) only logged
  outbox cancel <id...>
             pending or failed rows cancelled: never sent
  outbox resend <id...>
             unconfirmed rows sent again (their delivery was never confirmed)
  inbox list [--limit N] [--json]
             the newest incoming messages and what was done with them
  sessions [--json]
             each WhatsApp session: sending or paused (and why), risk score, warm-up day,
             messages in the last hour and 24 hours, today's budget; label, enabled, its
             client's state and the number it paired (registered sessions)
  sessions pause <name> | sessions resume <name>
             stop a number sending until resumed (messages wait), or send again after a
             pause (an operator's, or one at a critical risk score)
  sessions add <name> [--label L] [--auth-profile P] [--pair-phone N] [--home T,T] [--disabled]
             a new WhatsApp number (name: 1 to 32 of a-z, 0-9, _ and -; P default the name;
             N: pair with a code sent to this number, 8 to 15 digits, instead of a QR code;
             T: the message types it is the home number of); a running service starts it
  sessions remove <name> | sessions enable <name> | sessions disable <name>
             remove a number (not while it sends, not the last one), or start or stop it
  sessions home <name> <T,T|->
             the message types a number is the home number of (- for none)
  sessions pin <name> <host-label|->
             run a number only on workers with this WA_HOST_LABEL (- for any worker)
  webhooks list [--status S] [--limit N] [--json]
             webhook deliveries (S: pending, delivered, failed)
  webhooks retry <id...>
             failed (dead-lettered) deliveries sent again
  backup <file>
             the embedded database (no DATABASE_URL) to a file (tar.gz), while the service runs or not
  restore <file>
             the embedded database replaced by a backup's (the service stopped first; the one
             replaced is kept aside)
  help       show this help (also --help)

Configuration comes from the environment and from .env in the working directory;
see .env.example for every variable.`;

const COMMANDS: Record<string, (context: CommandContext) => Promise<number>> = {
  start: commandStart,
  migrate: commandMigrate,
  doctor: commandDoctor,
  run: commandRun,
  jobs: commandJobs,
  outbox: commandOutbox,
  complaints: commandComplaints,
  demo: commandDemo,
  inbox: commandInbox,
  webhooks: commandWebhooks,
  export: commandExport,
  sessions: commandSessions,
  backup: commandBackup,
  restore: commandRestore,
};

const OPTIONS = {
  status: { type: 'string' },
  limit: { type: 'string' },
  unconfirmed: { type: 'boolean' },
  since: { type: 'string' },
  until: { type: 'string' },
  type: { type: 'string' },
  recipient: { type: 'string' },
  json: { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  'keep-running': { type: 'boolean' },
  date: { type: 'string' },
  unit: { type: 'string' },
  platform: { type: 'string' },
  output: { type: 'string', short: 'o' },
  label: { type: 'string' },
  'auth-profile': { type: 'string' },
  'pair-phone': { type: 'string' },
  home: { type: 'string' },
  disabled: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Which commands each option belongs to. */
const OWNERS: Record<string, string[]> = {
  unconfirmed: ['outbox'],
  since: ['outbox'],
  until: ['outbox'],
  type: ['outbox'],
  recipient: ['outbox'],
  'dry-run': ['outbox'],
  status: ['outbox', 'complaints', 'webhooks'],
  limit: ['outbox', 'complaints', 'inbox', 'webhooks'],
  json: ['outbox', 'complaints', 'jobs', 'doctor', 'inbox', 'webhooks', 'sessions'],
  date: ['run', 'export'],
  unit: ['export'],
  platform: ['export'],
  output: ['export'],
  'keep-running': ['demo'],
  label: ['sessions'],
  'auth-profile': ['sessions'],
  'pair-phone': ['sessions'],
  home: ['sessions'],
  disabled: ['sessions'],
};

/** Parses the command line and runs the command; resolves with the exit code. */
export async function runCli(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({ args: argv, allowPositionals: true, strict: true, options: OPTIONS });
  const name = positionals[0] ?? 'help';
  if (name === 'help' || values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) throw new UsageError(`unknown command "${name}"`);
  for (const [option, owners] of Object.entries(OWNERS)) {
    if ((values as Record<string, unknown>)[option] !== undefined && !owners.includes(name)) {
      throw new UsageError(`--${option} belongs to ${owners.map((c) => `"${c}"`).join(' and ')}`);
    }
  }
  const config = loadConfig();
  // The service logs to stdout; a command keeps stdout for its result (and is quiet below warn).
  const service = name === 'start' || (name === 'demo' && positionals[1] !== 'seed');
  const logger = createLogger({
    level: !service && !config.logLevelSet ? 'warn' : config.logLevel,
    format: config.logFormat,
    destination: service ? 'stdout' : 'stderr',
    timeZone: config.cron.timezone,
  });
  return command({ config, logger, args: positionals.slice(1), options: values });
}
