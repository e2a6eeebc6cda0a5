/**
 * The registry's side of `cicero-wa sessions`: `add`, `remove`, `enable`, `disable`, `home`, `pin` change
 * wa_sessions (src/sessions/registry.ts), and every running service hears the change at once
 * (wa_sessions_changed). A value the registry refuses is a usage error naming the argument.
 */
import type pg from 'pg';
import { SessionError, addSession, removeSession, setEnabled, setHomeTypes, setPinnedHost, type SessionRecord } from '../sessions/registry.js';
import { print, type CommandContext } from './context.js';
import { UsageError } from './usage.js';

export const ADMIN_ACTIONS = ['add', 'remove', 'enable', 'disable', 'home', 'pin'] as const;
export type AdminAction = (typeof ADMIN_ACTIONS)[number];

/** The options of `sessions add`, and the registry field each one gives. */
export const ADD_OPTIONS = { label: 'label', 'auth-profile': 'authProfile', 'pair-phone': 'pairPhone', home: 'homeTypes', disabled: 'enabled' } as const;

/** The command-line argument that gave a registry field. */
const ARGUMENT: Record<string, string> = { pinnedHost: '<host-label>', name: '<name>', label: '--label', authProfile: '--auth-profile', pairPhone: '--pair-phone', homeTypes: '--home', pairing: '--pair-phone', enabled: '--disabled' };

/** The options of `add` refused on every other action of `sessions`. */
export function refuseAddOptions(action: string, options: CommandContext['options']): void {
  if (action === 'add') return;
  const given = Object.keys(ADD_OPTIONS).filter((o) => options[o] !== undefined);
  if (given.length > 0) throw new UsageError(`--${given[0]} belongs to "sessions add", not "sessions ${action}"`);
}

/** A list of message types from the command line: comma-separated; "-" or "" for none. */
export function parseTypes(argument: string, value: string): string[] {
  if (value === '-' || value.trim() === '') return [];
  const types = value.split(',').map((t) => t.trim());
  if (types.some((t) => t === '')) throw new UsageError(`${argument} "${value}" has an empty type: expected type,type (e.g. daily-report,complaint-response) or - for none`);
  return types;
}

/** A registry refusal in the command line's words: invalid input is a usage error naming the argument. */
function inArguments(err: unknown): never {
  if (err instanceof SessionError && err.field) {
    const argument = ARGUMENT[err.field] ?? err.field;
    const message = err.message.startsWith(`${err.field} `) ? `${argument} ${err.message.slice(err.field.length + 1)}` : err.message;
    if (err.code === 'invalid') throw new UsageError(message);
    throw new SessionError(err.code, message, err.field);
  }
  throw err;
}

export async function runAdminAction(context: CommandContext, pool: pg.Pool, action: AdminAction, name: string, rest: string[]): Promise<number> {
  const expected = action === 'home' || action === 'pin' ? 1 : 0;
  if (rest.length !== expected) {
    throw new UsageError(
      action === 'home' ? `sessions home takes a name and the types (type,type, or - for none)`
        : action === 'pin' ? `sessions pin takes a name and a host label (a worker's WA_HOST_LABEL, or - for any host)`
          : `sessions ${action} takes one name (got also ${rest.join(' ')})`,
    );
  }
  const option = (key: keyof typeof ADD_OPTIONS) => {
    const value = context.options[key];
    if (typeof value === 'string' && value.trim() === '' && key !== 'label') throw new UsageError(`--${key} must not be empty`);
    return value;
  };
  try {
    if (action === 'add') {
      const pairPhone = option('pair-phone') as string | undefined;
      const home = option('home') as string | undefined;
      const added = await addSession(pool, {
        name,
        ...(context.options.label !== undefined ? { label: context.options.label as string } : {}),
        ...(option('auth-profile') !== undefined ? { authProfile: option('auth-profile') as string } : {}),
        ...(pairPhone !== undefined ? { pairing: 'code' as const, pairPhone } : {}),
        ...(home !== undefined ? { homeTypes: parseTypes('--home', home) } : {}),
        enabled: context.options.disabled !== true,
      });
      print([`${added.name}: added (${describe(added)}); a running service starts it at once${added.enabled ? '' : ' once enabled (sessions enable)'}`]);
      return 0;
    }
    if (action === 'remove') {
      await removeSession(pool, name);
      print([`${name}: removed; its waiting messages go out from another number`]);
      return 0;
    }
    if (action === 'enable' || action === 'disable') {
      const changed = await setEnabled(pool, name, action === 'enable');
      print([`${name}: ${changed.enabled ? 'enabled; a running service starts it' : 'disabled; a running service stops it (its messages go out from another number)'}`]);
      return 0;
    }
    if (action === 'pin') {
      const host = rest[0] === '-' ? null : rest[0]!;
      const pinned = await setPinnedHost(pool, name, host);
      print([`${name}: ${pinned.pinnedHost ? `runs only on a worker with WA_HOST_LABEL=${pinned.pinnedHost}; a holder elsewhere stops it at its next renewal` : 'runs on any worker'}`]);
      return 0;
    }
    const changed = await setHomeTypes(pool, name, parseTypes('the types', rest[0]!));
    print([`${name}: home of ${changed.homeTypes.length > 0 ? changed.homeTypes.join(', ') : 'no message type'}`]);
    return 0;
  } catch (err) {
    inArguments(err);
  }
}

function describe(s: SessionRecord): string {
  return [
    `auth profile ${s.authProfile}`,
    s.pairing === 'code' ? `pairing code for ${s.pairPhone}` : 'QR code',
    s.enabled ? 'enabled' : 'disabled',
    ...(s.homeTypes.length > 0 ? [`home of ${s.homeTypes.join(', ')}`] : []),
    ...(s.pinnedHost ? [`pinned to ${s.pinnedHost}`] : []),
  ].join(', ');
}
