/**
 * What a worker can carry by default: how many WhatsApp sessions fit in its memory, and the host label
 * sessions are pinned to.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';

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
 * The memory this process may use: the machine's, or its cgroup's limit (a container, a systemd
 * MemoryMax=) when that is lower.
 */
export function memoryLimitBytes(): number {
  const total = os.totalmem();
  try {
    const limit = readFileSync('/sys/fs/cgroup/memory.max', 'utf8').trim();
    if (/^\d+$/.test(limit)) return Math.min(total, Number(limit));
  } catch {
    // No cgroup v2 limit to read: the machine's memory.
  }
  return total;
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
