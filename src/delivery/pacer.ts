/**
 * Sending etiquette for one WhatsApp session: at least `intervalMs` (plus up to `jitterMs` random)
 * between the start of one send and the next, and at most `maxPerMinute` sends in any 60 s.
 */

import { AbortedError, sleep } from '../lib/sleep.js';

export interface PacerOptions {
  intervalMs: number;
  jitterMs: number;
  maxPerMinute: number;
  random?: () => number;
  now?: () => number;
}

export class SendPacer {
  private nextAllowedAt = 0;
  private readonly recent: number[] = [];
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(private readonly options: PacerOptions) {
    this.now = options.now ?? (() => performance.now());
    this.random = options.random ?? Math.random;
  }

  /** Waits until the next send may start, then records it as started. Rejects with AbortedError on abort. */
  async waitTurn(signal?: AbortSignal): Promise<void> {
    for (;;) {
      const now = this.now();
      while (this.recent.length > 0 && this.recent[0]! <= now - 60_000) this.recent.shift();
      const capWait = this.recent.length >= this.options.maxPerMinute ? this.recent[0]! + 60_000 - now : 0;
      const wait = Math.max(this.nextAllowedAt - now, capWait, 0);
      if (wait <= 0) break;
      await sleep(wait, signal);
    }
    if (signal?.aborted) throw new AbortedError();
    const startedAt = this.now();
    this.recent.push(startedAt);
    this.nextAllowedAt = startedAt + this.options.intervalMs + Math.round(this.random() * this.options.jitterMs);
  }
}
