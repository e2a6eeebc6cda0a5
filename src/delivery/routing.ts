/**
 * Routing: which number (session) sends a message whose producer named none, and failover, which moves
 * a routed message off a number that cannot send. The rules (`decide`) are pure; `Router` reads what
 * they need (wa_sessions, the governor's pauses, chat affinity, group membership), locks the rows
 * (outbox/routing.ts) and writes the decisions.
 *
 * A session can carry when it is enabled, not paused by the governor, and ready or authenticated, or not
 * ready for less than WA_FAILOVER_AFTER_SECONDS (logged out, `failed` or waiting for a QR scan: at once).
 * No registered session at all (tests, a setup that never registered one): everything goes to 'default'.
 *
 * - Personal chat: the number the person last wrote to that can carry; then the one that last delivered
 *   to them; then the type's home number (home_types has the type, then '*', then the oldest session),
 *   else any that can carry. A number the person has not talked to is never chosen while one they have
 *   can carry; if they talked only to numbers that cannot carry now, the row waits at the best of them.
 * - Group: a member (an admin where only admins write), the type's home number first, then the one with
 *   fewer waiting rows. Known, and no number in it (or no admin): fails at once (not_in_group,
 *   not_group_admin). No listing from any number: the home number, sent as before.
 * - Failover: the same rules without the number that cannot carry; a personal chat moves only to a number
 *   the person talked to, a group only to another member. What cannot move waits, saying why.
 */
import type pg from 'pg';
import { withTransaction, type Queryable } from '../db/pool.js';
import type { Logger } from '../lib/logger.js';
import { knownGroups, type KnownGroup } from '../groups/membership.js';
import { wakeDispatchers } from '../outbox/channel.js';
import { DEFAULT_SESSION } from '../outbox/enqueue.js';
import type { OutcomeHooks } from '../outbox/outcomes.js';
import { failUnroutable } from '../outbox/row-status.js';
import {
  assignRoutes, hasUnroutedRows, inheritFollowedSessions, lockMovableRows, lockUnroutedRows, moveRoutes, noteWaiting, sessionsWithMovableRows, waitingPerSession,
  WAITING_ROUTE, type RoutableRow, type RouteAssignment, type RouteMove,
} from '../outbox/routing.js';
import { affinities, type Affinity } from '../sessions/affinity.js';
import { listedSessions, readSessions, type SessionInfo } from './routing-inputs.js';

export type { SessionInfo } from './routing-inputs.js';
import { normaliseRecipient } from '../whatsapp/recipient.js';


/** Ready enough to send. */
const CARRYING_STATES = ['ready', 'authenticated'];
/** A person must act (scan a code) or the login ended: no grace. */
const STOPPED_STATES = ['failed', 'awaiting_qr'];

/** Whether a session can carry messages now, and if not, why (in the operator's words). */
export function carryProblem(s: SessionInfo | undefined, now: Date, failoverAfterMs: number): string | null {
  if (!s) return 'tidak terdaftar lagi';
  if (!s.enabled) return 'dinonaktifkan';
  if (s.paused) return `sedang dijeda (${s.paused})`;
  if (CARRYING_STATES.includes(s.state)) return null;
  if (STOPPED_STATES.includes(s.state)) return s.state === 'failed' ? 'keluar atau gagal (failed)' : 'menunggu pindai QR (awaiting_qr)';
  const notReadyMs = now.getTime() - s.stateSince.getTime();
  if (notReadyMs < failoverAfterMs) return null;
  return `tidak siap (${s.state}) sejak ${Math.floor(notReadyMs / 1000)} detik`;
}

/** What the rules decided for one row. */
export type Decision =
  | { kind: 'route'; session: string; reason: string }
  | { kind: 'wait'; session: string | null; reason: string }
  | { kind: 'fail'; reason: string };

/** Everything the rules look at for one row. */
export interface RoutingInput {
  type: string;
  /** The chat id (a group ends in @g.us); null when the recipient is not a valid one. */
  chatId: string | null;
  sessions: SessionInfo[];
  now: Date;
  failoverAfterMs: number;
  /** What the person's chat knows of each number. */
  affinity: Affinity[];
  /** What each number knows of this group. */
  group: KnownGroup[];
  /** Sessions with any listing of their groups. */
  listed: ReadonlySet<string>;
  /** Pending rows per session. */
  waiting: ReadonlyMap<string, number>;
  /** Failover: the session the row leaves (never chosen; the row stays there when it cannot move). */
  leaving?: string;
}

