/**
 * Chromium's profile lock (`SingletonLock` in the profile directory, a symbolic link to
 * "<hostname>-<pid>"). A lock left by a Chromium that died makes the next launch fail; a lock held by
 * a live Chromium means another process is using the same WhatsApp session, and two clients on one
 * session log each other out.
 */
import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export const LOCK_FILES = ['SingletonLock', 'SingletonSocket', 'SingletonCookie'];

export class ProfileInUseError extends Error {
  constructor(
    public readonly profileDir: string,
    public readonly pid: number,
  ) {
    super(
      `the WhatsApp session in ${profileDir} is in use by another Chromium (pid ${pid}); ` +
        'stop the other cicero-wa instance using it, or give this one its own WA_SESSION_NAME or WA_AUTH_PATH',
    );
    this.name = 'ProfileInUseError';
  }
}

function isLiveChromium(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    // A pid reused by an unrelated program does not hold the profile.
    const comm = readFileSync(`/proc/${pid}/comm`, 'utf8');
    return /chrom/i.test(comm);
  } catch {
    return true; // no /proc: trust the pid
  }
}

export type LockCheck = { state: 'none' } | { state: 'stale'; owner: string } | { state: 'live'; pid: number };

/** Reads the lock without changing anything. */
export async function checkProfileLock(profileDir: string): Promise<LockCheck> {
  let target: string;
  try {
    target = await fs.readlink(path.join(profileDir, 'SingletonLock'));
  } catch {
    return { state: 'none' };
  }
  const match = /^(.*)-(\d+)$/.exec(target);
  if (!match) return { state: 'stale', owner: target };
  const [, host, pidText] = match;
  const pid = Number(pidText);
  // A lock from another host name (a container recreated with the same volume) cannot be checked and
  // is stale as far as this machine goes.
  if (host === os.hostname() && isLiveChromium(pid)) return { state: 'live', pid };
  return { state: 'stale', owner: target };
}

/** Removes a stale lock; throws ProfileInUseError for a live one. Returns what it found. */
export async function clearStaleProfileLock(profileDir: string): Promise<LockCheck> {
  const check = await checkProfileLock(profileDir);
  if (check.state === 'live') throw new ProfileInUseError(profileDir, check.pid);
  if (check.state === 'stale') {
    await Promise.all(LOCK_FILES.map((f) => fs.rm(path.join(profileDir, f), { force: true })));
  }
  return check;
}
