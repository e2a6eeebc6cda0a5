/**
 * Which numbers can reach a group, by the routing's own rules (`decide` in routing.ts): a group no number
 * is in (or, where only admins write, no number is an admin of) is out of reach and its messages fail at
 * once; one whose members cannot send now waits; one no listing covers is unknown and sent as before.
 * What `cicero-wa doctor` and the dashboard list as unit groups out of reach.
 */
import type { Queryable } from '../db/pool.js';
import { knownGroups } from '../groups/membership.js';
import { DEFAULT_SESSION } from '../outbox/enqueue.js';
import { decide, type Decision } from './routing.js';
import { listedSessions, readSessions } from './routing-inputs.js';

/** The routing's decision for a message to each of these groups now (a recap, the most common group message). */
export async function groupReach(db: Queryable, chatIds: readonly string[], failoverAfterMs: number, now = new Date()): Promise<Map<string, Decision>> {
  const [registered, listed, known] = await Promise.all([readSessions(db), listedSessions(db), knownGroups(db, chatIds)]);
  // Before the service first started, the one number is the configured `default` (as the service registers it).
  const sessions = registered.length > 0 ? registered : [{ name: DEFAULT_SESSION, enabled: true, state: 'ready', stateSince: now, homeTypes: [], createdAt: now, paused: null }];
  return new Map(
    chatIds.map((chatId) => [
      chatId,
      decide({ type: 'daily-report', chatId, sessions, now, failoverAfterMs, affinity: [], group: known.filter((g) => g.chatId === chatId), listed, waiting: new Map() }),
    ]),
  );
}
