/**
 * This process, as other instances see it in the database: `host:pid:random`. One per process, the same
 * in the outbox claims (`locked_by`), the hand-over records and the run ledger, so an operator can tell
 * which instance did what.
 */
import { randomBytes } from 'node:crypto';
import { readlinkSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

let id: string | null = null;

export function instanceId(): string {
  id ??= `${os.hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  return id;
}

/**
 * Where this process runs, as far as a predecessor's pid can be judged: the id of its data directory (a
 * random id kept in `<dataDir>/instance-home`, made on first use) and its pid namespace. A process
 * restarted on the same directory, in the same process table, has the same home, which is how it
 * recognises sessions its crashed predecessor held (src/sessions/leases.ts). Two processes on one shared
 * directory in different pid namespaces (containers) have different homes: neither judges the other.
 */
export async function dataHome(dataDir: string): Promise<string> {
  return `${await dataDirId(dataDir)}:${pidNamespace()}`;
}

/** This process's pid namespace (`pid:[4026531836]`); where it cannot be read, one of its own (never shared). */
function pidNamespace(): string {
  try {
    return readlinkSync('/proc/self/ns/pid');
  } catch {
    return `unknown-${randomBytes(8).toString('hex')}`;
  }
}

async function dataDirId(dataDir: string): Promise<string> {
  const file = path.join(dataDir, 'instance-home');
  const existing = await fs.readFile(file, 'utf8').then((text) => text.trim(), () => '');
  if (/^[0-9a-f]{32}$/.test(existing)) return existing;
  await fs.mkdir(dataDir, { recursive: true });
  const made = randomBytes(16).toString('hex');
  // wx: two processes starting together on one directory keep the first one's id (a damaged file is replaced).
  await fs.writeFile(file, `${made}\n`, { flag: existing === '' ? 'wx' : 'w', mode: 0o644 }).catch(async (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') throw err;
  });
  return (await fs.readFile(file, 'utf8')).trim();
}
