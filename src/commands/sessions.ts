/**
 * `cicero-wa sessions`: each WhatsApp number, its registry row (label, enabled, its client's state, the
 * number it paired) beside the governor's view (pause, risk score, budgets), for every session in
 * wa_sessions and those only the outbox or the governor knows. `sessions pause <name>` and `sessions
 * resume <name>`: an operator stops a number from sending, or lets it send again after a pause (their own,
 * or one at a critical risk score); a running service hears a resume at once. `sessions add|remove|enable|
 * disable|home` change the registry (session-admin.ts).
 */
import { Governor, type SessionStatus } from '../governor/governor.js';
import { knownSessions } from '../governor/session-state.js';
import { systemClock } from '../lib/clock.js';
import { formatZoned } from '../lib/zoned-time.js';
import { DEFAULT_SESSION } from '../outbox/enqueue.js';
import { listSessions, validateName, SessionError, type SessionRecord } from '../sessions/registry.js';
import { sessionHolders, type SessionHolder } from '../sessions/leases.js';
import { print, withDatabase, type CommandContext } from './context.js';
import { ADMIN_ACTIONS, refuseAddOptions, runAdminAction, type AdminAction } from './session-admin.js';
import { json, renderTable } from './table.js';
import { UsageError } from './usage.js';

const ACTIONS = ['list', 'pause', 'resume', ...ADMIN_ACTIONS] as const;

/** A session as `sessions list` shows it: the governor's status and, when registered, its registry row. */
type Listed = SessionStatus & { registry: SessionRecord | null; holder: SessionHolder | null };

export async function commandSessions(context: CommandContext): Promise<number> {
  const [action = 'list', name, ...rest] = context.args;
  if (!(ACTIONS as readonly string[]).includes(action)) throw new UsageError(`unknown sessions action "${action}": expected ${ACTIONS.join(', ')}`);
  if (action !== 'list' && !name) throw new UsageError(`sessions ${action} needs a session name (the service's own is "${DEFAULT_SESSION}")`);
  refuseAddOptions(action, context.options);
  const admin = (ADMIN_ACTIONS as readonly string[]).includes(action);
  if (admin) {
    try {
      validateName(name, '<name>');
    } catch (err) {
      throw err instanceof SessionError ? new UsageError(err.message) : err;
    }
    return withDatabase(context, (pool) => runAdminAction(context, pool, action as AdminAction, name!, rest));
  }
  if (rest.length > 0 || (action === 'list' && name)) throw new UsageError(`sessions ${action} takes ${action === 'list' ? 'no name' : 'one name'} (got also ${[...(action === 'list' ? [name] : []), ...rest].join(' ')})`);
  const { config, logger } = context;
  if (!config.governor.enabled && action !== 'list') throw new UsageError('the governor is off (WA_GOVERNOR=off): there is nothing to pause or resume');
  return withDatabase(context, async (pool) => {
    const governor = new Governor({ pool, config: config.governor, timeZone: config.cron.timezone, clock: systemClock, logger });
    const registered = await listSessions(pool);
    const sessions = [...new Set([...registered.map((s) => s.name), DEFAULT_SESSION, ...(await knownSessions(pool))])];
    if (action === 'list') {
      const statuses = await Promise.all(sessions.map((s) => governor.status(s)));
      const holders = await sessionHolders(pool);
      const listed = statuses.map((s) => ({ ...s, registry: registered.find((r) => r.name === s.session) ?? null, holder: holders.find((h) => h.session === s.session) ?? null }));
      print(context.options.json ? json(listed.map((s) => statusJson(s, config.cron.timezone))) : table(listed, config.cron.timezone));
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

function statusJson({ registry: r, holder: h, ...s }: Listed, timeZone: string) {
  return {
    ...s,
    pausedUntil: s.pausedUntil ? formatZoned(s.pausedUntil, timeZone) : null,
    warmupDay: s.warmupDay === null ? null : s.warmupDay + 1,
    registered: r !== null,
    label: r?.label ?? null,
    enabled: r?.enabled ?? null,
    clientState: r?.state ?? null,
    clientStateReason: r?.stateReason ?? null,
    clientStateSince: r ? formatZoned(r.stateSince, timeZone) : null,
    pairedNumber: r?.pairedNumber ?? null,
    authProfile: r?.authProfile ?? null,
    pairing: r?.pairing ?? null,
    homeTypes: r?.homeTypes ?? null,
    pinnedHost: r?.pinnedHost ?? null,
    // The process that holds the session's lease (runs it), while the lease is in force.
    runBy: h?.live ? h.owner : null,
    runByHost: h?.live ? h.ownerHost : null,
    leaseUntil: h?.live && h.leaseUntil ? formatZoned(h.leaseUntil, timeZone) : null,
    fence: h ? h.fence : null,
  };
}

function table(statuses: Listed[], timeZone: string): string[] {
  return renderTable<Listed>(statuses, [
    { header: 'SESSION', cell: (s) => s.session },
    { header: 'STATE', cell: (s) => (s.paused ? `paused (${s.pauseKind})${s.pausedUntil ? ` until ${formatZoned(s.pausedUntil, timeZone)}` : ''}` : 'sending') },
    { header: 'RISK', cell: (s) => `${s.riskScore} ${s.riskLevel}`, right: true },
    { header: 'WARM-UP', cell: (s) => (s.warmupDay === null ? 'done' : `day ${s.warmupDay + 1}`) },
    { header: 'SENT 1H', cell: (s) => String(s.sentLastHour), right: true },
    { header: 'SENT 24H', cell: (s) => String(s.sentLastDay), right: true },
    { header: 'DAILY BUDGET', cell: (s) => String(s.dailyBudget), right: true },
    { header: 'LABEL', cell: (s) => s.registry?.label ?? '' },
    { header: 'ENABLED', cell: (s) => (s.registry ? (s.registry.enabled ? 'yes' : 'no') : 'not registered') },
    { header: 'WHATSAPP', cell: (s) => s.registry?.state ?? '' },
    { header: 'NUMBER', cell: (s) => s.registry?.pairedNumber ?? '' },
    { header: 'RUN BY', cell: (s) => (s.holder?.live ? `${s.holder.owner}${s.registry?.pinnedHost ? ` (pinned to ${s.registry.pinnedHost})` : ''}` : s.registry?.pinnedHost ? `nobody (pinned to ${s.registry.pinnedHost})` : s.registry ? 'nobody' : '') },
    { header: 'WHY', cell: (s) => s.pauseReason ?? '' },
  ]);
}
