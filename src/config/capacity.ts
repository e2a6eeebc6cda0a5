/**
 * What a worker can carry by default: how many WhatsApp sessions fit in its memory, and the host label
 * sessions are pinned to.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A host label: letters, digits, . _ and -, 1 to 64 (WA_HOST_LABEL, and a session's pin). */
export const HOST_LABEL = /^[A-Za-z0-9._-]{1,64}$/;

const MIB = 1024 * 1024;
/** Kept for the service itself, Node and the operating system. */
export const RESERVED_BYTES = 1024 * MIB;
/**
 * Memory per session: its Chromium and its share of Node. `npm run bench -- sessions-memory` measured
 * 384 to 615 MB PSS per ready session on a stand-in page; a paired WhatsApp Web with a long history
 * weighs more, so 600 MiB.
 */
export const BYTES_PER_SESSION = 600 * MIB;
/** About the most Chromium sessions one server carries safely (WAHA's published limit). */
export const MAX_SESSIONS_CEILING = 50;

/**
 * The memory this process may use: the machine's, or the lowest cgroup v2 limit on the way from its own
 * cgroup up to the root (a container's limit, a systemd unit's MemoryMax=, a slice's) when lower.
 */
export function memoryLimitBytes(cgroupFile?: string, root?: string): number {
  let limit = os.totalmem();
  for (const file of cgroupMemoryFiles(cgroupFile, root)) {
    try {
      const value = readFileSync(file, 'utf8').trim();
      if (/^\d+$/.test(value)) limit = Math.min(limit, Number(value));
    } catch {
      // No limit there (the root has none, or the file cannot be read): the others decide.
    }
  }
  return limit;
}

/** memory.max of this process's cgroup and of each one above it (cgroup v2: the line `0::/path` of /proc/self/cgroup). */
export function cgroupMemoryFiles(cgroupFile = '/proc/self/cgroup', root = '/sys/fs/cgroup'): string[] {
  let own: string | null = null;
  try {
    own = readFileSync(cgroupFile, 'utf8').split('\n').find((line) => line.startsWith('0::'))?.slice(3).trim() ?? null;
  } catch {
    own = null;
  }
  const files = [path.join(root, 'memory.max')];
  if (own === null) return files;
  // Inside a container the path is often "/" (its own namespace): the root's file is the container's.
  const parts = own.split('/').filter(Boolean);
  for (let depth = 1; depth <= parts.length; depth++) files.push(path.join(root, ...parts.slice(0, depth), 'memory.max'));
  return files;
}

/** WA_MAX_SESSIONS's default: what fits after the reserve, 600 MiB each, at least 1 and at most 50. */
export function defaultMaxSessions(memoryBytes: number): number {
  return Math.max(1, Math.min(MAX_SESSIONS_CEILING, Math.floor((memoryBytes - RESERVED_BYTES) / BYTES_PER_SESSION)));
}

/** WA_HOST_LABEL's default: the host name, with anything a label does not allow made "-". */
export function defaultHostLabel(): string {
  const label = os.hostname().replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 64);
  return label === '' ? 'localhost' : label;
}
