/**
 * The sealed copy of an auth profile's login that WA_AUTH_STORE=postgres keeps (auth-store.ts):
 *
 * - kept: `Default/IndexedDB` and `Default/Local Storage` of the Chromium profile (what whatsapp-web.js's
 *   RemoteAuth keeps too), Chromium's lock files left out; the rest of the profile (caches, service
 *   worker, history) is rebuilt by Chromium;
 * - packed as one archive (each file: name length, mode, size, name, bytes), gzip-compressed, sealed
 *   with AES-256-GCM under WA_AUTH_STORE_KEY: a random 12-byte nonce per copy, the auth profile as
 *   associated data (a copy moved to another profile's row is refused);
 * - unpacked only inside the kept directories (no absolute names, no `..`).
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { OperatorError } from '../../lib/errors.js';

export const gzip = promisify(zlib.gzip);
export const gunzip = promisify(zlib.gunzip);

/** The parts of the Chromium profile that hold the WhatsApp Web login, relative to the profile directory. */
export const KEPT_DIRS = ['Default/IndexedDB', 'Default/Local Storage'];

/** Chromium's own lock files: never copied (they name the process that held the profile). */
const SKIPPED_NAMES = new Set(['LOCK', 'SingletonLock', 'SingletonSocket', 'SingletonCookie']);

const ARCHIVE_MAGIC = Buffer.from('CWAPROF1');
const SEAL_MAGIC = Buffer.from('CWA1');
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** A stored copy that cannot be opened with this key. Never leads to the copy or the profile being removed. */
export class AuthStoreKeyError extends OperatorError {}

/** A name for the key that does not reveal it (stored beside each copy; shown in errors). */
export function keyId(key: Buffer): string {
  return createHmac('sha256', key).update('cicero-wa auth store key id').digest('hex').slice(0, 16);
}

export const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** Seals `plain` for `authProfile`: magic, nonce, tag, ciphertext. */
export function seal(plain: Buffer, key: Buffer, authProfile: string): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(authProfile));
  const body = Buffer.concat([cipher.update(plain), cipher.final()]);
  return Buffer.concat([SEAL_MAGIC, iv, cipher.getAuthTag(), body]);
}

/** Opens a sealed copy; throws AuthStoreKeyError when the key is wrong or the bytes were changed. */
export function unseal(sealed: Buffer, key: Buffer, authProfile: string): Buffer {
  const head = SEAL_MAGIC.length;
  if (sealed.length < head + IV_BYTES + TAG_BYTES || !sealed.subarray(0, head).equals(SEAL_MAGIC)) {
    throw new AuthStoreKeyError(`the stored WhatsApp login of auth profile ${authProfile} is not a sealed copy (corrupt); it was left as it is`);
  }
  const iv = sealed.subarray(head, head + IV_BYTES);
  const tag = sealed.subarray(head + IV_BYTES, head + IV_BYTES + TAG_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', key, iv);
  decipher.setAAD(Buffer.from(authProfile));
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(sealed.subarray(head + IV_BYTES + TAG_BYTES)), decipher.final()]);
  } catch {
    throw new AuthStoreKeyError(
      `the stored WhatsApp login of auth profile ${authProfile} cannot be opened with this WA_AUTH_STORE_KEY (key id ${keyId(key)}): ` +
        'the key is not the one it was sealed with, or the stored bytes were changed; it was left as it is (set the right WA_AUTH_STORE_KEY, or pair again)',
    );
  }
}

interface ArchiveFile {
  name: string;
  mode: number;
  data: Buffer;
}

async function listFiles(root: string, relative: string, into: ArchiveFile[]): Promise<void> {
  let entries;
  try {
    entries = await fs.readdir(path.join(root, relative), { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  for (const entry of entries) {
    const name = path.posix.join(relative, entry.name);
    if (entry.isDirectory()) await listFiles(root, name, into);
    else if (entry.isFile() && !SKIPPED_NAMES.has(entry.name)) {
      try {
        const full = path.join(root, name);
        const [data, stat] = await Promise.all([fs.readFile(full), fs.stat(full)]);
        into.push({ name, mode: stat.mode & 0o777, data });
      } catch (err) {
        // Chromium may remove a file (a compacted LevelDB table) while a running profile is copied.
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
  }
}

/** The kept parts of a profile as one archive (not compressed). */
export async function packProfile(profileDir: string): Promise<{ archive: Buffer; files: number }> {
  const files: ArchiveFile[] = [];
  for (const dir of KEPT_DIRS) await listFiles(profileDir, dir, files);
  const parts: Buffer[] = [ARCHIVE_MAGIC];
  for (const file of files) {
    const name = Buffer.from(file.name);
    const head = Buffer.alloc(2 + 4 + 8);
    head.writeUInt16BE(name.length, 0);
    head.writeUInt32BE(file.mode, 2);
    head.writeBigUInt64BE(BigInt(file.data.length), 6);
    parts.push(head, name, file.data);
  }
  return { archive: Buffer.concat(parts), files: files.length };
}

/** A name from an archive is safe only inside a kept directory, with no `..` and no absolute path. */
function safeName(name: string): boolean {
  if (name.includes('\0') || path.posix.isAbsolute(name) || path.posix.normalize(name) !== name) return false;
  if (name.split('/').includes('..')) return false;
  return KEPT_DIRS.some((dir) => name.startsWith(`${dir}/`));
}

/** Writes an archive's files under `profileDir` (which should be empty). */
export async function unpackProfile(archive: Buffer, profileDir: string): Promise<number> {
  if (!archive.subarray(0, ARCHIVE_MAGIC.length).equals(ARCHIVE_MAGIC)) throw new Error('not a profile archive');
  let at = ARCHIVE_MAGIC.length;
  let count = 0;
  while (at < archive.length) {
    const nameLength = archive.readUInt16BE(at);
    const mode = archive.readUInt32BE(at + 2);
    const size = Number(archive.readBigUInt64BE(at + 6));
    at += 14;
    const name = archive.subarray(at, at + nameLength).toString();
    at += nameLength;
    if (!safeName(name) || at + size > archive.length) throw new Error(`profile archive has a bad entry ${JSON.stringify(name)}`);
    const target = path.join(profileDir, ...name.split('/'));
    await fs.mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
    await fs.writeFile(target, archive.subarray(at, at + size), { mode: mode & 0o700 || 0o600 });
    at += size;
    count++;
  }
  return count;
}