/** The sessions in home order for a type: home_types has it, then '*', then the oldest. */
function homeOrder(sessions: SessionInfo[], type: string): SessionInfo[] {
  return [...sessions].sort((a, b) => homeRank(a, type) - homeRank(b, type) || a.createdAt.getTime() - b.createdAt.getTime() || a.name.localeCompare(b.name));
}

/** 0: the type's home number; 1: the home of every type ('*'); 2: neither. */
const homeRank = (s: SessionInfo, type: string) => (s.homeTypes.includes(type) ? 0 : s.homeTypes.includes('*') ? 1 : 2);

const latest = (d: Date | null) => d?.getTime() ?? -Infinity;

export function decide(input: RoutingInput): Decision {
  const { sessions, now, failoverAfterMs, leaving } = input;
  if (sessions.length === 0) return { kind: 'route', session: DEFAULT_SESSION, reason: 'only_number' };
  const byName = new Map(sessions.map((s) => [s.name, s]));
  const problem = (name: string) => carryProblem(byName.get(name), now, failoverAfterMs);
  const carries = (name: string) => name !== leaving && byName.has(name) && problem(name) === null;
  const stay = (reason: string): Decision => ({ kind: 'wait', session: leaving ?? null, reason: `${WAITING_ROUTE}${reason}` });
  const waitAt = (name: string, reason: string): Decision => (leaving ? stay(reason) : { kind: 'wait', session: name, reason: `${WAITING_ROUTE}${reason}` });
  const describe = (names: string[]) => names.map((n) => `${n} (${problem(n) ?? 'sedang ditinggalkan'})`).join(', ');
  const prefix = leaving ? 'failover: ' : '';

  if (input.chatId?.endsWith('@g.us')) {
    const adminsOnly = input.group.some((g) => g.adminsOnly);
    const eligible = input.group.filter((g) => g.member && (!adminsOnly || g.admin) && byName.has(g.session) && g.session !== leaving).map((g) => g.session);
    const label = input.group.find((g) => g.name)?.name ? `${input.group.find((g) => g.name)!.name} (${input.chatId})` : input.chatId;
    const rank = (name: string) => homeRank(byName.get(name)!, input.type);
    const best = (names: string[]) =>
      [...names].sort((a, b) => rank(a) - rank(b) || (input.waiting.get(a) ?? 0) - (input.waiting.get(b) ?? 0) || a.localeCompare(b))[0]!;
    if (eligible.length > 0) {
      const carrying = eligible.filter(carries);
      if (carrying.length > 0) return { kind: 'route', session: best(carrying), reason: `${prefix}${adminsOnly ? 'group_admin' : 'group_member'}` };
      return waitAt(best(eligible), `nomor ${adminsOnly ? 'admin' : 'anggota'} grup ${label} tidak bisa mengirim sekarang: ${describe(eligible)}`);
    }
    if (leaving) return stay(`tidak ada nomor lain yang diketahui menjadi ${adminsOnly ? 'admin' : 'anggota'} grup ${label}`);
    // No listing from any number, or an enabled number that has not listed its groups yet: unknown there.
    const unlisted = input.listed.size === 0 ? sessions : sessions.filter((s) => s.enabled && !input.listed.has(s.name));
    if (unlisted.length > 0) {
      // Membership unknown for these numbers: sent as before, from the home number among them.
      const home = homeOrder(unlisted, input.type);
      const pick = home.find((s) => carries(s.name)) ?? home[0]!;
      if (!carries(pick.name)) return waitAt(pick.name, `keanggotaan grup ${label} belum diketahui; nomor ${describe([pick.name])}`);
      return { kind: 'route', session: pick.name, reason: 'home' };
    }
    const anyMember = input.group.some((g) => g.member && byName.has(g.session));
    if (adminsOnly && anyMember) return { kind: 'fail', reason: `not_group_admin: hanya admin yang boleh mengirim ke grup ${label} dan tidak ada nomor yang menjadi admin` };
    return { kind: 'fail', reason: `not_in_group: tidak ada nomor yang menjadi anggota grup ${label}` };
  }

  const known = input.affinity.filter((a) => byName.has(a.session) && a.session !== leaving);
  const wrote = known.filter((a) => a.lastInboundAt).sort((a, b) => latest(b.lastInboundAt) - latest(a.lastInboundAt));
  const delivered = known.filter((a) => a.lastDeliveredAt).sort((a, b) => latest(b.lastDeliveredAt) - latest(a.lastDeliveredAt));
  const wroteTo = wrote.find((a) => carries(a.session));
  if (wroteTo) return { kind: 'route', session: wroteTo.session, reason: `${prefix}wrote_last` };
  const reached = delivered.find((a) => carries(a.session));
  if (reached) return { kind: 'route', session: reached.session, reason: `${prefix}delivered_last` };
  if (known.length > 0) {
    const names = [...new Set([...wrote, ...delivered].map((a) => a.session))];
    return waitAt(names[0]!, `orang ini hanya pernah bicara dengan nomor ${describe(names)}`);
  }
  if (leaving) {
    const talked = input.affinity.some((a) => a.session === leaving);
    return stay(talked
      ? `orang ini hanya pernah bicara dengan nomor ${leaving}, yang ${problem(leaving) ?? 'sedang ditinggalkan'}`
      : `orang ini belum pernah bicara dengan nomor lain; nomor ${leaving} ${problem(leaving) ?? 'sedang ditinggalkan'}`);
  }
  const home = homeOrder(sessions, input.type);
  if (carries(home[0]!.name)) return { kind: 'route', session: home[0]!.name, reason: 'home' };
  const other = home.find((s) => carries(s.name));
  if (other) return { kind: 'route', session: other.name, reason: 'any_number' };
  return waitAt(home[0]!.name, `tidak ada nomor yang bisa mengirim sekarang: ${describe(home.map((s) => s.name))}`);
}

