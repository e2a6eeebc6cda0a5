/**
 * wa_sessions: the WhatsApp numbers of this gateway, one row per session, owned here alone. Each has its
 * own auth profile (so its own QR code or pairing code), the number it paired, the state its client last
 * reported, how it pairs, whether it runs, and the message types it is the home number of.
 *
 * A change of a session's existence, enabled flag, auth profile or pairing notifies `wa_sessions_changed`
 * (a trigger of migration 024) with the session's name, so every running service reconciles at once.
 */
import type { Queryable } from '../db/pool.js';
import { HOST_LABEL } from '../config/capacity.js';
import { OperatorError } from '../lib/errors.js';
import { sendingCount } from '../outbox/listing.js';

export const SESSIONS_CHANNEL = 'wa_sessions_changed';

export interface SessionRecord {
  name: string;
  label: string;
  authProfile: string;
  pairedNumber: string | null;
  state: string;
  stateReason: string | null;
  stateSince: Date;
  pairing: 'qr' | 'code';
  pairPhone: string | null;
  enabled: boolean;
  homeTypes: string[];
  /** Only a process with this host label (WA_HOST_LABEL) may run it; null: any. */
  pinnedHost: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface NewSession {
  name: string;
  label?: string;
  /** Default: the name. */
  authProfile?: string;
  pairing?: 'qr' | 'code';
  pairPhone?: string | null;
  enabled?: boolean;
  homeTypes?: string[];
}

export type SessionErrorCode = 'invalid' | 'exists' | 'not_found' | 'busy';

/** A session refused: `code` says why, the message names the field and what is allowed. */
export class SessionError extends OperatorError {
  constructor(
    readonly code: SessionErrorCode,
    message: string,
    /** The field at fault ('name', 'authProfile', 'pairPhone', 'homeTypes', 'label', 'pairing'), when one is. */
    readonly field: string | null = null,
  ) {
    super(message);
  }
}

/** A session's name: lower-case letters, digits, _ and -, starting with a letter or digit, at most 32. */
export const SESSION_NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/;
/** An auth profile: letters, digits, _ and -, 1 to 64 (a folder name under WA_AUTH_PATH). */
export const AUTH_PROFILE = /^[A-Za-z0-9_-]{1,64}$/;
/** The phone number a pairing code is asked for: 8 to 15 digits, country code first, no +. */
export const PAIR_PHONE = /^[0-9]{8,15}$/;
/** A message type (wa_outbox.type as the API allows it). */
export const MESSAGE_TYPE = /^[A-Za-z0-9_.:-]{1,64}$/;
/** A label is free text for people, at most this long. */
export const MAX_LABEL_CHARS = 100;

function invalid(field: string, message: string): SessionError {
  return new SessionError('invalid', `${field} ${message}`, field);
}

export function validateName(name: unknown, field = 'name'): string {
  if (typeof name !== 'string' || !SESSION_NAME.test(name)) {
    throw invalid(field, `${describe(name)} is not a session name: 1 to 32 of a-z, 0-9, _ and -, starting with a letter or digit`);
  }
  return name;
}

function validateAuthProfile(profile: unknown): string {
  if (typeof profile !== 'string' || !AUTH_PROFILE.test(profile)) {
    throw invalid('authProfile', `${describe(profile)} is not an auth profile: 1 to 64 of A-Z, a-z, 0-9, _ and -`);
  }
  return profile;
}

function validatePairPhone(phone: unknown): string {
  if (typeof phone !== 'string' || !PAIR_PHONE.test(phone)) {
    throw invalid('pairPhone', `${describe(phone)} is not a phone number to pair with: 8 to 15 digits with the country code, no + or spaces (e.g. 6281234567890)`);
  }
  return phone;
}

export function validateHomeTypes(types: unknown): string[] {
  if (!Array.isArray(types)) throw invalid('homeTypes', 'must be a list of message types');
  const bad = types.find((t) => typeof t !== 'string' || !MESSAGE_TYPE.test(t));
  if (bad !== undefined) throw invalid('homeTypes', `${describe(bad)} is not a message type: 1 to 64 of A-Z, a-z, 0-9, _ . : and -`);
  return [...new Set(types as string[])];
}

export function validateLabel(label: unknown): string {
  if (typeof label !== 'string') throw invalid('label', 'must be text');
  if (label.length > MAX_LABEL_CHARS) throw invalid('label', `is ${label.length} characters long; at most ${MAX_LABEL_CHARS}`);
  if (/[\u0000-\u001f\u007f]/.test(label)) throw invalid('label', 'must not contain control characters (line breaks, tabs, NUL)');
  return label;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return `"${value.length > 70 ? `${value.slice(0, 70)}…` : value}"`;
  return value === undefined ? 'nothing' : JSON.stringify(value) ?? String(value);
}

export interface SessionRow {
  name: string;
  label: string;
  auth_profile: string;
  paired_number: string | null;
  state: string;
  state_reason: string | null;
  state_since: Date;
  pairing: 'qr' | 'code';
  pair_phone: string | null;
  enabled: boolean;
  home_types: string[];
  pinned_host: string | null;
  created_at: Date;
  updated_at: Date;
}

export const SESSION_COLUMNS = `name, label, auth_profile, paired_number, state, state_reason, state_since, pairing, pair_phone, enabled, home_types, pinned_host, created_at, updated_at`;

export function sessionFromRow(r: SessionRow): SessionRecord {
  return {
    name: r.name,
    label: r.label,
    authProfile: r.auth_profile,
    pairedNumber: r.paired_number,
    state: r.state,
    stateReason: r.state_reason,
    stateSince: r.state_since,
    pairing: r.pairing,
    pairPhone: r.pair_phone,
    enabled: r.enabled,
    homeTypes: r.home_types,
    pinnedHost: r.pinned_host,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** Every session, oldest first (created_at, then name); with `enabledOnly`, those that run. */
export async function listSessions(db: Queryable, options: { enabledOnly?: boolean } = {}): Promise<SessionRecord[]> {
  const { rows } = await db.query<SessionRow>(`SELECT ${SESSION_COLUMNS} FROM wa_sessions ${options.enabledOnly ? 'WHERE enabled' : ''} ORDER BY created_at, name`);
  return rows.map(sessionFromRow);
}

export async function getSession(db: Queryable, name: string): Promise<SessionRecord | null> {
  const { rows } = await db.query<SessionRow>(`SELECT ${SESSION_COLUMNS} FROM wa_sessions WHERE name = $1`, [name]);
  return rows[0] ? sessionFromRow(rows[0]) : null;
}

function notFound(name: string): SessionError {
  return new SessionError('not_found', `there is no session "${name}" (sessions list shows them)`, 'name');
}

/** A new session, validated; a name or auth profile already taken is refused ('exists'). */
export async function addSession(db: Queryable, input: NewSession): Promise<SessionRecord> {
  const name = validateName(input.name);
  const authProfile = validateAuthProfile(input.authProfile ?? name);
  const pairPhone = input.pairPhone === undefined || input.pairPhone === null ? null : validatePairPhone(input.pairPhone);
  const pairing = input.pairing ?? (pairPhone === null ? 'qr' : 'code');
  if (pairing !== 'qr' && pairing !== 'code') throw invalid('pairing', `${describe(pairing)} is not a way to pair: qr or code`);
  if (pairing === 'code' && pairPhone === null) throw invalid('pairPhone', 'is needed to pair with a code: 8 to 15 digits with the country code');
  const label = validateLabel(input.label ?? '');
  const homeTypes = validateHomeTypes(input.homeTypes ?? []);
  const enabled = input.enabled ?? true;
  if (typeof enabled !== 'boolean') throw invalid('enabled', 'must be true or false');
  const { rows } = await db.query<SessionRow>(
    `INSERT INTO wa_sessions (name, label, auth_profile, pairing, pair_phone, enabled, home_types)
     VALUES ($1, $2, $3, $4, $5, $6, $7::text[])
     ON CONFLICT DO NOTHING
     RETURNING ${SESSION_COLUMNS}`,
    [name, label, authProfile, pairing, pairPhone, enabled, homeTypes],
  );
  if (rows[0]) return sessionFromRow(rows[0]);
  // Nothing inserted: the name or the auth profile is taken; say which.
  if (await getSession(db, name)) throw new SessionError('exists', `name "${name}" is already a session: choose another name (sessions list shows them)`, 'name');
  const { rows: holders } = await db.query<{ name: string }>(`SELECT name FROM wa_sessions WHERE auth_profile = $1`, [authProfile]);
  throw new SessionError(
    'exists',
    `authProfile "${authProfile}" is already the auth profile of session "${holders[0]?.name ?? '?'}": each session needs its own (1 to 64 of A-Z, a-z, 0-9, _ and -)`,
    'authProfile',
  );
}

/**
 * Removes a session: refused while any of its messages is being sent ('busy'), and for the last session
 * left (the gateway needs one number). Its waiting messages stay as they are; the routing moves them.
 */
export async function removeSession(db: Queryable, name: string): Promise<void> {
  validateName(name);
  if (!(await getSession(db, name))) throw notFound(name);
  const sending = await sendingCount(db, name);
  if (sending > 0) {
    throw new SessionError('busy', `session "${name}" is sending ${sending} message${sending === 1 ? '' : 's'} now: disable it first, then remove it once they are settled`, 'name');
  }
  // Deleted only when another session stays: one statement, so two removals at once cannot leave none.
  const { rowCount } = await db.query(
    `DELETE FROM wa_sessions WHERE name = $1 AND EXISTS (SELECT 1 FROM wa_sessions WHERE name <> $1)`,
    [name],
  );
  if (rowCount === 0) {
    if (!(await getSession(db, name))) throw notFound(name);
    throw new SessionError('busy', `session "${name}" is the only session: add another before removing it`, 'name');
  }
}

async function update(db: Queryable, name: string, assignments: string, values: unknown[]): Promise<SessionRecord> {
  validateName(name);
  const { rows } = await db.query<SessionRow>(
    `UPDATE wa_sessions SET ${assignments}, updated_at = now() WHERE name = $1 RETURNING ${SESSION_COLUMNS}`,
    [name, ...values],
  );
  if (!rows[0]) throw notFound(name);
  return sessionFromRow(rows[0]);
}

export async function setEnabled(db: Queryable, name: string, enabled: boolean): Promise<SessionRecord> {
  if (typeof enabled !== 'boolean') throw invalid('enabled', 'must be true or false');
  return update(db, name, 'enabled = $2', [enabled]);
}

export async function setHomeTypes(db: Queryable, name: string, types: string[]): Promise<SessionRecord> {
  return update(db, name, 'home_types = $2::text[]', [validateHomeTypes(types)]);
}

export async function setLabel(db: Queryable, name: string, label: string): Promise<SessionRecord> {
  return update(db, name, 'label = $2', [validateLabel(label)]);
}

/**
 * The upgrade path: the single-number configuration (WA_AUTH_PROFILE, WA_PAIRING_PHONE…) becomes the
 * session `name` when no row of that name exists. A row that exists is left as the operator set it, its
 * auth profile included. Safe with several processes at once (one INSERT … ON CONFLICT DO NOTHING).
 */
export async function ensureConfiguredSession(
  db: Queryable,
  configured: { name: string; authProfile: string; pairing: 'qr' | 'code'; pairPhone: string | null },
): Promise<SessionRecord> {
  const name = validateName(configured.name);
  const authProfile = validateAuthProfile(configured.authProfile);
  const pairPhone = configured.pairPhone === null ? null : validatePairPhone(configured.pairPhone);
  const pairing = configured.pairing === 'code' && pairPhone !== null ? 'code' : 'qr';
  await db.query(
    `INSERT INTO wa_sessions (name, auth_profile, pairing, pair_phone) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
    [name, authProfile, pairing, pairPhone],
  );
  const row = await getSession(db, name);
  if (!row) {
    // The auth profile is another session's: the configuration cannot become this session.
    const { rows } = await db.query<{ name: string }>(`SELECT name FROM wa_sessions WHERE auth_profile = $1`, [authProfile]);
    throw new SessionError(
      'exists',
      `authProfile "${authProfile}" (WA_AUTH_PROFILE) is already the auth profile of session "${rows[0]?.name ?? '?'}": session "${name}" cannot use it`,
      'authProfile',
    );
  }
  return row;
}

/** The process that holds a session's lease, and its fence: only its writes of the session's state count. */
export interface SessionHolderProof {
  owner: string;
  fence: number;
}

/** Holder or nobody: a write without a proof counts always (tests, commands of a session nobody runs). */
const HOLDER = `($5::text IS NULL OR (owner = $5 AND fence = $6))`;

/**
 * The state a session's client reported: the time it began is kept while the state stays the same. With
 * `holder`, written only while that process still holds the session (a process that lost it never
 * writes over its new holder's state).
 */
export async function recordState(db: Queryable, name: string, state: string, reason: string | null, at: Date = new Date(), holder: SessionHolderProof | null = null): Promise<void> {
  await db.query(
    `UPDATE wa_sessions
        SET state_since = CASE WHEN state IS DISTINCT FROM $2 THEN $4 ELSE state_since END,
            state = $2, state_reason = $3, updated_at = now()
      WHERE name = $1 AND ${HOLDER}`,
    [name, state, reason, at, holder?.owner ?? null, holder?.fence ?? null],
  );
}

/** The number a session's client paired (null: none, e.g. after a logout); with `holder` as recordState. */
export async function recordPairedNumber(db: Queryable, name: string, number: string | null, holder: SessionHolderProof | null = null): Promise<void> {
  await db.query(
    `UPDATE wa_sessions SET paired_number = $2, updated_at = now()
      WHERE name = $1 AND paired_number IS DISTINCT FROM $2 AND ($3::text IS NULL OR (owner = $3 AND fence = $4))`,
    [name, number, holder?.owner ?? null, holder?.fence ?? null],
  );
}

/**
 * Pins a session to the processes with host label `host` (WA_HOST_LABEL), or unpins it (null): a holder
 * elsewhere loses it at its next renewal, stops it, and a process on that host takes it.
 */
export async function setPinnedHost(db: Queryable, name: string, host: string | null): Promise<SessionRecord> {
  if (host !== null && (typeof host !== 'string' || !HOST_LABEL.test(host))) {
    throw invalid('pinnedHost', `${describe(host)} is not a host label: 1 to 64 of A-Z, a-z, 0-9, . _ and - (a worker's WA_HOST_LABEL)`);
  }
  return update(db, name, 'pinned_host = $2', [host]);
}
