/**
 * A session named in an API path, wherever it runs: in this process (its transport), or in another
 * instance of the cluster (the live view its holder publishes, and commands through the database; see
 * src/sessions/live-view.ts). What lets the API and dashboard of any instance show and control every
 * number.
 */
import type pg from 'pg';
import { sleep } from '../lib/sleep.js';
import { commandOutcome, expireCommand, readLiveView, requestCommand, type CommandOutcome, type LiveView, type SessionCommand } from '../sessions/live-view.js';
import { getSession } from '../sessions/registry.js';
import { HttpError, type RunningSession, type RunningSessions } from './deps.js';

export type SessionHandle =
  | { where: 'here'; name: string; view: LiveView; running: RunningSession }
  | { where: 'elsewhere'; name: string; view: LiveView; owner: string; ownerHost: string | null };

/** How long an instance waits for the holder of a session to answer a command. */
export const COMMAND_WAIT_MS = 15_000;

/** The session, here or on another instance; null when it runs nowhere. */
export async function findSession(pool: pg.Pool, sessions: RunningSessions, name: string): Promise<SessionHandle | null> {
  const running = sessions.get(name);
  if (running) return { where: 'here', name, view: running.view(), running };
  const held = await readLiveView(pool, name);
  return held ? { where: 'elsewhere', name, view: held.view, owner: held.owner, ownerHost: held.ownerHost } : null;
}

/** The session named in a path, or the error that says where it is not. */
export async function requireSession(pool: pg.Pool, sessions: RunningSessions, name: string): Promise<SessionHandle> {
  const handle = await findSession(pool, sessions, name);
  if (handle) return handle;
  const registered = await getSession(pool, name);
  if (registered) {
    throw new HttpError(409, 'not_running', `session "${name}" runs on no instance now: ${registered.enabled ? 'no worker holds it (every worker is full, or it is pinned to a host label no worker has); it starts when one takes it' : 'it is disabled (enable it to run it)'}`);
  }
  const here = sessions.list().map((s) => s.name);
  if (here.length === 0) throw new HttpError(409, 'no_transport', 'no WhatsApp number runs in this process (SERVICE_ROLE, or a worker holding none now), and no session of that name runs elsewhere');
  throw new HttpError(404, 'not_found', `no session "${name}" (running here: ${here.join(', ')})`);
}

/** Asks the holder on another instance for a command and waits for its answer (504 when it does not answer). */
export async function askHolder(pool: pg.Pool, handle: SessionHandle & { where: 'elsewhere' }, command: SessionCommand, argument: string | null, by: string): Promise<Record<string, unknown>> {
  const id = await requestCommand(pool, handle.name, command, argument, by);
  const deadline = Date.now() + COMMAND_WAIT_MS;
  let outcome: CommandOutcome | null = null;
  while (!(outcome = await commandOutcome(pool, id)) && Date.now() < deadline) await sleep(100);
  if (!outcome) {
    // Not taken yet: it never will be, and nothing was done. Taken: the holder may still carry it out.
    const nothingDone = await expireCommand(pool, id, by);
    const late = nothingDone ? null : await commandOutcome(pool, id);
    if (late) outcome = late;
    else {
      throw new HttpError(
        504,
        'holder_did_not_answer',
        nothingDone
          ? `the instance running session "${handle.name}" (${handle.owner}) did not take the request within ${COMMAND_WAIT_MS / 1000} s; nothing was done, try again`
          : `the instance running session "${handle.name}" (${handle.owner}) took the request but did not answer within ${COMMAND_WAIT_MS / 1000} s: it may still be carried out; look at the number's state before asking again`,
      );
    }
  }
  if (!outcome.ok) throw new HttpError(outcome.status, outcome.code, outcome.message, undefined, { state: handle.view.state });
  return outcome.result;
}
