/**
 * WA_AUTH_STORE=postgres: an auth profile's WhatsApp Web login kept in PostgreSQL (wa_auth_store, owned
 * here), so the process that takes a session on another machine restores it instead of asking for a new
 * QR scan. LocalAuth still runs the profile in `WA_AUTH_PATH/session-<authProfile>`; this module copies
 * the parts of it that hold the login in and out:
 *
 * - the copy: `Default/IndexedDB` and `Default/Local Storage`, packed and sealed with AES-256-GCM under
 *   WA_AUTH_STORE_KEY (profile-archive.ts), stored with the sha256 of the sealed bytes;
 * - the process that restores (or finds current) the copy claims it (`held_by`, an id of this store
 *   object: one per tenure of the session); a save or a removal changes only a copy its writer holds, so
 *   a process that lost the session cannot overwrite or remove the copy of the one that took it;
 * - a restore replaces the local profile only when the stored copy is not the one this directory last
 *   saw (a marker file beside the profile, `session-<authProfile>.stored`); a copy that cannot be opened
 *   (another key, tampered, corrupt) is an error naming WA_AUTH_STORE_KEY, and neither the stored copy
 *   nor the local profile is touched.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Queryable } from '../../db/pool.js';
import { AuthStoreKeyError, gunzip, gzip, keyId, packProfile, seal, sha256, unpackProfile, unseal } from './profile-archive.js';

export { AuthStoreKeyError, KEPT_DIRS, keyId } from './profile-archive.js';

/** What the local directory last had to do with the stored copy (kept beside the profile). */
interface Marker {
  /** sha256 of the sealed copy last restored here or saved from here. */
  sealed: string;
  /** sha256 of that copy's archive (a save with nothing changed is skipped). */
  plain: string;
}

export interface StoredCopy {
  sha256: string;
  size: number;
  plainSize: number;
  files: number;
  keyId: string;
  savedBy: string;
  savedAt: Date;
}

export type SaveResult =
  | { kind: 'saved'; size: number; plainSize: number; files: number; ms: number }
  | { kind: 'unchanged' }
  | { kind: 'superseded'; by: StoredCopy | null }
  | { kind: 'nothing' };

export type RestoreResult = { kind: 'restored'; copy: StoredCopy; files: number; ms: number } | { kind: 'current' } | { kind: 'none' };

export interface ProfileStoreOptions {
  pool: Queryable;
  key: Buffer;
  authPath: string;
  authProfile: string;
  /** Who saves (WA_HOST_LABEL). */
  savedBy: string;
}

/** One auth profile's stored copy: restore before Chromium starts, save while it runs and after it closed. */
export class ProfileStore {
  readonly profileDir: string;
  private readonly markerFile: string;
  private readonly keyName: string;
  /** Who holds the stored copy: this object (one per tenure of the session). */
  readonly holder: string;

  constructor(private readonly options: ProfileStoreOptions) {
    this.profileDir = path.join(options.authPath, `session-${options.authProfile}`);
    this.markerFile = path.join(options.authPath, `session-${options.authProfile}.stored`);
    this.keyName = keyId(options.key);
    this.holder = `${options.savedBy}:${process.pid}:${randomBytes(4).toString('hex')}`;
  }

  /** The stored copy's description, without its bytes; null when there is none. */
  async describe(): Promise<StoredCopy | null> {
    const { rows } = await this.options.pool.query<{ sha256: string; size: number; plain_size: string; files: number; key_id: string; saved_by: string; saved_at: Date }>(
      'SELECT sha256, size, plain_size, files, key_id, saved_by, saved_at FROM wa_auth_store WHERE auth_profile = $1',
      [this.options.authProfile],
    );
    const row = rows[0];
    return row ? { sha256: row.sha256, size: row.size, plainSize: Number(row.plain_size), files: row.files, keyId: row.key_id, savedBy: row.saved_by, savedAt: row.saved_at } : null;
  }

