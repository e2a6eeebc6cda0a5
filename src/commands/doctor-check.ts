/** One line of `cicero-wa doctor`: a check, whether it passed, and what to do when it did not. */
export interface CheckResult {
  name: string;
  ok: boolean;
  /** Runs, but something will not work until the remedy is applied (does not change the exit code). */
  warn?: boolean;
  detail: string;
  remedy?: string;
}
