/**
 * `cicero-wa sessions` (each session's pause, risk score and budgets), `cicero-wa sessions pause <name>`
 * and `cicero-wa sessions resume <name>`: an operator stops a number from sending, or lets it send again
 * after a pause (their own, or one at a critical risk score). A running service hears a resume at once.
 */
import { Governor, type SessionStatus } from '../governor/governor.js';
import { knownSessions } from '../governor/session-state.js';
import { systemClock } from '../lib/clock.js';
import { formatZoned } from '../lib/zoned-time.js';
import { DEFAULT_SESSION } from '../outbox/enqueue.js';
import { print, withDatabase, type CommandContext } from './context.js';
import { json, renderTable } from './table.js';
import { UsageError } from './usage.js';

const ACTIONS = ['list', 'pause', 'resume'] as const;

export async function commandSessions(context: CommandContext): Promise<number> {
  const [action = 'list', name, ...rest] = context.args;
  if (!(ACTIONS as readonly string[]).includes(action)) throw new UsageError(`unknown sessions action "${action}": expected ${ACTIONS.join(', ')}`);
  if (action !== 'list' && !name) throw new UsageError(`sessions ${action} needs a session name (the service's own is "${DEFAULT_SESSION}")`);
  if (rest.length > 0 || (action === 'list' && name)) throw new UsageError(`sessions ${action} takes ${action === 'list' ? 'no name' : 'one name'} (got also ${[...(action === 'list' ? [name] : []), ...rest].join(' ')})`);
  const { config, logger } = context;
  if (!config.governor.enabled && action !== 'list') throw new UsageError('the governor is off (WA_GOVERNOR=off): there is nothing to pause or resume');
  return withDatabase(context, async (pool) => {
    const governor = new Governor({ pool, config: config.governor, timeZone: config.cron.timezone, clock: systemClock, logger });
    const sessions = [...new Set([DEFAULT_SESSION, ...(await knownSessions(pool))])];
    if (action === 'list') {
      const statuses = await Promise.all(sessions.map((s) => governor.status(s)));
      print(context.options.json ? json(statuses.map((s) => statusJson(s, config.cron.timezone))) : table(statuses, config.cron.timezone));
      return 0;
    }
    if (!sessions.includes(name!)) throw new UsageError(`no session "${name}" (known: ${sessions.join(', ')})`);
    if (action === 'pause') {
      await governor.pause(name!, 'paused by an operator (cicero-wa sessions pause)');
      print([`${name}: paused; its messages wait until "cicero-wa sessions resume ${name}"`]);
      return 0;
    }
    const resumed = await governor.resume(name!);
    print([resumed ? `${name}: resumed; sending again (the risk score starts afresh)` : `${name}: was not paused`]);
    return resumed ? 0 : 1;
  });
}

function statusJson(s: SessionStatus, timeZone: string) {
  return { ...s, pausedUntil: s.pausedUntil ? formatZoned(s.pausedUntil, timeZone) : null, warmupDay: s.warmupDay === null ? null : s.warmupDay + 1 };
}

function table(statuses: SessionStatus[], timeZone: string): string[] {
  return renderTable<SessionStatus>(statuses, [
    { header: 'SESSION', cell: (s) => s.session },
    { header: 'STATE', cell: (s) => (s.paused ? `paused (${s.pauseKind})${s.pausedUntil ? ` until ${formatZoned(s.pausedUntil, timeZone)}` : ''}` : 'sending') },
    { header: 'RISK', cell: (s) => `${s.riskScore} ${s.riskLevel}`, right: true },
    { header: 'WARM-UP', cell: (s) => (s.warmupDay === null ? 'done' : `day ${s.warmupDay + 1}`) },
    { header: 'SENT 1H', cell: (s) => String(s.sentLastHour), right: true },
    { header: 'SENT 24H', cell: (s) => String(s.sentLastDay), right: true },
    { header: 'DAILY BUDGET', cell: (s) => String(s.dailyBudget), right: true },
    { header: 'WHY', cell: (s) => s.pauseReason ?? '' },
  ]);
}
