/**
 * The number each reminder is expected to go from, so its slice can be sized by that number's room.
 * The router decides for real when the row is routed (its session is left to it); this follows its
 * rules for a personal chat: no registered number, `default`; one, that one; several, the number the
 * person last wrote to, then the one that last delivered to them, then the type's home number
 * (home_types has the type, then `*`, then the oldest).
 */
import type { Queryable } from '../../db/pool.js';
import { DEFAULT_SESSION } from '../../outbox/enqueue.js';
import { affinities } from '../../sessions/affinity.js';
import { listSessions, type SessionRecord } from '../../sessions/registry.js';

/** The expected session of each chat, for messages of `type`. */
export async function predictSessions(db: Queryable, chatIds: readonly string[], type: string): Promise<Map<string, string>> {
  const sessions = await listSessions(db);
  if (sessions.length <= 1) {
    const only = sessions[0]?.name ?? DEFAULT_SESSION;
    return new Map(chatIds.map((c) => [c, only]));
  }
  const known = new Set(sessions.map((s) => s.name));
  const home = homeOf(sessions.filter((s) => s.enabled).length > 0 ? sessions.filter((s) => s.enabled) : sessions, type);
  const byChat = new Map<string, { wrote: [string, number] | null; delivered: [string, number] | null }>();
  for (const a of await affinities(db, chatIds)) {
    if (!known.has(a.session)) continue;
    const entry = byChat.get(a.chatId) ?? { wrote: null, delivered: null };
    if (a.lastInboundAt && (!entry.wrote || a.lastInboundAt.getTime() > entry.wrote[1])) entry.wrote = [a.session, a.lastInboundAt.getTime()];
    if (a.lastDeliveredAt && (!entry.delivered || a.lastDeliveredAt.getTime() > entry.delivered[1])) entry.delivered = [a.session, a.lastDeliveredAt.getTime()];
    byChat.set(a.chatId, entry);
  }
  return new Map(chatIds.map((c) => {
    const entry = byChat.get(c);
    return [c, entry?.wrote?.[0] ?? entry?.delivered?.[0] ?? home];
  }));
}

function homeOf(sessions: SessionRecord[], type: string): string {
  const rank = (s: SessionRecord) => (s.homeTypes.includes(type) ? 0 : s.homeTypes.includes('*') ? 1 : 2);
  return [...sessions].sort((a, b) => rank(a) - rank(b) || a.createdAt.getTime() - b.createdAt.getTime() || a.name.localeCompare(b.name))[0]!.name;
}
