/**
 * Facts about other processes of this machine: alive or not, and when they started (to tell a process
 * from a later one that reuses its pid).
 */
import { readFileSync } from 'node:fs';

/** Whether a process with this pid exists (also one this user may not signal). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A process's start time (clock ticks since boot, from /proc); null where /proc cannot tell. */
export function startTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}