export interface RouterOptions {
  pool: pg.Pool;
  logger: Logger;
  defaultCountryCode: string;
  failoverAfterMs: number;
  /** The process's outcome hooks: a row that fails at once runs them, as any failed row does. */
  hooks?: OutcomeHooks;
  /** Rows per transaction. */
  batchSize?: number;
  clock?: () => Date;
}

/** Rows given a session, given one to wait at, and failed at once. */
export type RoutingResult = Record<'routed' | 'waiting' | 'failed', number>;

export class Router {
  constructor(private readonly options: RouterOptions) {}

  /** Routes every unrouted pending row, a batch per transaction; wakes the dispatchers when any was routed. */
  async routeUnrouted(): Promise<RoutingResult> {
    const { pool } = this.options;
    const total: RoutingResult = { routed: 0, waiting: 0, failed: 0 };
    if (!(await hasUnroutedRows(pool))) return total;
    for (;;) {
      const batch = await withTransaction(pool, async (tx) => {
        const locked = await lockUnroutedRows(tx, this.options.batchSize ?? 500);
        if (locked.length === 0) return null;
        // A message that follows another goes from that one's number: after its leader has one (perhaps in this batch).
        const followers = locked.filter((r) => r.followsId !== null);
        let inherited = await inheritFollowedSessions(tx, followers.map((r) => r.id));
        const rows = locked.filter((r) => r.followsId === null || (!inherited.has(r.id) && !locked.some((l) => l.id === r.followsId)));
        const decisions = await this.decideAll(tx, rows);
        const assignments: RouteAssignment[] = [];
        const fails: Array<{ id: number; reason: string }> = [];
        const result: RoutingResult = { routed: 0, waiting: 0, failed: 0 };
        for (const [row, d] of decisions) {
          if (d.kind === 'fail') fails.push({ id: row.id, reason: d.reason });
          else assignments.push({ id: row.id, session: d.session ?? DEFAULT_SESSION, reason: d.reason });
          result[d.kind === 'route' ? 'routed' : d.kind === 'wait' ? 'waiting' : 'failed']++;
        }
        await assignRoutes(tx, assignments);
        const waitingOnLeader = followers.filter((r) => !inherited.has(r.id) && !rows.includes(r)).map((r) => r.id);
        inherited = await inheritFollowedSessions(tx, waitingOnLeader);
        result.routed += inherited.size;
        // A leader that failed at once leaves its followers to the rules, routed on the next pass.
        const failed = await failUnroutable(tx, fails);
        for (const row of failed) await this.options.hooks?.run(tx, { row, status: 'failed', reason: row.reason, sentAt: null }, this.options.logger);
        if (assignments.length > 0) await wakeDispatchers(tx);
        return { result, full: rows.length >= (this.options.batchSize ?? 500) };
      });
      if (!batch) break;
      for (const k of Object.keys(total) as Array<keyof RoutingResult>) total[k] += batch.result[k];
      if (!batch.full) break;
    }
    if (total.routed + total.waiting + total.failed > 0) this.options.logger.info(total, 'messages without a session routed');
    return total;
  }