  /**
   * Makes the local profile the stored one, unless it already is (or nothing is stored). Call only while
   * no Chromium runs on the profile. Throws AuthStoreKeyError for a copy this key cannot open; then
   * nothing is changed, here or in the database.
   */
  async restore(): Promise<RestoreResult> {
    const started = performance.now();
    const copy = await this.describe();
    if (!copy) return { kind: 'none' };
    const marker = await this.readMarker();
    if (marker?.sealed === copy.sha256 && (await this.hasProfile())) {
      await this.claim(copy.sha256);
      return { kind: 'current' };
    }
    if (copy.keyId !== this.keyName) {
      throw new AuthStoreKeyError(
        `the stored WhatsApp login of auth profile ${this.options.authProfile} (saved by ${copy.savedBy} at ${copy.savedAt.toISOString()}) was sealed with another WA_AUTH_STORE_KEY ` +
          `(key id ${copy.keyId}; this one is ${this.keyName}); it was left as it is: set the WA_AUTH_STORE_KEY it was saved with, or pair again`,
      );
    }
    const { rows } = await this.options.pool.query<{ data: Buffer; sha256: string }>('SELECT data, sha256 FROM wa_auth_store WHERE auth_profile = $1', [this.options.authProfile]);
    const row = rows[0];
    if (!row) return { kind: 'none' };
    if (sha256(row.data) !== row.sha256) {
      throw new AuthStoreKeyError(`the stored WhatsApp login of auth profile ${this.options.authProfile} does not match its sha256 (changed or corrupt); it was left as it is`);
    }
    const archive = await gunzip(unseal(row.data, this.options.key, this.options.authProfile));
    // Unpacked beside the profile first: the profile is replaced only once the copy is whole.
    const staging = `${this.profileDir}.restoring`;
    await fs.rm(staging, { recursive: true, force: true });
    await fs.mkdir(staging, { recursive: true, mode: 0o700 });
    let files: number;
    try {
      files = await unpackProfile(archive, staging);
      await fs.rm(this.profileDir, { recursive: true, force: true });
      await fs.rename(staging, this.profileDir);
    } finally {
      await fs.rm(staging, { recursive: true, force: true });
    }
    await this.writeMarker({ sealed: row.sha256, plain: sha256(archive) });
    await this.claim(row.sha256);
    return { kind: 'restored', copy: { ...copy, sha256: row.sha256 }, files, ms: Math.round(performance.now() - started) };
  }

  /** Claims the copy just restored (or found current); throws when it was replaced meanwhile (restore again). */
  private async claim(digest: string): Promise<void> {
    const { rowCount } = await this.options.pool.query('UPDATE wa_auth_store SET held_by = $3 WHERE auth_profile = $1 AND sha256 = $2', [this.options.authProfile, digest, this.holder]);
    if (!rowCount) throw new Error(`the WhatsApp login stored for auth profile ${this.options.authProfile} was replaced while it was restored; restoring again`);
  }

  private async hasProfile(): Promise<boolean> {
    return fs.access(path.join(this.profileDir, 'Default', 'IndexedDB')).then(
      () => true,
      () => false,
    );
  }

  /**
   * Saves the local profile's kept parts, replacing the stored copy only if this object holds it (or
   * there is none). Skipped when nothing changed since the last save or restore.
   */
  async save(): Promise<SaveResult> {
    const started = performance.now();
    const { archive, files } = await packProfile(this.profileDir);
    if (files === 0) return { kind: 'nothing' };
    const plain = sha256(archive);
    const marker = await this.readMarker();
    if (marker?.plain === plain) {
      const copy = await this.describe();
      if (copy?.sha256 === marker.sealed) return { kind: 'unchanged' };
    }
    const sealed = seal(await gzip(archive, { level: 6 }), this.options.key, this.options.authProfile);
    const digest = sha256(sealed);
    const { rowCount } = await this.options.pool.query(
      `INSERT INTO wa_auth_store (auth_profile, data, sha256, size, plain_size, files, key_id, saved_by, held_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       ON CONFLICT (auth_profile) DO UPDATE SET data = EXCLUDED.data, sha256 = EXCLUDED.sha256, size = EXCLUDED.size, plain_size = EXCLUDED.plain_size,
         files = EXCLUDED.files, key_id = EXCLUDED.key_id, saved_by = EXCLUDED.saved_by, saved_at = now()
       WHERE wa_auth_store.held_by = EXCLUDED.held_by`,
      [this.options.authProfile, sealed, digest, sealed.length, archive.length, files, this.keyName, this.options.savedBy, this.holder],
    );
    if (!rowCount) return { kind: 'superseded', by: await this.describe() };
    await this.writeMarker({ sealed: digest, plain });
    return { kind: 'saved', size: sealed.length, plainSize: archive.length, files, ms: Math.round(performance.now() - started) };
  }

  /** The login ended (logged out, unpaired): the stored copy goes too, if this object holds it. */
  async forget(): Promise<boolean> {
    await fs.rm(this.markerFile, { force: true });
    const { rowCount } = await this.options.pool.query('DELETE FROM wa_auth_store WHERE auth_profile = $1 AND held_by = $2', [this.options.authProfile, this.holder]);
    return (rowCount ?? 0) > 0;
  }

  private async readMarker(): Promise<Marker | null> {
    try {
      const marker = JSON.parse(await fs.readFile(this.markerFile, 'utf8')) as Marker;
      return typeof marker.sealed === 'string' && typeof marker.plain === 'string' ? marker : null;
    } catch {
      return null;
    }
  }

  private async writeMarker(marker: Marker): Promise<void> {
    const temp = `${this.markerFile}.tmp`;
    await fs.writeFile(temp, JSON.stringify(marker), { mode: 0o600 });
    await fs.rename(temp, this.markerFile);
  }
}
