/**
 * Chromium's profile lock (`SingletonLock` in the profile directory, a symbolic link to
 * "<hostname>-<pid>"). A lock left by a Chromium that died makes the next launch fail; a lock held by
 * a live Chromium means another process is using the same WhatsApp auth profile, and two clients on
 * one profile log each other out.
 *
 * The service records itself as the profile's owner (pid and process start time) before it launches
 * Chromium. A live Chromium on the profile whose owner is gone (the service was killed with SIGKILL and
 * its browser lived on) is an orphan of ours: it is ended, with its process group, before the lock is
 * checked. A live Chromium whose owner is alive is another instance: start-up stops.
 */
import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { isAlive, startTime } from '../../lib/processes.js';
import { OperatorError } from '../../lib/errors.js';

export const LOCK_FILES = ['SingletonLock', 'SingletonSocket', 'SingletonCookie'];

export class ProfileInUseError extends OperatorError {
  constructor(
    public readonly profileDir: string,
    public readonly pid: number,
  ) {
    super(
      `the WhatsApp auth profile in ${profileDir} is in use by another Chromium (pid ${pid}); ` +
        'stop the other cicero-wa instance using it, or give this one its own WA_AUTH_PROFILE or WA_AUTH_PATH',
    );
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

export type LockCheck = { state: 'none' } | { state: 'stale'; owner: string } | { state: 'live'; pid: number } | { state: 'orphan'; pid: number };



interface ProfileOwner {
  pid: number;
  startTime: string | null;
}

/** Records this process as the profile's owner, before it launches Chromium on it. */
export async function recordProfileOwner(ownerFile: string): Promise<void> {
  const owner: ProfileOwner = { pid: process.pid, startTime: startTime(process.pid) };
  await fs.writeFile(ownerFile, JSON.stringify(owner), { mode: 0o600 });
}

/** Whether the recorded owner is gone (or is this very process, whose old browser outlived its client). */
async function ownerGone(ownerFile: string): Promise<boolean> {
  let owner: ProfileOwner;
  try {
    owner = JSON.parse(await fs.readFile(ownerFile, 'utf8')) as ProfileOwner;
  } catch {
    return false; // no record (an older version started it): cannot tell, so not ours to end
  }
  if (owner.pid === process.pid) return true;
  if (!isAlive(owner.pid)) return true;
  const now = startTime(owner.pid);
  return owner.startTime !== null && now !== null && now !== owner.startTime; // the pid was reused
}

/** Whether this Chromium process runs on this profile directory (its --user-data-dir). */
function usesProfile(pid: number, profileDir: string): boolean {
  try {
    const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const dir = args.find((a) => a.startsWith('--user-data-dir='))?.slice('--user-data-dir='.length);
    return dir !== undefined && path.resolve(dir) === path.resolve(profileDir);
  } catch {
    return false;
  }
}

async function endProcessGroup(pid: number): Promise<void> {
  for (const target of [-pid, pid]) {
    try {
      process.kill(target, 'SIGKILL'); // Puppeteer starts Chromium in its own process group
    } catch {
      // not a group leader, or already gone
    }
  }
  const deadline = Date.now() + 5000;
  while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
}

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

/**
 * Removes a stale lock, and ends an orphaned Chromium of ours (its owner, recorded in `ownerFile`, is
 * gone) before removing its lock; throws ProfileInUseError for a Chromium another live process owns.
 * Returns what it found.
 */
export async function clearStaleProfileLock(profileDir: string, ownerFile: string | null = null): Promise<LockCheck> {
  const check = await checkProfileLock(profileDir);
  if (check.state === 'live') {
    if (!ownerFile || !(await ownerGone(ownerFile)) || !usesProfile(check.pid, profileDir)) throw new ProfileInUseError(profileDir, check.pid);
    await endProcessGroup(check.pid);
    if (isAlive(check.pid)) throw new ProfileInUseError(profileDir, check.pid);
  }
  if (check.state !== 'none') {
    await Promise.all(LOCK_FILES.map((f) => fs.rm(path.join(profileDir, f), { force: true })));
  }
  return check.state === 'live' ? { state: 'orphan', pid: check.pid } : check;
}
