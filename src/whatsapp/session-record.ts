/**
 * What the WhatsApp session was last seen doing, kept beside it on disk
 * (`WA_AUTH_PATH/session-<name>.state.json`): state, reason and since when, whether and since when it
 * is paired, the paired number, the WhatsApp Web build and whether the message-key fix is active. The running transport writes it on every
 * change; `cicero-wa doctor` (and anything else not inside the service) reads it.
 */
import fs from 'node:fs/promises';
import path from 'node:path';

export interface SessionRecord {
  state: string;
  reason: string | null;
  since: string;
  /** When this session was paired (first ready after a QR scan or a restored session); null when it is not. */
  pairedAt: string | null;
  lastReadyAt: string | null;
  /** The paired account's number (digits), once WhatsApp said it. */
  number: string | null;
  webVersion: string | null;
  /** The page-side message-key fix as last found (wwebjs/msgkey-fix.ts). */
  pageFix?: { state: string; detail: string; alias: string | null; build: string | null; at: string | null } | null;
  updatedAt: string;
}

export function sessionRecordFile(authPath: string, sessionName: string): string {
  return path.join(authPath, `session-${sessionName}.state.json`);
}

export async function readSessionRecord(file: string): Promise<SessionRecord | null> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as SessionRecord;
  } catch {
    return null;
  }
}

/** Writes the record atomically (a temporary file renamed over it), one write at a time. */
export class SessionRecorder {
  private record: SessionRecord | null = null;
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly file: string) {}

  /** Resolves when every write asked for so far is done. */
  flush(): Promise<void> {
    return this.writing;
  }

  update(patch: Partial<Omit<SessionRecord, 'updatedAt'>>): Promise<void> {
    this.writing = this.writing.then(async () => {
      this.record ??= (await readSessionRecord(this.file)) ?? {
        state: 'starting', reason: null, since: new Date().toISOString(), pairedAt: null, lastReadyAt: null, number: null, webVersion: null, updatedAt: '',
      };
      this.record = { ...this.record, ...patch, updatedAt: new Date().toISOString() };
      const tmp = `${this.file}.tmp`;
      await fs.writeFile(tmp, JSON.stringify(this.record, null, 2), { mode: 0o600 });
      await fs.rename(tmp, this.file);
    }).catch(() => undefined); // a record that cannot be written never stops the session
    return this.writing;
  }
}
