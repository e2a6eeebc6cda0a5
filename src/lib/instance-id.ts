/**
 * This process, as other instances see it in the database: `host:pid:random`. One per process, the same
 * in the outbox claims (`locked_by`), the hand-over records and the run ledger, so an operator can tell
 * which instance did what.
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';

let id: string | null = null;

export function instanceId(): string {
  id ??= `${os.hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  return id;
}