  /**
   * Failover: each session that cannot carry gives up its rows that may move; what cannot move says why
   * it waits. On a session that can carry again, a row that waited on it gets its rule's reason back.
   */
  async failover(): Promise<{ moved: number; waiting: number }> {
    const { pool, failoverAfterMs } = this.options;
    const sessions = await readSessions(pool);
    if (sessions.length === 0) return { moved: 0, waiting: 0 };
    const now = this.now();
    const byName = new Map(sessions.map((s) => [s.name, s]));
    const total = { moved: 0, waiting: 0 };
    for (const session of await sessionsWithMovableRows(pool)) {
      // A number that can send keeps its rows; those that waited on it no longer wait: their reason is the rule's again.
      const carries = carryProblem(byName.get(session), now, failoverAfterMs) === null;
      let afterId = 0;
      for (;;) {
        const last = await withTransaction(pool, async (tx) => {
          const rows = await lockMovableRows(tx, session, afterId, this.options.batchSize ?? 500, carries);
          if (rows.length === 0) return null;
          const moves: RouteMove[] = [];
          const waits: Array<{ id: number; reason: string }> = [];
          for (const [row, d] of await this.decideAll(tx, rows, carries ? undefined : session)) {
            if (carries) {
              if (d.kind === 'route' && d.session === session) waits.push({ id: row.id, reason: d.reason });
            } else if (d.kind === 'route') {
              moves.push({ id: row.id, from: session, to: d.session, reason: d.reason, why: `${session} ${carryProblem(byName.get(session), now, failoverAfterMs)}` });
            } else waits.push({ id: row.id, reason: d.reason });
          }
          total.moved += await moveRoutes(tx, moves);
          if (!carries) total.waiting += waits.length;
          await noteWaiting(tx, waits);
          if (moves.length > 0) await wakeDispatchers(tx);
          return rows[rows.length - 1]!.id;
        });
        if (last === null) break;
        afterId = last;
      }
    }
    if (total.moved > 0) this.options.logger.warn(total, 'messages moved off numbers that cannot send (failover)');
    return total;
  }

  private now = (): Date => this.options.clock?.() ?? new Date();

  private async decideAll(tx: Queryable, rows: RoutableRow[], leaving?: string): Promise<Array<[RoutableRow, Decision]>> {
    const { defaultCountryCode, failoverAfterMs } = this.options;
    const sessions = await readSessions(tx);
    const chatIds = rows.map((r) => {
      const n = normaliseRecipient(r.recipient, defaultCountryCode);
      return n.ok ? n.chatId : null;
    });
    const personal = chatIds.filter((c): c is string => c !== null && !c.endsWith('@g.us'));
    const groups = chatIds.filter((c): c is string => c !== null && c.endsWith('@g.us'));
    const [affinity, members, listed, waiting] = sessions.length === 0
      ? [[], [], new Set<string>(), new Map<string, number>()] as const
      : await Promise.all([affinities(tx, personal), knownGroups(tx, [...new Set(groups)]), listedSessions(tx), waitingPerSession(tx)]);
    const counts = new Map(waiting);
    const now = this.now();
    return rows.map((row, i) => {
      const chatId = chatIds[i]!;
      const d = decide({
        type: row.type, chatId, sessions, now, failoverAfterMs, listed, waiting: counts, ...(leaving ? { leaving } : {}),
        affinity: affinity.filter((a) => a.chatId === chatId),
        group: members.filter((g) => g.chatId === chatId),
      });
      if (d.kind === 'route') counts.set(d.session, (counts.get(d.session) ?? 0) + 1);
      return [row, d];
    });
  }
}
