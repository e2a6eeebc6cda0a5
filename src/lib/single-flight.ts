/**
 * Single-flight work: one run at a time; a trigger during a run makes it run once more afterwards
 * (however many triggers came). Used for draining the outbox, confirming sends, answering complaints.
 */
export class SingleFlight {
  private current: Promise<void> | null = null;
  private again = false;
  private stopped = false;

  /** `run` must not throw (a rejection is passed to `onError`). */
  constructor(
    private readonly run: () => Promise<void>,
    private readonly onError: (err: Error) => void = () => undefined,
  ) {}

  /** Asks for a run: now, or once more after the one under way. */
  trigger(): void {
    if (this.stopped) return;
    if (this.current) {
      this.again = true;
      return;
    }
    this.current = this.run()
      .catch((err: Error) => this.onError(err))
      .finally(() => {
        this.current = null;
        if (this.again && !this.stopped) {
          this.again = false;
          this.trigger();
        }
      });
  }

  get running(): boolean {
    return this.current !== null;
  }

  /** The run under way, if any (resolves when it ends; never rejects). */
  get inFlight(): Promise<void> | null {
    return this.current;
  }

  /** No more runs after the one under way. */
  stop(): void {
    this.stopped = true;
  }

  /** Resolves when no run is under way. */
  async idle(): Promise<void> {
    while (this.current) await this.current;
  }
}
