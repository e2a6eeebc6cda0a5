/**
 * The auth profile's record: what the WhatsApp Web client on this auth profile (WA_AUTH_PROFILE) was
 * last seen doing, kept beside the profile on disk (`WA_AUTH_PATH/session-<profile>.state.json`, next to
 * LocalAuth's own `session-<profile>` directory): state, reason and since when, whether and since when
 * it is paired, the paired number, the WhatsApp Web build and whether the message-key fix is active.
 * The running transport writes it on every change; `cicero-wa doctor` (and anything else not inside the
 * service) reads it.
 */
import fs from 'node:fs/promises';
import path from 'node:path';

export interface ProfileRecord {
  state: string;
  reason: string | null;
  since: string;
  /** When a number was paired on this profile (first ready after a QR scan or a restored login); null when none is. */
  pairedAt: string | null;
  lastReadyAt: string | null;
  /** The paired account's number (digits), once WhatsApp said it. */
  number: string | null;
  webVersion: string | null;
  /** The page-side message-key fix as last found (wwebjs/msgkey-fix.ts). */
  pageFix?: { state: string; detail: string; alias: string | null; build: string | null; at: string | null } | null;
  updatedAt: string;
}

export function profileRecordFile(authPath: string, authProfile: string): string {
  return path.join(authPath, `session-${authProfile}.state.json`);
}

export async function readProfileRecord(file: string): Promise<ProfileRecord | null> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as ProfileRecord;
  } catch {
    return null;
  }
}

/** Writes the record atomically (a temporary file renamed over it), one write at a time. */
export class ProfileRecorder {
  private record: ProfileRecord | null = null;
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly file: string) {}

  /** Resolves when every write asked for so far is done. */
  flush(): Promise<void> {
    return this.writing;
  }

  update(patch: Partial<Omit<ProfileRecord, 'updatedAt'>>): Promise<void> {
    this.writing = this.writing.then(async () => {
      this.record ??= (await readProfileRecord(this.file)) ?? {
        state: 'starting', reason: null, since: new Date().toISOString(), pairedAt: null, lastReadyAt: null, number: null, webVersion: null, updatedAt: '',
      };
      this.record = { ...this.record, ...patch, updatedAt: new Date().toISOString() };
      const tmp = `${this.file}.tmp`;
      await fs.writeFile(tmp, JSON.stringify(this.record, null, 2), { mode: 0o600 });
      await fs.rename(tmp, this.file);
    }).catch(() => undefined); // a record that cannot be written never stops the client
    return this.writing;
  }
}
