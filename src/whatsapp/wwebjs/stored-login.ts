/**
 * WA_AUTH_STORE=postgres as the lifecycle uses it (lifecycle.ts; the store itself is auth-store.ts):
 *
 * - before the first launch, the login stored in PostgreSQL replaces the local profile when it is not the
 *   one this directory last saw; a copy that cannot be opened (another WA_AUTH_STORE_KEY, changed bytes)
 *   or a database that cannot be read throws: the session is failed and retried with the backoff,
 *   Chromium is not started and nothing is removed;
 * - while ready, the login is saved a minute after ready (the login settles; RemoteAuth waits as long),
 *   then every WA_AUTH_STORE_SAVE_SECONDS, one save at a time;
 * - on closing (a hand-over, a shutdown), once more after Chromium closed: its profile on disk is then
 *   whole, the copy the next holder of the session restores;
 * - a login that ended (logout, unpaired) removes the stored copy with the local profile.
 */
import type { Logger } from '../../lib/logger.js';
import { within } from '../../lib/sleep.js';
import type { ProfileStore, SaveResult } from './auth-store.js';

const FIRST_SAVE_MS = 60_000;
/** How long closing waits for the last save before giving up on it. */
const CLOSING_SAVE_MS = 60_000;

export class StoredLogin {
  /** The stored login was restored (or found current, or absent) before the first launch. */
  restored = false;
  /** Ready in this process since restored or last cleared: worth saving. */
  private readySinceCleared = false;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private saving: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: ProfileStore,
    private readonly saveMs: number,
    private readonly logger: Logger,
  ) {}

  /** Before the first launch (no Chromium on the profile). Throws when the stored copy cannot be read or opened. */
  async restore(): Promise<void> {
    if (this.restored) return;
    const result = await this.store.restore();
    this.restored = true;
    if (result.kind === 'restored') {
      this.logger.info(
        { savedBy: result.copy.savedBy, savedAt: result.copy.savedAt, bytes: result.copy.size, files: result.files, ms: result.ms },
        'restored the WhatsApp login from PostgreSQL: no new pairing needed',
      );
    } else if (result.kind === 'none') this.logger.info('no WhatsApp login stored in PostgreSQL for this auth profile yet: the local profile is used, and saved once ready');
    else this.logger.debug('the WhatsApp login stored in PostgreSQL is the one this profile already has');
  }

  /** Saves now (after any save under way); logs what happened, never throws. */
  save(reason: string): Promise<SaveResult | null> {
    const run = this.saving.then(async () => {
      try {
        const result = await this.store.save();
        if (result.kind === 'saved') this.logger.info({ reason, bytes: result.size, files: result.files, ms: result.ms }, 'saved the WhatsApp login to PostgreSQL');
        else if (result.kind === 'superseded') {
          this.logger.warn({ reason, savedBy: result.by?.savedBy, savedAt: result.by?.savedAt }, 'the WhatsApp login in PostgreSQL was saved by another process since this one read it; left as it is');
        } else this.logger.debug({ reason, result: result.kind }, 'the WhatsApp login in PostgreSQL needed no save');
        return result;
      } catch (err) {
        this.logger.warn({ reason, err: (err as Error).message }, 'saving the WhatsApp login to PostgreSQL failed; the next save tries again');
        return null;
      }
    });
    this.saving = run;
    return run;
  }

  /** The client became ready: saves are scheduled (once; a reconnect keeps the schedule). */
  ready(): void {
    this.readySinceCleared = true;
    if (!this.timer && !this.stopped) this.schedule(Math.min(FIRST_SAVE_MS, this.saveMs));
  }

  /** The login ended and the local profile is being cleared: no more saves until ready again; the stored copy removed. */
  async cleared(): Promise<void> {
    this.readySinceCleared = false;
    this.clearTimer();
    await this.saving.catch(() => undefined);
    const removed = await this.store.forget().catch((err: Error) => {
      this.logger.warn({ err: err.message }, 'could not remove the WhatsApp login stored in PostgreSQL');
      return false;
    });
    if (removed) this.logger.info('removed the ended WhatsApp login from PostgreSQL too');
  }

  /** No more scheduled saves (the transport is closing). */
  stop(): void {
    this.stopped = true;
    this.clearTimer();
  }

  /** After Chromium closed on closing: the last save, bounded. */
  async closed(): Promise<void> {
    this.stop();
    if (!this.restored || !this.readySinceCleared) return;
    const saved = await within(this.save('closing'), CLOSING_SAVE_MS, 'timeout' as const);
    if (saved === 'timeout') this.logger.warn(`saving the WhatsApp login to PostgreSQL took over ${CLOSING_SAVE_MS} ms on closing; the stored copy may be older`);
  }

  private schedule(delay: number): void {
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.stopped || !this.readySinceCleared) return;
      void this.save('periodic').finally(() => {
        if (!this.stopped && this.readySinceCleared && !this.timer) this.schedule(this.saveMs);
      });
    }, delay);
    this.timer.unref?.();
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
